"""The optimizer playground's numbers: its race is torch.optim's, its steps are torch.optim's,
its contours lie on the loss, and lesson 16 prints the same race.

The reference runs here use lesson 16's own losses and optimizers (its script's globals) the
lesson's way (one 2-element tensor w, one optimizer at a time), not gradviz.capture.race's loop
(two 0-d parameters, one summed backward).
"""
from __future__ import annotations

import contextlib
import io
import math
import runpy
import subprocess
import sys

import pytest
import torch

from conftest import LESSONS_DIR
from gradviz.capture import race
from gradviz.render.contours import levels, polylines, segments
from gradviz.ui import playground


def _lesson_16() -> dict:
    """Lesson 16's own globals (its SURFACES and OPTIMIZERS), after a one-step run of the script."""
    argv = sys.argv
    sys.argv = ["16_optimizer_race.py", "--steps", "1"]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return runpy.run_path(str(LESSONS_DIR / "16_optimizer_race.py"), run_name="lesson16")
    finally:
        sys.argv = argv


LESSON = _lesson_16()
LOSSES = {name: surface[0] for name, surface in LESSON["SURFACES"].items()}
MAKERS = LESSON["OPTIMIZERS"]


def reference(surface: str, kind: str, lr: float, steps: int, start: tuple[float, float]):
    """Positions and losses, before the first step and after each, and the optimizer at the end."""
    w = torch.tensor(start, requires_grad=True)
    opt = MAKERS[kind]([w], lr)
    points, losses = [], []
    for k in range(steps + 1):
        loss = LOSSES[surface](w)
        points.append(tuple(w.tolist()))
        losses.append(loss.item())
        if k == steps:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    return points, losses, opt, w


@pytest.mark.parametrize("surface,lr,steps,start", [
    ("bowl", 0.1, 50, None), ("ravine", 0.1, 50, None), ("ravine", 0.5, 40, (3.0, -1.5)),
    ("rosenbrock", 0.002, 300, None), ("regression", 0.05, 100, None), ("regression", 0.2, 60, (2.5, -1.0))])
def test_every_path_is_torch_optims_own(surface, lr, steps, start):
    s = race.SURFACES[surface]
    start = start or s.start
    paths = race.race(surface, lr, steps, start)
    assert [p.name for p in paths] == list(MAKERS)
    for p in paths:
        points, losses, _, _ = reference(surface, p.name, lr, steps, start)
        assert len(p.points) == steps + 1
        torch.testing.assert_close(torch.tensor(p.points), torch.tensor(points), rtol=1e-5, atol=1e-6,
                                   msg=lambda m: f"{surface} {p.name}: {m}")
        torch.testing.assert_close(torch.tensor(p.losses), torch.tensor(losses), rtol=1e-5, atol=1e-6)


def test_a_too_big_lr_blows_up_sgd_and_momentum_on_rosenbrock():
    paths = {p.name: p for p in race.race("rosenbrock", 0.02, 300)}
    for name in ("SGD", "Momentum"):
        at = playground.blew_up(paths[name])
        _, losses, _, _ = reference("rosenbrock", name, 0.02, 300, (-1.5, 2.0))
        assert at is not None and at == next(k for k, v in enumerate(losses) if not math.isfinite(v))
        drawn = playground.drawn(paths[name].points, race.SURFACES["rosenbrock"].box)
        assert len(drawn) <= at and all(map(math.isfinite, drawn[-1]))
    assert all(playground.blew_up(paths[n]) is None for n in ("RMSprop", "Adam", "AdamW"))


@pytest.mark.parametrize("k", [1, 2, 7])
def test_one_step_reads_torch_optims_state(k):
    """The picked step's numbers: before/after are the path's points, and each optimizer's state
    after it (momentum buffer, Adam's moments, RMSprop's square average) is torch.optim's."""
    surface, lr = "ravine", 0.1
    start = race.SURFACES[surface].start
    steps = race.one_step(surface, lr, k, start)
    paths = {p.name: p for p in race.race(surface, lr, k, start)}
    for kind, step in steps.items():
        _, _, opt, w = reference(surface, kind, lr, k, start)
        state = opt.state[w]
        assert [ps.name for ps in step.params] == ["w1", "w2"]
        for i, ps in enumerate(step.params):
            assert ps.value_before == pytest.approx(paths[kind].points[k - 1][i], rel=1e-6, abs=1e-9)
            assert ps.value_after == pytest.approx(w[i].item(), rel=1e-6, abs=1e-9)
            assert ps.step == pytest.approx(float(state["step"]) if "step" in state else ps.step)
            for key, value in ps.state_after.items():
                assert value == pytest.approx(state[key][i].item(), rel=1e-6, abs=1e-12), (kind, key)
        assert set(ps.state_after) == {key for key in state if key != "step"}


