"""Finite-difference checks of leaf gradients (gradviz.capture.gradcheck, explain.checks_text)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import gradviz
from gradviz import gradcheck
from gradviz.capture.gradcheck import check_leaf_grads, find_leaves
from gradviz.explain.checks_text import format_checks
from gradviz.recording import Recording

ROOT = Path(__file__).resolve().parents[1]


def test_lesson_1_gradient_is_confirmed():
    w = torch.tensor(1.0, requires_grad=True)
    (r,) = gradcheck(lambda: (w * 3) ** 2)
    assert r["name"] == "w" and r["ok"] is True and r["dtype"] == "float64"
    assert r["autograd"] == 18.0 and r["numeric"] == pytest.approx(18.0, abs=1e-6)
    assert r["max_abs_diff"] < 1e-6
    assert format_checks([r]).startswith("w: autograd 18, numeric 18 (|Δ| ")
    assert "수치 미분" in format_checks([r], lang="ko")


def test_state_is_restored():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    w.grad = torch.tensor([5.0, 5.0])
    before = w.detach().clone()
    gradcheck(lambda: (w ** 3).sum())
    assert w.dtype == torch.float32 and torch.equal(w.detach(), before)
    assert torch.equal(w.grad, torch.tensor([5.0, 5.0]))
    assert torch.get_default_dtype() == torch.float32


def test_leaves_as_arguments_take_the_callers_names():
    x = torch.randn(3, requires_grad=True)
    W = torch.randn(2, 3, requires_grad=True)
    results = gradcheck(lambda x, W: torch.tanh(W @ x).sum(), x, W)
    assert [r["name"] for r in results] == ["x", "W"]
    assert all(r["ok"] for r in results)
    assert torch.tensor(results[1]["autograd"]).shape == (2, 3)


def test_check_leaf_grads_with_a_dict_and_two_paths():
    x = torch.tensor(2.0, requires_grad=True)
    y = torch.tensor(3.0, requires_grad=True)
    res = {r["name"]: r for r in check_leaf_grads(lambda: x * y + x - 2, {"x": x, "y": y})}
    assert res["x"]["autograd"] == pytest.approx(4.0) and res["x"]["ok"]
    assert res["y"]["numeric"] == pytest.approx(2.0) and res["y"]["ok"]


def test_module_parameters_are_found_and_float32_inputs_fall_back():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    inp = torch.randn(4, 3)  # a float32 input the check does not own: float64 cannot be used
    results = gradcheck(lambda: F.mse_loss(model(inp), torch.zeros(4, 2)))
    assert {r["name"] for r in results} == {"model.weight", "model.bias"}
    assert all(r["ok"] and r["dtype"] == "float32" for r in results)
    assert model.weight.dtype == torch.float32


def test_large_leaves_are_skipped_with_a_note():
    big = torch.randn(100, requires_grad=True)
    small = torch.tensor(1.5, requires_grad=True)
    res = {r["name"]: r for r in gradcheck(lambda: (big * small).sum())}
    assert res["big"]["skipped"] and res["big"]["ok"] is None
    assert "100" in res["big"]["note"]
    assert res["small"]["ok"]
    assert "not checked" in format_checks(list(res.values()))
    assert "검사하지 않음" in format_checks(list(res.values()), lang="ko")


def test_a_wrong_backward_is_caught():
    class WrongSquare(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x  # should be 2 * x

    w = torch.tensor([1.0, -2.0], requires_grad=True)
    (r,) = gradcheck(lambda: WrongSquare.apply(w).sum())
    assert r["ok"] is False and r["max_abs_diff"] == pytest.approx(2.0, rel=1e-4)
    assert "✗" in format_checks([r])


def test_random_ops_in_the_build_are_repeatable():
    x = torch.randn(6, requires_grad=True)
    (r,) = gradcheck(lambda: (F.dropout(x, 0.5, training=True) * torch.randn(6)).sum())
    assert r["ok"], r


def test_non_scalar_output_is_summed_with_a_note():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (r,) = gradcheck(lambda: x ** 2)
    assert r["ok"] and r["autograd"] == [2.0, 4.0] and "sum" in r["note"]


def test_find_leaves_names_closure_and_globals():
    a = torch.tensor(1.0, requires_grad=True)
    params = [torch.tensor(2.0, requires_grad=True)]
    leaves = find_leaves(lambda: a * params[0] * torch.tensor(3.0))
    assert set(leaves) == {"a", "params[0]"}


def test_results_are_plain_data_for_graph_checks():
    w = torch.tensor(1.0, requires_grad=True)
    with gradviz.record() as rec:
        l = (w * 3) ** 2  # noqa: E741
        l.backward()
    rec.graph.checks = gradcheck(lambda: (w * 3) ** 2)
    back = Recording.from_json(rec.to_json())
    assert back.graph.checks[0]["name"] == "w" and back.graph.checks[0]["ok"] is True
    json.dumps(back.graph.checks, allow_nan=False)


@settings(max_examples=20, deadline=None)
@given(st.floats(-2, 2), st.floats(-2, 2), st.floats(0.1, 2))
def test_property_smooth_functions_agree(a, b, c):
    x = torch.tensor([a, b], requires_grad=True)
    s = torch.tensor(c, requires_grad=True)
    results = gradcheck(lambda: (torch.sin(x) * s + x.pow(2) / s).sum() + torch.exp(x).mean())
    assert all(r["ok"] for r in results), results


def test_module_imports_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from gradviz.explain.checks_text import format_checks\n"
            "print(format_checks([{'name': 'w', 'autograd': 18.0, 'numeric': 18.0,"
            " 'max_abs_diff': 0.0, 'ok': True}]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "w: autograd 18" in out.stdout
