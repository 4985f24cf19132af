"""Training pitfalls, found in a recording's iteration timeline, told in English and Korean.

Four kinds, each flagged at the iteration where it first shows:

- grad_accumulation: a parameter was updated, yet its .grad still held the last
  gradient when the next backward() added to it (nothing zeroed it);
- diverging: the loss grows far above where it started (or keeps rising):
  the learning rate is usually too high;
- nonfinite: the loss or a gradient became NaN or inf, with the node that
  produced it first when the recorder could see it;
- plateau: the loss has stopped changing for a long stretch.

Capture reports raw facts (events: accumulation and NaN sightings); the loss
curve is read here. Plain data in (recording.Iteration), plain data out
(recording.Pitfall): no torch.
"""
from __future__ import annotations

import math
from typing import Any

from gradviz.numbers import fmt_number
from gradviz.recording import Iteration, Pitfall

DIVERGE_FACTOR = 10.0  # loss above this many times its starting value: diverging
RISE_RUN = 8  # or rising this many iterations in a row, to at least twice the start
PLATEAU_MIN = 50  # iterations a plateau must last, at least...
PLATEAU_SHARE = 0.05  # ...and this share of the run
PLATEAU_TOL = 0.005  # chunk means within 0.5% of the final level count as flat


def find_pitfalls(iterations: list[Iteration], events: list[dict] | None = None,
                  lines: list[int | None] | None = None) -> list[Pitfall]:
    """Every pitfall found, in iteration order. Never raises on odd input.

    `lines` (the backward() line of each iteration) splits the loss curve into
    one curve per loop, so a second loop that starts again from a high loss is
    not read as the first one rising.
    """
    out: list[Pitfall] = []
    for e in events or []:
        try:
            if e.get("kind") == "grad_accumulation":
                out.append(_accumulation(e))
            elif e.get("kind") == "nonfinite":
                out.append(_nonfinite(e))
        except Exception:
            continue
    for losses in _segments(iterations, lines):
        for check in (_diverging, _plateau):
            try:
                p = check(losses)
            except Exception:
                p = None
            if p is not None:
                out.append(p)
    out.sort(key=lambda p: (p.iteration or 0))
    return out


def _segments(iterations: list[Iteration], lines: list[int | None] | None) -> list[list[tuple[int, Any]]]:
    """(index, loss) runs of consecutive iterations from the same backward() line."""
    if not lines or len(lines) != len(iterations):
        return [[(it.index, it.loss) for it in iterations]]
    out: list[list[tuple[int, Any]]] = []
    prev = object()
    for it, line in zip(iterations, lines):
        if line != prev:
            out.append([])
            prev = line
        out[-1].append((it.index, it.loss))
    return out


# --- from capture's events ----------------------------------------------------------

def _accumulation(e: dict) -> Pitfall:
    k, name = e["iteration"], e.get("param") or "a parameter"
    return Pitfall(
        kind="grad_accumulation", iteration=k, param=name,
        title=f"Gradients pile up: {name}.grad is never reset",
        title_ko=f"기울기가 쌓입니다: {name}.grad를 초기화하지 않았습니다",
        explanation=(
            f"At iteration {k}, {name} had already been updated but {name}.grad still held the "
            "previous gradient, and backward() adds to .grad instead of replacing it. Each step then "
            "uses the sum of all past gradients. Call optimizer.zero_grad() (or "
            f"{name}.grad.zero_() / {name}.grad = None) once per iteration, before backward()."),
        explanation_ko=(
            f"{k}번째 반복에서 {name}은(는) 이미 갱신되었는데 {name}.grad에는 이전 기울기가 그대로 "
            "남아 있었습니다. backward()는 .grad를 바꾸지 않고 더합니다. 그래서 매 걸음이 지금까지의 "
            "모든 기울기의 합을 쓰게 됩니다. 반복마다 backward() 전에 optimizer.zero_grad()(또는 "
            f"{name}.grad.zero_() / {name}.grad = None)를 한 번 호출하세요."))


