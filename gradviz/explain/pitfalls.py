"""Training pitfalls, found in a recording's iteration timeline, told in English and Korean (gradviz.words).

Four kinds, each flagged at the iteration where it first shows:

- grad_accumulation: a parameter was updated, yet its .grad still held the last
  gradient when the next backward() added to it (nothing zeroed it);
- diverging: the loss grows far above where it started (or keeps rising):
  the learning rate is usually too high;
- nonfinite: the loss or a gradient became NaN or inf, with the node that
  produced it first when the recorder could see it;
- plateau: the loss has stopped changing for a long stretch;
- vanishing: a parameter's gradient is under VANISH times its own size while
  another one's is at least LIVELY: that layer hardly learns;
- exploding: a parameter's gradient is over EXPLODE times its own size and the
  update after it moved the parameter by more than its own size.

Capture reports raw facts (events: accumulation and NaN sightings); the loss
curve is read here. Plain data in (recording.Iteration), plain data out
(recording.Pitfall): no torch.
"""
from __future__ import annotations

import math
from typing import Any

from gradviz.numbers import fmt_number
from gradviz.recording import Iteration, Pitfall
from gradviz.words import N_, both

DIVERGE_FACTOR = 10.0  # loss above this many times its starting value: diverging
RISE_RUN = 8  # or rising this many iterations in a row, to at least twice the start
PLATEAU_MIN = 50  # iterations a plateau must last, at least...
PLATEAU_SHARE = 0.05  # ...and this share of the run
PLATEAU_TOL = 0.005  # chunk means within 0.5% of the final level count as flat
VANISH = 1e-6  # ‖grad‖ / ‖parameter‖ below this: the gradient has vanished...
LIVELY = 1e-3  # ...when another parameter's ratio in the same iteration is at least this
EXPLODE = 1e3  # ‖grad‖ / ‖parameter‖ above this: the gradient explodes, when the update
                # after it also moved the parameter by more than its own size
FLOW_CHECKS = 200  # iterations read for vanishing or exploding gradients, at most (spread out)


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
    try:
        out.extend(_gradient_flow(iterations))
    except Exception:
        pass
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
    title = both(N_("Gradients pile up: {name}.grad is never reset"), name=name)
    text = both(N_("At iteration {k}, {name} had already been updated but {name}.grad still held the "
                   "previous gradient, and backward() adds to .grad instead of replacing it. Each step then "
                   "uses the sum of all past gradients. Call optimizer.zero_grad() (or "
                   "{name}.grad.zero_() / {name}.grad = None) once per iteration, before backward()."),
                k=k, name=name)
    return Pitfall(kind="grad_accumulation", iteration=k, param=name, title=title[0], title_ko=title[1],
                   explanation=text[0], explanation_ko=text[1])


def _words(p: Pitfall, title: tuple[str, str], text: tuple[str, str]) -> Pitfall:
    p.title, p.title_ko = title
    p.explanation, p.explanation_ko = text
    return p


def _nonfinite(e: dict) -> Pitfall:
    k, what = e["iteration"], e.get("what", "loss")
    out = Pitfall(kind="nonfinite", iteration=k, what=what)
    for key in ("graph", "node", "op", "line", "source", "param", "cause", "located_at", "step", "loss"):
        if e.get(key) is not None:
            setattr(out, key, e[key])
    if what == "grad":
        name = e.get("param") or "a parameter"
        where = both(N_(" The first backward step that sent it: {op}."), op=e["op"]) if e.get("op") else ""
        return _words(out, both(N_("NaN or inf in the gradient of {name}"), name=name),
                      both(N_("At iteration {k} the gradient of {name} held NaN or inf values although the "
                              "loss was a number. A derivative blows up somewhere (sqrt or log at 0, "
                              "division by a tiny number).{where}"), k=k, name=name, where=where))
    value = fmt_number(e.get("loss"), 6)
    if e.get("cause") == "param":
        cause = both(N_(" {name} itself already held NaN or inf: the update before this iteration pushed it "
                        "there, which usually means the learning rate is too high."),
                     name=e.get("param") or "a parameter")
    elif e.get("cause") == "op":
        line: tuple[str, str] | str = ""
        if e.get("line") and e.get("source"):
            line = both(N_(" (line {line}: {source})"), line=e["line"], source=e["source"])
        elif e.get("line"):
            line = both(N_(" (line {line})"), line=e["line"])
        again = (both(N_(" It was seen again and located at iteration {at}."), at=e["located_at"])
                 if e.get("located_at") not in (None, k) else "")
        cause = both(N_(" The first operation that produced it: {op}{line}, from inputs that were still "
                        "finite: look for log or sqrt of 0 or of negatives, or a division by 0.{again}"),
                     op=e.get("op"), line=line, again=again)
    else:
        cause = both(N_(" The op that produced it could not be seen (it did not happen again in a recorded "
                        "iteration); record iteration {k} in full to see it (at={k}, or --at {k})."), k=k)
    return _words(out, both(N_("The loss became {value} at iteration {k}"), value=value, k=k),
                  both(N_("NaN (not a number) or inf spreads through every later operation, so training "
                          "cannot recover from it.{cause}"), cause=cause))


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
    p = Pitfall(kind="diverging", iteration=k, loss=v, start_loss=start)
    return _words(p, both(N_("The loss is growing: {start} at the start, {value} at iteration {k}"),
                          start=fmt_number(start, 6), value=fmt_number(v, 6), k=k),
                  both(N_("Gradient descent should make the loss smaller. When every step overshoots the "
                          "minimum, the loss grows instead and soon diverges to inf or NaN. The usual cause "
                          "is a learning rate that is too high: try one 10 times smaller.")))


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
        story = both(N_("The loss never really moved. The learning rate may be too small, the gradients may "
                        "be zero (dead ReLUs, a detached tensor), or the model cannot fit the data."))
    else:
        story = both(N_("It fell from {start} and then stopped changing. If {level} is as low as it can go, "
                        "training has converged. If not, fixed-size steps may be bouncing around the "
                        "minimum (common when the loss is a norm, like torch.dist, whose gradient keeps "
                        "length 1): a smaller or decaying learning rate lets it settle lower."),
                     start=fmt_number(pts[0][1], 6), level=fmt_number(level, 6))
    p = Pitfall(kind="plateau", iteration=first_k, until=pts[-1][0], loss=level, dropped=dropped)
    title = both(N_("The loss is flat near {level} from iteration {k}"), level=fmt_number(level, 6), k=first_k)
    return _words(p, title, story)


