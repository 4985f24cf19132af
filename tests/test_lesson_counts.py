"""One iteration count per lesson: the catalogue's count equals the backward() calls PyTorch made.

`gradviz.lessons.iterations(lesson, args)` is what the runner's progress total, the
recorder's 'last' iteration and the app's bar and snapshots use; here it is checked
against the number of backward() calls a run really makes, with and without arguments.
"""
from __future__ import annotations

import pytest
import torch

from gradviz import lessons
from gradviz.progress import Progress
from gradviz.runner import execute


def _backward_calls(lesson, args):
    """Run the lesson with every backward() counted by torch itself (a hook on the engine's entry)."""
    count = {"n": 0}
    real = torch.autograd.backward

    def counting(*a, **k):
        count["n"] += 1
        return real(*a, **k)

    import runpy
    import sys

    saved = sys.argv
    torch.autograd.backward = counting
    try:
        sys.argv = [str(lesson.path), *args]
        runpy.run_path(str(lesson.path), run_name="__main__")
    finally:
        torch.autograd.backward, sys.argv = real, saved
    return count["n"]


CASES = [(6, []), (6, ["--iterations", "5", "--lr", "0.3"]), (7, ["--iterations=40"]),
         (8, ["--iterations", "7"]), (11, ["--iterations", "3", "--seed", "2"]), (12, ["--epochs", "4"]),
         (16, ["--surface", "rosenbrock", "--steps", "3"]), (16, ["--surface", "bowl"]),
         (17, ["--iterations", "2"]), (1, []), (13, []), (14, [])]


@pytest.mark.parametrize("number,args", CASES)
def test_count_equals_the_backward_calls_torch_makes(number, args, capsys):
    lesson = lessons.get(str(number))
    assert lessons.iterations(lesson, args) == _backward_calls(lesson, args)


def test_count_follows_any_argument_and_the_last_one_wins():
    ten = lessons.get("10")
    assert lessons.iterations(ten, []) == 20000
    assert lessons.iterations(ten, ["--iterations", "4000"]) == 4000
    assert lessons.iterations(ten, ["--iterations", "4000", "--lr", "0.5", "--save", "x"]) == 4000
    assert lessons.iterations(ten, ["--iterations", "9", "--iterations=12"]) == 12
    assert lessons.iterations(lessons.get("9"), ["--epochs", "15"]) == 1500
    assert lessons.iterations(lessons.get("15"), ["--epochs", "2"]) == 44
    assert lessons.settings(lessons.get("16"), ["--lr", "0.02"])["lr"] == 0.02


def test_runner_reports_that_total_and_it_equals_the_recorded_iterations():
    """The recorder's progress total comes from the catalogue, also when the lesson gets arguments."""
    lesson = lessons.get("6")
    args = ["--iterations", "5", "--lr", "0.3"]
    seen: list[Progress] = []
    rec = execute(lesson.path, args, progress=seen.append)
    assert seen and seen[-1].finished
    assert seen[-1].total == len(rec.iterations) == 25 == seen[-1].done
