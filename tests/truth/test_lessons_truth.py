"""Numbers gradviz states about a whole run: learning rates (item 12) and counts (item 13).

The truth comes from the lesson itself: the learning rates its source assigns, and the
backward() calls the Reference counts when the lesson runs plainly under it.
"""
from __future__ import annotations

import contextlib
import io
import re
import runpy
import sys
from pathlib import Path

import pytest

import gradviz
from gradviz.lessons import lessons_dir
from gradviz.render.html import recording_html

from .reference import Reference
from .texts import NUM, as_printed


def _lr_in_source(path: Path) -> list[float]:
    """The learning rates the code uses: every `lr = N`, `lr=N`, `learning_rate = N` in it, and
    the default of an `--lr` option."""
    text = path.read_text()
    found = re.findall(rf"\b(?:lr|learning_rate)\s*=\s*({NUM})\b", text)
    found += re.findall(rf"add_argument\(\"--lr\"[^)]*\bdefault=({NUM})\b", text)
    return [float(v) for v in found]


def _stated_lrs(rec) -> list[str]:
    text = rec.to_json() + recording_html(rec)
    return sorted(set(re.findall(rf"\blr = ({NUM})", text)))


def _false_lrs(rec, used: list[float]) -> list[str]:
    assert used, "the lesson's source assigns no learning rate"
    return [v for v in _stated_lrs(rec) if not any(as_printed(v, u) for u in used)]


def test_item12_lesson10_states_the_lr_it_used():
    path = lessons_dir() / "10_image_restoration.py"
    rec = gradviz.run_script(path, ["--iterations", "3"])
    false = _false_lrs(rec, _lr_in_source(path))
    assert not false, f"stated lr = {false}; the code uses {_lr_in_source(path)}"


@pytest.mark.parametrize("args, used", [([], None), (["--lr", "2e-6"], 2e-6)])
def test_item12_lesson8_states_the_lr_it_used(args, used):
    """Lesson 8, 5 iterations instead of 500 (the suite's time budget), with its own learning
    rate and with one given on the command line: what it states is what the code used."""
    path = lessons_dir() / "08_two_layer_net.py"
    rec = gradviz.run_script(path, ["--iterations", "5", *args])
    lrs = [used] if used is not None else _lr_in_source(path)
    assert _stated_lrs(rec), "lesson 8 states no lr at all"
    false = _false_lrs(rec, lrs)
    assert not false, f"stated lr = {false}; the code uses {lrs}"


def test_item12_lesson6_states_the_lr_it_used(lesson6):
    path, rec, _ = lesson6
    assert _stated_lrs(rec), "lesson 6 states no lr at all"
    assert not _false_lrs(rec, _lr_in_source(path))


# 13 -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lesson6():
    """Lesson 6 under gradviz, and the number of backward() calls it makes (Reference)."""
    path = lessons_dir() / "06_gradient_descent.py"
    rec = gradviz.run_script(path)
    ref = Reference()
    argv = sys.argv
    sys.argv = [str(path)]
    try:
        with ref, contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.argv = argv
    return path, rec, len(ref.calls)


def test_item13_lesson6_iterations_counted(lesson6):
    _, rec, calls = lesson6
    assert calls == 50
    assert len(rec.iterations) == calls
    assert [it.index for it in rec.iterations] == list(range(1, calls + 1))
    its = [g.iteration for g in rec.graphs]
    assert len(set(its)) == len(its) and all(1 <= k <= calls for k in its), its


def test_item13_lesson6_html_counts(lesson6):
    _, rec, calls = lesson6
    page = recording_html(rec)
    called = re.findall(r"called backward\(\) (\d+) times|backward\(\)를 (\d+)번", page)
    stated = [int(a or b) for a, b in called]
    stated += [int(v) for v in re.findall(r"· call (\d+) ·", page)]
    assert all(1 <= n <= calls for n in stated), stated
    assert not [n for a, b in called for n in [int(a or b)] if n != calls]