def _nonfinite(e: dict) -> Pitfall:
    k, what = e["iteration"], e.get("what", "loss")
    out = Pitfall(kind="nonfinite", iteration=k, what=what)
    for key in ("graph", "node", "op", "line", "source", "param", "cause", "located_at", "step", "loss"):
        if e.get(key) is not None:
            setattr(out, key, e[key])
    if what == "grad":
        name = e.get("param") or "a parameter"
        where = f" The first backward step that sent it: {e['op']}." if e.get("op") else ""
        where_ko = f" 처음 그것을 보낸 역전파 단계: {e['op']}." if e.get("op") else ""
        out.title = f"NaN or inf in the gradient of {name}"
        out.title_ko = f"{name}의 기울기에 NaN 또는 inf"
        out.explanation = (f"At iteration {k} the gradient of {name} held NaN or inf values although "
                         "the loss was a number. A derivative blows up somewhere (sqrt or log at 0, "
                         f"division by a tiny number).{where}")
        out.explanation_ko = (f"{k}번째 반복에서 손실은 정상인데 {name}의 기울기에 NaN 또는 inf가 "
                              "나타났습니다. 어딘가에서 미분값이 폭발합니다(0에서의 sqrt나 log, 아주 작은 "
                              f"수로 나누기).{where_ko}")
        return out
    value = fmt_number(e.get("loss"), 6)
    if e.get("cause") == "param":
        name = e.get("param") or "a parameter"
        cause = (f" {name} itself already held NaN or inf: the update before this iteration pushed it "
                 "there, which usually means the learning rate is too high.")
        cause_ko = (f" {name} 자체가 이미 NaN 또는 inf였습니다. 직전 갱신이 그렇게 만들었으며, 보통 학습률이 "
                    "너무 크다는 뜻입니다.")
    elif e.get("cause") == "op":
        line = f" (line {e['line']}: {e['source']})" if e.get("line") and e.get("source") else (
            f" (line {e['line']})" if e.get("line") else "")
        again = (f" It was seen again and located at iteration {e['located_at']}."
                 if e.get("located_at") not in (None, k) else "")
        again_ko = (f" {e['located_at']}번째 반복에서 다시 나타나 위치를 찾았습니다."
                    if e.get("located_at") not in (None, k) else "")
        cause = (f" The first operation that produced it: {e.get('op')}{line}, from inputs that were "
                 f"still finite: look for log or sqrt of 0 or of negatives, or a division by 0.{again}")
        cause_ko = (f" 처음 만들어 낸 연산: {e.get('op')}{line}. 입력은 아직 정상이었습니다. 0이나 음수의 "
                    f"log, sqrt, 또는 0으로 나누기를 찾아보세요.{again_ko}")
    else:
        cause = (" The op that produced it could not be seen (it did not happen again in a recorded "
                 f"iteration); record iteration {k} in full to see it (at={k}, or --at {k}).")
        cause_ko = (" 이것을 만든 연산은 볼 수 없었습니다(기록된 반복에서 다시 일어나지 않음). "
                    f"{k}번째 반복을 온전히 기록하면 보입니다(at={k} 또는 --at {k}).")
    out.title = f"The loss became {value} at iteration {k}"
    out.title_ko = f"{k}번째 반복에서 손실이 {value}이(가) 되었습니다"
    out.explanation = (f"NaN (not a number) or inf spreads through every later operation, so training "
                       f"cannot recover from it.{cause}")
    out.explanation_ko = (f"NaN(숫자가 아님)이나 inf는 이후의 모든 연산으로 퍼지므로 학습이 회복되지 "
                          f"않습니다.{cause_ko}")
    return out


# --- from the loss curve ------------------------------------------------------------

def _finite(losses: list[tuple[int, Any]]) -> list[tuple[int, float]]:
    out = []
    for k, v in losses:
        if isinstance(v, (int, float)) and math.isfinite(v):
            out.append((k, float(v)))
        elif isinstance(v, (int, float)):
            break  # NaN/inf: the nonfinite pitfall speaks for the rest
    return out


