"""The Training tab's payoff views, every number from the recording equal to a plain run's.

Restart markers are read from the recording (lesson 6 at iteration 31, lesson 7 where its
nn.Module starts, each of lesson 17's four models); lesson 9's smoothed loss averages the
losses a plain run computed and its per-epoch accuracies are the plain run's TensorBoard
events; lesson 10's error to the true picture and lesson 11's predicted strings are too.
The plain runs are `python lesson.py` in a child, with no gradviz anywhere.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from gradviz import lessons
from gradviz.runner import execute
from gradviz.ui.training_view import logged_texts, loss_frame, restarts, smoothing_window

pytest.importorskip("tensorboard")

# a plain run that also hands back every loss backward() started from (torch's own numbers)
PLAIN = r"""
import json, runpy, sys, torch
losses, real = [], torch.autograd.backward
def counting(tensors, *a, **k):
    losses.append(float(tensors.detach()) if isinstance(tensors, torch.Tensor) else None)
    return real(tensors, *a, **k)
torch.autograd.backward = counting
script, out, *args = sys.argv[1:]
sys.argv = [script, *args]
runpy.run_path(script, run_name="__main__")
json.dump(losses, open(out, "w"))
"""


def plain(number: int, args: list[str], tmp_path):
    """(stdout, losses, TensorBoard scalars {tag: [(step, value)]}, texts) of a plain run."""
    import json

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logdir, out = tmp_path / f"plain{number}", tmp_path / f"losses{number}.json"
    lesson = lessons.get(str(number))
    done = subprocess.run([sys.executable, "-c", PLAIN, str(lesson.path), str(out), *args, "--logdir", str(logdir)],
                          capture_output=True, text=True, timeout=600, check=True)
    events = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    scalars = {t: [(e.step, e.value) for e in events.Scalars(t)] for t in events.Tags()["scalars"]}
    texts = {t: [(e.step, e.tensor_proto.string_val[0].decode()) for e in events.Tensors(t)]
             for t in events.Tags()["tensors"]}
    return done.stdout, json.loads(out.read_text()), scalars, texts


def recorded(number: int, args: list[str], tmp_path):
    lesson = lessons.get(str(number))
    rec = execute(lesson.path, [*args, "--logdir", str(tmp_path / f"rec{number}")])
    assert rec.error is None, rec.error
    return rec


@pytest.mark.parametrize("number,args,expected", [
    (6, [], [31]), (6, ["--iterations", "12"], [13]), (7, ["--iterations", "40"], [41]),
    (17, ["--iterations", "3"], [4, 7, 10]), (12, ["--epochs", "5"], [6]), (11, ["--iterations", "5"], []),
    (16, ["--surface", "bowl", "--steps", "4"], [5, 9, 13, 17]),
])
def test_restarts_are_where_the_script_made_new_parameters(number, args, expected):
    rec = execute(lessons.get(str(number)).path, args)
    assert restarts(rec.iterations) == expected


def test_a_racers_last_update_is_its_optimizer_step_not_the_next_racers_start():
    """Lesson 16 steps w in place, then binds a new w for the next optimizer: the update is SGD's."""
    import torch

    rec = execute(lessons.get("16").path, ["--surface", "bowl", "--steps", "3"])
    w = torch.tensor([-1.5, 1.0], requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    steps = []
    for _ in range(3):
        before = w.detach().clone()
        opt.zero_grad()
        (w[0] ** 2 + w[1] ** 2).backward()
        opt.step()
        steps.append((w.detach() - before).tolist())
    assert [rec.iterations[i].params["w"].norm["update"] for i in range(3)] == pytest.approx(
        [torch.tensor(s).norm().item() for s in steps], rel=1e-5)
    assert rec.iterations[3].params["w"].value == [-1.5, 1.0]  # the next racer starts afresh


def test_lesson_9_smoothed_loss_and_accuracy_per_epoch_equal_a_plain_run(tmp_path):
    args = ["--epochs", "3"]
    _, losses, scalars, _ = plain(9, args, tmp_path)
    rec = recorded(9, args, tmp_path)
    frame = loss_frame(rec.iterations)
    assert frame["loss"].tolist() == pytest.approx(losses, rel=1e-6)  # the same losses, one per batch
    window = smoothing_window(frame["loss"])
    assert window >= 5
    import numpy as np

    want = [np.mean(losses[max(0, i - window + 1):i + 1]) for i in range(len(losses))]
    assert frame["smoothed"].tolist() == pytest.approx(want, rel=1e-6)
    for tag in ("train_acc", "valid_acc", "train_loss", "valid_loss"):
        logged = [(p["step"], p["value"]) for p in rec.metrics if p["tag"] == tag]
        assert len(logged) == 3 and logged == [(s, pytest.approx(v, rel=1e-6)) for s, v in scalars[tag]], tag
    # each epoch's numbers came after its last batch's backward()
    assert [p["iteration"] for p in rec.metrics if p["tag"] == "valid_acc"] == [100, 200, 300]


def test_lesson_10_error_to_the_true_picture_equals_a_plain_run(tmp_path):
    args = ["--iterations", "200"]
    _, losses, scalars, _ = plain(10, args, tmp_path)
    rec = recorded(10, args, tmp_path)
    error = [(p["step"], p["value"]) for p in rec.metrics if p["tag"] == "restoration/rms_error_to_truth"]
    assert len(error) == 200
    assert error == [(s, pytest.approx(v, rel=1e-6)) for s, v in scalars["restoration/rms_error_to_truth"]]
    loss = [p["value"] for p in rec.metrics if p["tag"] == "restoration/loss"]
    assert loss == pytest.approx(losses, rel=1e-6)
    assert error[-1][1] < error[0][1]  # the picture improves


def test_lesson_11_prediction_per_iteration_equals_a_plain_run(tmp_path):
    args = ["--iterations", "12"]
    out, _, _, texts = plain(11, args, tmp_path)
    rec = recorded(11, args, tmp_path)
    printed = [line.split("prediction ", 1)[1].strip("'") for line in out.splitlines() if "prediction '" in line]
    shown = logged_texts(rec)
    assert [shown[i]["prediction"] for i in range(1, 13)] == printed == [t for _, t in texts["prediction/text_summary"]]


def test_lesson_17_each_models_first_gradients_are_that_models(tmp_path):
    """Each of the four models' first iteration (where backward first runs through it) shows that
    model's own layer gradients: the lesson's printed norms, layer 1 to 10, for every model."""
    import re

    args = ["--iterations", "3"]
    lesson = lessons.get("17")
    out = subprocess.run([sys.executable, str(lesson.path), *args], capture_output=True, text=True,
                         timeout=600, check=True).stdout
    printed = [[float(x) for x in re.findall(r"\d\.\de[+-]\d\d", line.split(":", 1)[1].split("(")[0])]
               for line in out.splitlines() if "first gradient norms" in line]
    assert len(printed) == 4
    rec = execute(lesson.path, args)
    for start, norms in zip([1, 4, 7, 10], printed):
        it = rec.iterations[start - 1]
        names = sorted((n for n in it.params if n.endswith("weight") and it.params[n].shape == [32, 32]),
                       key=lambda n: int(n.split(".")[1]))  # model.<layer>.weight, model.<layer>.linear.weight
        layers = [it.params[n].norm["grad"] for n in names]
        assert len(layers) == 10, names
        assert layers == pytest.approx(norms, rel=0.06), (start, names)