def test_the_formulas_of_a_step_have_its_numbers():
    from gradviz.explain.updates import optimizer_formula

    steps = race.one_step("bowl", 0.1, 1, None)
    text, en, ko = optimizer_formula(steps["SGD"].type, steps["SGD"].params[0])
    # w1 = -1.5, grad 2·w1 = -3, lr 0.1: w1 ← -1.5 + 0.3 = -1.2
    assert text == "w1 ← w1 − lr·grad = (-1.5) − 0.1·(-3) = (-1.2)" and en and ko
    text = optimizer_formula(steps["Adam"].type, steps["Adam"].params[1])[0]
    assert "m ← β1·m + (1−β1)·g = 0.9·0 + 0.1·2 = 0.2" in text and "t = 1" in text
    # RMSprop: v = 0.01·(-3)² = 0.09, w1 = -1.5 − 0.1·(-3)/0.3 = -0.5
    text = optimizer_formula(steps["RMSprop"].type, steps["RMSprop"].params[0])[0]
    assert text == ("v ← α·v + (1−α)·g² = 0.99·0 + 0.01·(-3)² = 0.09; "
                    "w1 ← w1 − lr·g/(√v + ε) = (-1.5) − 0.1·(-3)/(0.3 + 1e-08) = (-0.5)")


def test_lesson_16_prints_the_playgrounds_race():
    for name, (_, start, lr, steps) in LESSON["SURFACES"].items():
        s = race.SURFACES[name]
        assert (list(s.start), s.lr, s.steps) == (start, lr, steps), name
    out = subprocess.run([sys.executable, str(LESSONS_DIR / "16_optimizer_race.py"), "--surface", "regression",
                          "--steps", "40"], capture_output=True, text=True, timeout=120, check=True).stdout
    paths = {p.name: p for p in race.race("regression", 0.05, 40)}
    for name, p in paths.items():
        line = next(l for l in out.splitlines() if l.startswith(name + " "))
        assert f"({p.points[-1][0]:.4f}, {p.points[-1][1]:.4f})" in line, line


def test_contour_segments_lie_on_their_levels():
    box = race.SURFACES["bowl"].box
    n = 41
    values = race.grid("bowl", box, n)
    xs = [box[0] + (box[1] - box[0]) * j / (n - 1) for j in range(n)]
    assert values[0][0] == pytest.approx(xs[0] ** 2 + box[2] ** 2)
    at = levels(values, n=5)
    segs = segments(xs, xs, values, at)
    assert {s[4] for s in segs} == set(at)
    cell = (box[1] - box[0]) / (n - 1)
    for x1, y1, x2, y2, level in segs:
        for x, y in ((x1, y1), (x2, y2)):
            assert abs(math.hypot(x, y) - math.sqrt(level)) < cell  # on the circle of radius √level


@pytest.mark.parametrize("surface", ["bowl", "rosenbrock"])
def test_contour_pieces_hold_every_segment_once(surface):
    """Joined into pieces, the segments are all there, each once, between two neighbouring points
    of one piece; a bowl's rings close into few pieces instead of hundreds of marks."""
    box = race.SURFACES[surface].box
    n = 45
    values = race.grid(surface, box, n)
    xs = [box[0] + (box[1] - box[0]) * j / (n - 1) for j in range(n)]
    ys = [box[2] + (box[3] - box[2]) * i / (n - 1) for i in range(n)]
    segs = segments(xs, ys, values, levels(values, log=race.SURFACES[surface].log_levels))
    pieces = polylines(segs)
    drawn = sorted((lv, *sorted([(round(a[0], 9), round(a[1], 9)), (round(b[0], 9), round(b[1], 9))]))
                   for lv, pts in pieces for a, b in zip(pts, pts[1:]))
    given = sorted((lv, *sorted([(round(x1, 9), round(y1, 9)), (round(x2, 9), round(y2, 9))]))
                   for x1, y1, x2, y2, lv in segs)
    assert drawn == given
    assert len(pieces) < len(segs) / 10


def test_rosenbrock_levels_are_1_2_5_per_decade():
    values = race.grid("rosenbrock", race.SURFACES["rosenbrock"].box, 31)
    at = levels(values, log=True)
    assert at == sorted(at) and min(map(min, values)) < at[0] and at[-1] < max(map(max, values))
    mantissas = {round(v / 10 ** math.floor(math.log10(v)), 6) for v in at}
    assert mantissas == {1.0, 2.0, 5.0} and len(at) >= 12


def test_the_chart_draws_the_race():
    paths = race.race("ravine", 0.1, 50)
    s = race.SURFACES["ravine"]
    spec = playground.chart(paths, [], 10, s.box, s.start, s.minimum, s.names, "ko")
    lines = spec["layer"][1]["data"]["values"]
    for p in paths:
        mine = [(r["x"], r["y"]) for r in lines if r["optimizer"] == playground.tr(playground.LABELS.get(p.name, p.name), "ko")]
        assert mine == p.points
    marks = spec["layer"][2]["data"]["values"]
    assert [(m["x"], m["y"]) for m in marks] == [p.points[10] for p in paths]
    colors = spec["layer"][1]["encoding"]["color"]["scale"]["range"]
    assert len(set(colors)) == 5
    assert spec["width"] / spec["height"] == pytest.approx((s.box[1] - s.box[0]) / (s.box[3] - s.box[2]), rel=0.01)