def _diverging(losses: list[tuple[int, Any]]) -> Pitfall | None:
    pts = _finite(losses)
    if len(pts) < 3:
        return None
    k0, start = pts[0]
    base = abs(start)
    hit = None
    if base > 0:
        for k, v in pts[1:]:
            if abs(v) > DIVERGE_FACTOR * base:
                hit = (k, v, "factor")
                break
    if hit is None:
        run = 0
        for (_, a), (k, b) in zip(pts, pts[1:]):
            run = run + 1 if b > a else 0
            if run >= RISE_RUN and b > 2 * start > 0:
                hit = (k, b, "rising")
                break
    if hit is None:
        return None
    k, v, how = hit
    return Pitfall(
        kind="diverging", iteration=k, loss=v, start_loss=start,
        title=f"The loss is growing: {fmt_number(start, 6)} at the start, {fmt_number(v, 6)} at iteration {k}",
        title_ko=f"손실이 커집니다: 처음 {fmt_number(start, 6)}, {k}번째 반복에서 {fmt_number(v, 6)}",
        explanation=(
            "Gradient descent should make the loss smaller. When every step overshoots the "
            "minimum, the loss grows instead and soon diverges to inf or NaN. The usual cause is a "
            "learning rate that is too high: try one 10 times smaller."),
        explanation_ko=(
            "경사 하강은 손실을 줄여야 합니다. 걸음마다 최솟점을 지나쳐 버리면 손실이 오히려 커지고 곧 "
            "inf나 NaN으로 발산합니다. 흔한 원인은 너무 큰 학습률입니다. 10배 작은 값을 시도해 보세요."))


def _plateau(losses: list[tuple[int, Any]]) -> Pitfall | None:
    pts = _finite(losses)
    n = len(pts)
    if n < 2 * PLATEAU_MIN or n < len(losses):  # too short, or it ended in NaN
        return None
    size = 2 * max(1, n // 200)  # even: a loss that bounces between two values averages out
    chunks = [pts[i:i + size] for i in range(0, n - n % size, size)]
    means = [sum(v for _, v in c) / len(c) for c in chunks]
    level = means[-1]
    top = max(abs(v) for _, v in pts)
    if top == 0 or abs(level) <= 1e-8 * top:  # it went to zero: converged, not stuck
        return None
    tol = PLATEAU_TOL * abs(level)
    start = len(means) - 1
    while start > 0 and abs(means[start - 1] - level) <= tol:
        start -= 1
    first_k = chunks[start][0][0]
    length = pts[-1][0] - first_k + 1
    if length < max(PLATEAU_MIN, PLATEAU_SHARE * n):
        return None
    dropped = pts[0][1] - level
    if start == 0:
        story = ("The loss never really moved. The learning rate may be too small, the gradients may "
                 "be zero (dead ReLUs, a detached tensor), or the model cannot fit the data.")
        story_ko = ("손실이 처음부터 거의 움직이지 않았습니다. 학습률이 너무 작거나, 기울기가 0이거나"
                    "(죽은 ReLU, 끊어진 텐서), 모델이 데이터를 표현하지 못할 수 있습니다.")
    else:
        story = (f"It fell from {fmt_number(pts[0][1], 6)} and then stopped changing. If {fmt_number(level, 6)} is as low "
                 "as it can go, training has converged. If not, fixed-size steps may be bouncing around "
                 "the minimum (common when the loss is a norm, like torch.dist, whose gradient keeps "
                 "length 1): a smaller or decaying learning rate lets it settle lower.")
        story_ko = (f"{fmt_number(pts[0][1], 6)}에서 내려오다가 더 이상 변하지 않습니다. {fmt_number(level, 6)}이(가) 가능한 "
                    "최솟값이라면 수렴한 것입니다. 아니라면 고정된 크기의 걸음이 최솟점 주변을 맴도는 "
                    "중일 수 있습니다(손실이 torch.dist 같은 노름이면 기울기 길이가 1로 유지되어 흔히 "
                    "생깁니다). 학습률을 줄이거나 점점 줄이면 더 낮게 내려갑니다.")
    return Pitfall(
        kind="plateau", iteration=first_k, until=pts[-1][0], loss=level, dropped=dropped,
        title=f"The loss is flat near {fmt_number(level, 6)} from iteration {first_k}",
        title_ko=f"{first_k}번째 반복부터 손실이 {fmt_number(level, 6)} 근처에서 멈췄습니다",
        explanation=story, explanation_ko=story_ko)
