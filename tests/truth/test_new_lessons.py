"""Lessons 12 to 14 under gradviz against the same lessons run plainly, and PyTorch itself.

The truth is what PyTorch left in the plain run's variables (the leaves' .grad, the
scores and targets), not gradviz's bookkeeping: the classifier's gradient at the
scores is (probability - target) / N, and a packed RNN sends exactly nothing to the
padding while a padded one does.
"""
from __future__ import annotations

import contextlib
import re
import io
import runpy
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import gradviz
from gradviz.lessons import get


def _plain(script: str, *args: str) -> dict:
    """The lesson's globals after a plain run (seeded like gradviz's run: the script seeds)."""
    path = str(get(script).path)
    argv, sys.argv = sys.argv, [path, *args]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return runpy.run_path(path, run_name="__main__")
    finally:
        sys.argv = argv


def _step(graph, op: str):
    return next(s for s in graph.steps if s.op == op)


def _leaf(graph, name: str):
    return next(n for n in graph.nodes if n.name == name and n.is_leaf)


@pytest.fixture(scope="module")
def lesson12():
    rec = gradviz.run_script(get("classification").path, ["--epochs", "1"])
    return rec, _plain("classification", "--epochs", "1")


def test_lesson12_sigmoid_sends_p_minus_y_over_n(lesson12):
    rec, _ = lesson12
    logistic = rec.graphs[0]
    x = torch.tensor([[1.0, 2.0], [2.0, 3.0], [3.0, 1.0], [4.0, 3.0], [5.0, 3.0], [6.0, 2.0]])
    y = torch.tensor([[0.0], [0.0], [0.0], [1.0], [1.0], [1.0]])
    W = torch.zeros((2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    z = x @ W + b
    z.retain_grad()
    F.binary_cross_entropy(torch.sigmoid(z), y).backward()
    sent = _step(logistic, "SigmoidBackward0").grad_inputs[0].grad
    assert np.array_equal(np.array(sent, dtype=np.float32), z.grad.numpy())
    assert np.allclose(z.grad.numpy(), (0.5 - y.numpy()) / 6)       # the lesson's ±0.08333
    assert np.array_equal(np.array(_leaf(logistic, "W").grad, dtype=np.float32), W.grad.numpy())


def test_lesson12_softmax_sends_softmax_minus_one_hot(lesson12):
    rec, plain = lesson12
    softmax = rec.graphs[1]
    z, y = plain["z"].detach(), plain["y_train"]                      # the last (only) epoch's scores
    expected = (F.softmax(z, dim=1) - F.one_hot(y, 3)) / len(y)
    sent = np.array(_step(softmax, "LogSoftmaxBackward0").grad_inputs[0].grad, dtype=np.float32)
    assert np.allclose(sent, expected.numpy(), rtol=1e-6, atol=1e-8)
    assert np.array_equal(np.array(_leaf(softmax, "W").grad, dtype=np.float32), plain["W"].grad.numpy())
    for g in rec.graphs:
        text = " ".join(s.explanation + s.explanation_ko for s in g.steps)
        assert "—" not in text


@pytest.fixture(scope="module")
def lesson13():
    return gradviz.run_script(get("rnn_padding_packing").path), _plain("rnn_padding_packing")


def test_lesson13_padding_gets_gradient_only_when_padded(lesson13):
    rec, plain = lesson13
    padding = plain["padded"] == 0
    assert plain["inputs"].grad[padding].abs().sum() > 0
    assert plain["inputs_packed"].grad[padding].abs().sum() == 0
    assert plain["packed"].batch_sizes.tolist() == get("rnn_padding_packing").expect["batch_sizes"]
    padded_run, packed_run = rec.graphs
    for graph, name in ((padded_run, "inputs"), (packed_run, "inputs_packed")):
        node = _leaf(graph, name)
        truth = plain[name].grad
        assert node.grad_summary["norm"] == pytest.approx(float(truth.norm()), rel=1e-6)
        assert node.grad_summary["first"] == truth.flatten()[: len(node.grad_summary["first"])].tolist()


def test_lesson13_parameter_grads_match(lesson13):
    rec, plain = lesson13
    packed_run = rec.graphs[1]
    for name, p in [*plain["rnn"].named_parameters(prefix="rnn"), *plain["head"].named_parameters(prefix="head")]:
        node = _leaf(packed_run, name)
        assert np.allclose(np.array(node.grad, dtype=np.float32), p.grad.numpy(), rtol=1e-6, atol=0), name


# 14: forward mode -------------------------------------------------------------------------
def _tail_number(text: str) -> list[float]:
    """The numbers after the last '=' of an explanation (one, or a [list])."""
    tail = text.rsplit("=", 1)[1].split(":")[0]
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", tail)]


def test_lesson14_every_tangent_is_torch_funcs_jvp():
    rec = gradviz.run_script(get("forward_reverse_mode").path)
    x = torch.tensor([1.0, 2.0, 0.5])
    parts = {  # every value the lesson's f makes, as a function of x
        "x_dual": lambda x: x, "a": lambda x: x[0] * x[1], "b": lambda x: torch.sin(x[2]),
        "y": lambda x: torch.stack([x[0] * x[1] + torch.sin(x[2]), x[0] * x[1] * torch.sin(x[2])]),
    }
    passes = [rec.tangents[i:i + 9] for i in range(0, len(rec.tangents), 9)]
    assert len(passes) == 3 and all(p[0].op == "_make_dual" for p in passes), [t.op for t in rec.tangents]
    for i, steps in enumerate(passes):
        direction = torch.zeros(3)
        direction[i] = 1.0
        named = {s.output: s for s in steps}
        assert set(parts) <= set(named), sorted(named)
        for name, fn in parts.items():
            value, tangent = torch.func.jvp(fn, (x,), (direction,))
            step = named[name]
            assert np.allclose(step.value, value.tolist(), rtol=1e-6), (i, name)
            assert np.allclose(step.tangent, tangent.tolist(), rtol=1e-6), (i, name)
        for step in steps:  # the number each explanation ends on is the recorded tangent
            for text in (step.explanation, step.explanation_ko):
                if step.op != "_make_dual":
                    assert np.allclose(_tail_number(text), np.ravel(step.tangent), atol=5e-4), text


def test_forward_mode_outside_record_costs_nothing_and_json_round_trips():
    import torch.autograd.forward_ad as fwAD

    from gradviz.recording import Recording

    enter = fwAD.dual_level.__enter__
    with gradviz.record() as rec:
        with fwAD.dual_level():
            x = fwAD.make_dual(torch.tensor([0.5, 1.0]), torch.tensor([1.0, 1.0]))
            y = torch.exp(x) * x
        z = y * 2  # after the level: no tangent, no step
    assert fwAD.dual_level.__enter__ is enter  # nothing left patched
    expected = torch.func.jvp(lambda v: torch.exp(v) * v, (torch.tensor([0.5, 1.0]),),
                              (torch.tensor([1.0, 1.0]),))[1]
    assert [s.op for s in rec.tangents] == ["_make_dual", "exp", "mul"]
    assert np.allclose(rec.tangents[-1].tangent, expected.tolist(), rtol=1e-6)
    assert rec.tangents[-1].output == "y"
    back = Recording.from_json(rec.to_json())
    assert [s.tangent for s in back.tangents] == [s.tangent for s in rec.tangents]
    assert back.tangents[-1].explanation == rec.tangents[-1].explanation


# 15: Lightning -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lesson15(tmp_path_factory):
    pytest.importorskip("pytorch_lightning")
    pytest.importorskip("sklearn")
    pytest.importorskip("tensorboard")
    logs = tmp_path_factory.mktemp("lightning")
    args = ["--epochs", "2", "--logdir", str(logs / "gradviz")]
    rec = gradviz.run_script(get("lightning_digits").path, args)

    first: dict[int, torch.Tensor] = {}  # id(parameter) -> its grad after the first backward()
    original = torch.Tensor.backward

    def spy(self, *a, **k):
        out = original(self, *a, **k)
        if not first:
            stack, seen = [self.grad_fn], set()
            while stack:
                fn = stack.pop()
                if fn is None or id(fn) in seen:
                    continue
                seen.add(id(fn))
                if hasattr(fn, "variable"):
                    first[id(fn.variable)] = fn.variable.grad.clone()
                stack.extend(f for f, _ in fn.next_functions)
        return out

    torch.Tensor.backward = spy
    try:
        plain = _plain("lightning_digits", "--epochs", "2", "--logdir", str(logs / "plain"))
    finally:
        torch.Tensor.backward = original
    return rec, plain, first, logs


def test_lesson15_first_step_grads_equal_a_plain_run(lesson15):
    rec, plain, first, _ = lesson15
    assert rec.error is None, rec.error
    params = dict(plain["model"].named_parameters())  # model.0.weight, ...
    assert len(first) == len(params) == 4
    graph = rec.graphs[0]
    for name, p in params.items():  # named through `self` or the global `model`: the part is the same
        node = next(n for n in graph.nodes if n.is_leaf and (n.name == name or (n.name or "").endswith("." + name)))
        assert np.array_equal(np.array(node.grad if node.grad is not None else node.grad_summary["first"],
                                       dtype=np.float32).ravel(),
                              first[id(p)].numpy().ravel()[: np.size(node.grad or node.grad_summary["first"])]), name
    assert len(rec.iterations) == 2 * 22  # 1400 samples in batches of 64, two epochs


def test_lesson15_logged_numbers_are_tensorboards(lesson15):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    rec, _, _, logs = lesson15
    event_dirs = [p.parent for p in (logs / "gradviz").rglob("events.out.tfevents.*")]
    assert len(event_dirs) == 1
    events = EventAccumulator(str(event_dirs[0]))
    events.Reload()
    for tag in ("train_loss", "train_acc", "val_loss", "val_acc"):
        logged = [(p["step"], p["value"]) for p in rec.metrics if p["tag"] == tag]
        written = [(e.step, e.value) for e in events.Scalars(tag)]
        assert len(logged) == 2 and [s for s, _ in logged] == [s for s, _ in written], tag
        assert [v for _, v in logged] == pytest.approx([v for _, v in written], rel=1e-6), tag
    val_acc = [p["value"] for p in rec.metrics if p["tag"] == "val_acc"]
    assert val_acc[-1] > 0.85