# --- gradient sizes across parameters ----------------------------------------------

def _ratios(it: Iteration) -> dict[str, float]:
    """name -> ‖grad‖ / ‖parameter‖ for the parameters with both numbers."""
    out = {}
    for name, p in it.params.items():
        norm = p.norm or {}
        g, v = norm.get("grad"), norm.get("value")
        if isinstance(g, (int, float)) and isinstance(v, (int, float)) and v > 0 and math.isfinite(g):
            out[name] = g / v
    return out


def _moved(it: Iteration, name: str) -> float | None:
    """‖update‖ / ‖parameter‖ of the step that followed this iteration's backward()."""
    norm = it.params[name].norm or {}
    u, v = norm.get("update"), norm.get("value")
    if isinstance(u, (int, float)) and isinstance(v, (int, float)) and v > 0:
        return u / v
    return None


def _gradient_flow(iterations: list[Iteration]) -> list[Pitfall]:
    """The first iteration where some parameter's gradient vanished or exploded, for each kind."""
    step = max(1, len(iterations) // FLOW_CHECKS)
    found: dict[str, Pitfall] = {}
    for it in iterations[::step]:
        ratios = _ratios(it)
        if len(ratios) < 2:
            continue
        weights = {n: r for n, r in ratios.items() if not n.endswith("bias")} or ratios
        low = min(weights, key=weights.__getitem__)  # (a bias near 0 has a huge ratio)
        high = max(weights, key=weights.__getitem__)
        ratios = weights
        if "vanishing" not in found and ratios[low] < VANISH and ratios[high] >= LIVELY:
            found["vanishing"] = _words(
                Pitfall(kind="vanishing", iteration=it.index, param=low),
                both(N_("Vanishing gradient: {name} hardly learns"), name=low),
                both(N_("At iteration {k} the gradient of {name} was {ratio} times its own size, "
                        "while that of {other} was {other_ratio} times its size. Backward multiplies "
                        "by every layer's local derivative on the way, and many factors below 1 (a "
                        "sigmoid's slope is at most 0.25) shrink it to almost nothing, so this layer "
                        "barely moves. ReLU with He initialisation, normalisation layers "
                        "(BatchNorm, LayerNorm) or residual connections keep gradients alive."),
                     k=it.index, name=low, ratio=fmt_number(ratios[low], 2), other=high,
                     other_ratio=fmt_number(ratios[high], 2)))
        moved = _moved(it, high)
        if "exploding" not in found and ratios[high] > EXPLODE and moved is not None and moved > 1:
            found["exploding"] = _words(
                Pitfall(kind="exploding", iteration=it.index, param=high),
                both(N_("Exploding gradient: {name}"), name=high),
                both(N_("At iteration {k} the gradient of {name} was {ratio} times the size of "
                        "{name} itself, and the update after it moved {name} by {moved} times its "
                        "size: the training jumps instead of descending. Large factors on the way "
                        "back multiply up; a smaller learning rate, gradient clipping "
                        "(torch.nn.utils.clip_grad_norm_) or a better initialisation help."),
                     k=it.index, name=high, ratio=fmt_number(ratios[high], 2),
                     moved=fmt_number(moved, 2)))
        if len(found) == 2:
            break
    return list(found.values())
