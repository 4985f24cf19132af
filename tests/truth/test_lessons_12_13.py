"""Lessons 12 and 13 under gradviz against the same lessons run plainly.

The truth is what PyTorch left in the plain run's variables (the leaves' .grad, the
scores and targets), not gradviz's bookkeeping: the classifier's gradient at the
scores is (probability - target) / N, and a packed RNN sends exactly nothing to the
padding while a padded one does.
"""
from __future__ import annotations

import contextlib
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
