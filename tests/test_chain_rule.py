"""Chain-rule explanations: the numbers they print are the ones autograd produced.

For every op in the catalogue below we record a small float64 computation, weigh
its output with random constants (so the gradient arriving at the op is not all
ones), and check for every element of every input that the explanation's
arithmetic (Σ ∏ factors) equals the gradient PyTorch actually sent, and that the
text prints those numbers.
"""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import gradviz
from gradviz.explain.chain_rule import (RULES, Term, explain_graph, explain_step,
                                        step_arithmetic)
from gradviz.numbers import flatten as _flat
from gradviz.numbers import fmt_number
from gradviz.recording import Edge, GradInput, Graph, Node, Recording, Step

ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = ROOT / "gradviz" / "lessons"
D = torch.float64


def _leaf(shape, domain="any"):
    t = torch.randn(tuple(shape), dtype=D)
    if domain == "pos":
        t = t.abs() + 0.5
    elif domain == "unit":
        t = torch.rand(tuple(shape), dtype=D) * 0.8 + 0.1
    return t.requires_grad_()


def _record(fn, specs, seed=0):
    torch.manual_seed(seed)
    leaves = [_leaf(*s) if len(s) == 2 and isinstance(s[1], str) else _leaf(s) for s in specs]
    with gradviz.record() as rec:
        out = fn(*leaves)
        weight = torch.randn(out.shape, dtype=out.dtype) + 2.0  # a non-trivial upstream
        loss = (out * weight).sum() if out.dim() else out * 1.7
        loss.backward()
    return rec.graph


_tgt = torch.tensor([0, 2, 1])
lin = None


def _linear(x):
    global lin
    if lin is None:
        torch.manual_seed(1)
        lin = torch.nn.Linear(3, 2).double()
    return lin(x)


P = lambda *s: (s, "pos")  # noqa: E731
U = lambda *s: (s, "unit")  # noqa: E731

# name: (function, leaf shapes, autograd classes that must be explained)
CASES = {
    "add": (lambda a, b: a + b, [(3,), (3,)], ["AddBackward0"]),
    "add_alpha": (lambda a, b: torch.add(a, b, alpha=2.5), [(3,), (3,)], ["AddBackward0"]),
    "add_scalar": (lambda a: a + 2, [(3,)], ["AddBackward0"]),
    "sub": (lambda a, b: a - b, [(2, 2), (2, 2)], ["SubBackward0"]),
    "rsub": (lambda a: 2 - a, [(3,)], ["RsubBackward1"]),
    "rsub_tensor": (lambda a, b: torch.rsub(a, b), [(3,), (3,)], ["RsubBackward0"]),
    "mul": (lambda a, b: a * b, [(3,), (3,)], ["MulBackward0"]),
    "mul_self": (lambda a: a * a, [(3,)], ["MulBackward0"]),
    "mul_const": (lambda a: torch.tensor([1.0, -2.0, 3.0], dtype=D) * a, [(3,)],
                  ["MulBackward0"]),
    "div": (lambda a, b: a / b, [(3,), P(3)], ["DivBackward0"]),
    "div_scalar": (lambda a: a / 4, [(3,)], ["DivBackward0"]),
    "rdiv": (lambda a: 2 / a, [P(3)], ["ReciprocalBackward0", "MulBackward0"]),
    "neg": (lambda a: -a, [(3,)], ["NegBackward0"]),
    "pow": (lambda a: a ** 3, [(3,)], ["PowBackward0"]),
    "square": (lambda a: a.square(), [(2, 2)], ["PowBackward0"]),
    "pow_tensor": (lambda a, b: a ** b, [P(3), (3,)], ["PowBackward1"]),
    "rpow": (lambda a: 2 ** a, [(3,)], ["PowBackward2"]),
    "exp": (torch.exp, [(3,)], ["ExpBackward0"]),
    "log": (torch.log, [P(3)], ["LogBackward0"]),
    "sqrt": (torch.sqrt, [P(3)], ["SqrtBackward0"]),
    "sum": (lambda a: a.sum(), [(2, 3)], ["SumBackward0"]),
    "sum_dim": (lambda a: a.sum(dim=1), [(2, 3)], ["SumBackward1"]),
    "sum_keepdim": (lambda a: a.sum(0, keepdim=True), [(3, 2)], ["SumBackward1"]),
    "mean": (lambda a: a.mean(), [(2, 3)], ["MeanBackward0"]),
    "mean_dim": (lambda a: a.mean(dim=0), [(2, 3)], ["MeanBackward1"]),
    "mm": (torch.mm, [(2, 3), (3, 4)], ["MmBackward0"]),
    "matmul": (lambda a, b: a @ b, [(2, 3), (3, 2)], ["MmBackward0"]),
    "matmul_vec": (lambda a, b: a @ b, [(2, 3), (3,)], ["MvBackward0"]),
    "dot": (lambda a, b: a @ b, [(3,), (3,)], ["DotBackward0"]),
    "bmm": (torch.bmm, [(2, 2, 3), (2, 3, 2)], ["BmmBackward0"]),
    "matmul_batched": (lambda a, b: a @ b, [(2, 2, 3), (2, 3, 2)],
                       ["BmmBackward0", "ExpandBackward0", "ViewBackward0",
                        "UnsafeViewBackward0"]),
    "addmm": (lambda m, a, b: torch.addmm(m, a, b, beta=2, alpha=3), [(2, 2), (2, 3), (3, 2)],
              ["AddmmBackward0"]),
    "linear": (_linear, [(4, 3)], ["AddmmBackward0", "TBackward0"]),
    "linear_1d": (_linear, [(3,)], ["AddmmBackward0", "ViewBackward0"]),
    "t": (lambda a: a.t(), [(2, 3)], ["TBackward0"]),
    "transpose": (lambda a: a.transpose(0, -1), [(2, 3)], ["TransposeBackward0"]),
    "permute": (lambda a: a.permute(2, 0, 1), [(2, 3, 2)], ["PermuteBackward0"]),
    "view": (lambda a: a.view(3, 2), [(2, 3)], ["ViewBackward0"]),
    "reshape": (lambda a: a.reshape(6), [(2, 3)], ["ViewBackward0"]),
    "reshape_copy": (lambda a: a.t().reshape(6), [(2, 3)],
                     ["UnsafeViewBackward0", "CloneBackward0", "TBackward0"]),
    "squeeze": (lambda a: a.squeeze(), [(3, 1)], ["SqueezeBackward0"]),
    "squeeze_dim": (lambda a: a.squeeze(1), [(3, 1)], ["SqueezeBackward1"]),
    "unsqueeze": (lambda a: a.unsqueeze(0), [(3,)], ["UnsqueezeBackward0"]),
    "expand": (lambda a: a.expand(3, 4), [(3, 1)], ["ExpandBackward0"]),
    "broadcast_add": (lambda a, b: a + b, [(3, 4), (3, 1)], ["AddBackward0"]),
    "broadcast_mul": (lambda a, b: a * b, [(3, 1), (4,)], ["MulBackward0"]),
    "broadcast_scalar": (lambda a, b: a * b, [(), (3,)], ["MulBackward0"]),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), [(6,)], ["ClampBackward1"]),
    "clamp_min": (lambda a: torch.clamp_min(a, 0.1), [(6,)], ["ClampMinBackward0"]),
    "clamp_max": (lambda a: torch.clamp_max(a, 0.1), [(6,)], ["ClampMaxBackward0"]),
    "relu": (torch.relu, [(6,)], ["ReluBackward0"]),
    "nn_relu": (lambda a: torch.nn.ReLU()(a), [(6,)], ["ReluBackward0"]),
    "threshold": (lambda a: F.threshold(a, 0.1, 20.0), [(6,)], ["ThresholdBackward0"]),
    "leaky_relu": (lambda a: F.leaky_relu(a, 0.1), [(6,)], ["LeakyReluBackward0"]),
    "sigmoid": (torch.sigmoid, [(3,)], ["SigmoidBackward0"]),
    "tanh": (torch.tanh, [(3,)], ["TanhBackward0"]),
    "softmax": (lambda a: torch.softmax(a, dim=-1), [(2, 3)], ["SoftmaxBackward0"]),
    "softmax_dim0": (lambda a: F.softmax(a, dim=0), [(2, 3)], ["SoftmaxBackward0"]),
    "log_softmax": (lambda a: F.log_softmax(a, dim=1), [(2, 3)], ["LogSoftmaxBackward0"]),
    "cat": (lambda a, b: torch.cat([a, b]), [(2,), (3,)], ["CatBackward0"]),
    "cat_dim1": (lambda a, b: torch.cat([a, b], dim=1), [(2, 1), (2, 2)], ["CatBackward0"]),
    "stack": (lambda a, b: torch.stack([a, b], dim=1), [(2,), (2,)], ["StackBackward0"]),
    "select": (lambda a: a[1], [(3, 2)], ["SelectBackward0"]),
    "select_neg": (lambda a: a[:, -1], [(3, 2)], ["SelectBackward0"]),
    "slice": (lambda a: a[1:], [(3,)], ["SliceBackward0"]),
    "slice_step": (lambda a: a[:, 0:5:2], [(2, 5)], ["SliceBackward0"]),
    "index": (lambda a: a[torch.tensor([0, 2, 0])], [(3, 2)], ["IndexBackward0"]),
    "index_mask": (lambda a: a[torch.tensor([True, False, True, True])], [(4,)],
                   ["IndexBackward0"]),
    "dist": (lambda a, b: torch.dist(a, b), [(3,), (3,)], ["DistBackward0"]),
    "dist_p1": (lambda a, b: torch.dist(a, b, p=1), [(3,), (3,)], ["DistBackward0"]),
    "dist_p3": (lambda a, b: torch.dist(a, b, p=3), [(3,), (3,)], ["DistBackward0"]),
    "norm": (lambda a: a.norm(), [(3,)], ["LinalgVectorNormBackward0"]),
    "norm_p1": (lambda a: a.norm(p=1), [(3,)], ["LinalgVectorNormBackward0"]),
    "norm_p3": (lambda a: torch.norm(a, p=3), [(3,)], ["LinalgVectorNormBackward0"]),
    "norm_dim": (lambda a: torch.linalg.vector_norm(a, dim=1), [(3, 2)],
                 ["LinalgVectorNormBackward0"]),
    "mse_loss": (lambda a: F.mse_loss(a, torch.linspace(-1, 1, 3, dtype=D)), [(3,)],
                 ["MseLossBackward0"]),
    "mse_loss_sum": (lambda a, b: F.mse_loss(a, b, reduction="sum"), [(2, 2), (2, 2)],
                     ["MseLossBackward0"]),
    "mse_loss_none": (lambda a: F.mse_loss(a, torch.ones(3, dtype=D), reduction="none"), [(3,)],
                      ["MseLossBackward0"]),
    "bce": (lambda p: F.binary_cross_entropy(p, torch.tensor([0.0, 1.0, 0.3], dtype=D)),
            [U(3)], ["BinaryCrossEntropyBackward0"]),
    "bce_target": (lambda p, t: F.binary_cross_entropy(p, t), [U(3), U(3)],
                   ["BinaryCrossEntropyBackward0"]),
    "bce_sigmoid": (lambda a: F.binary_cross_entropy(torch.sigmoid(a),
                                                     torch.tensor([0.0, 1.0, 1.0], dtype=D)),
                    [(3,)], ["BinaryCrossEntropyBackward0", "SigmoidBackward0"]),
    "bce_logits": (lambda a: F.binary_cross_entropy_with_logits(
        a, torch.tensor([0.0, 1.0, 0.5], dtype=D)), [(3,)],
        ["BinaryCrossEntropyWithLogitsBackward0"]),
    "nll_loss": (lambda a: F.nll_loss(F.log_softmax(a, 1), _tgt), [(3, 4)],
                 ["NllLossBackward0", "LogSoftmaxBackward0"]),
    "nll_loss_sum": (lambda a: F.nll_loss(a, _tgt, reduction="sum"), [(3, 4)],
                     ["NllLossBackward0"]),
    "nll_loss_1d": (lambda a: F.nll_loss(a, torch.tensor(2)), [(4,)], ["NllLossBackward0"]),
    "cross_entropy": (lambda a: F.cross_entropy(a, _tgt), [(3, 4)],
                      ["NllLossBackward0", "LogSoftmaxBackward0"]),
    "max": (lambda a: a.max(), [(4,)], ["MaxBackward1"]),
    "min": (lambda a: a.min(), [(4,)], ["MinBackward1"]),
    "max_dim": (lambda a: a.max(dim=0).values, [(3, 2)], ["MaxBackward0"]),
    "abs": (torch.abs, [(3,)], ["AbsBackward0"]),
    "sin": (torch.sin, [(3,)], ["SinBackward0"]),
    "cos": (torch.cos, [(3,)], ["CosBackward0"]),
    "float": (lambda a: a.float().double(), [(3,)], ["ToCopyBackward0"]),
}


def _actual(step: Step, term: Term) -> float:
    return float(_flat(step.grad_inputs[term.edge].grad)[term.element])


def _check_step(graph: Graph, step: Step, element: int, rel_tol: float = 1e-9) -> list[Term]:
    terms = step_arithmetic(graph, step, element)
    text = explain_step(graph, step, element=element)
    wanted = [gi for gi in step.grad_inputs if gi.edge_to and gi.grad is not None]
    chain = [t for t in terms if t.kind == "chain"]
    assert len(chain) == len(wanted), (step.op, [t.kind for t in terms], text)
    for t in chain:
        actual = _actual(step, t)
        # the arithmetic the text prints adds up to the gradient autograd sent
        assert math.isclose(t.value, actual, rel_tol=rel_tol, abs_tol=1e-12), (step.op, t, actual)
        assert t.result == actual
        assert t.lhs in text and fmt_number(t.result) in text, (t, text)
        if t.products and len(t.products) <= 4:
            for p in t.products:
                for f in p:
                    shown = getattr(f, "shown", None) or fmt_number(abs(float(f)))
                    assert shown in text, (shown, text)
    return terms


def check_case(fn, specs, classes) -> None:
    """Record fn on leaves of these shapes; every element of every step is explained by its
    rule, and the arithmetic is the gradient autograd sent (also tests/test_chain_rule_ops)."""
    graph = _record(fn, specs)
    ops = {s.op for s in graph.steps}
    rel_tol = 1e-6 if any(n.dtype == "float32" for n in graph.nodes) else 1e-9
    for cls in classes:
        assert cls in ops, (cls, ops)
        assert cls in RULES
    for step in graph.steps:
        if step.op == "AccumulateGrad":
            continue
        n = max([len(_flat(gi.grad)) for gi in step.grad_inputs if gi.grad is not None] or [1])
        for e in range(n):
            _check_step(graph, step, e, rel_tol)
        assert step.explanation and step.explanation_ko
        assert "no formula" not in step.explanation, step.explanation
        assert "공식은 준비되지" not in step.explanation_ko, step.explanation_ko


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_number_matches_autograd(name):
    check_case(*CASES[name])


def _step(graph: Graph, op: str) -> Step:
    """The last step of that class: the one nearest the leaves (not the weighting)."""
    return [s for s in graph.steps if s.op == op][-1]


def _val(graph: Graph, node_id: str):
    return torch.tensor(graph.node(node_id).value, dtype=D)


# ------------------------------------------------------------------------------------------
# The factors themselves, recomputed here from the recorded forward values


def test_mul_factors_are_upstream_and_other_operand():
    graph = _record(lambda a, b: a * b, [(3,), (3,)])
    step = _step(graph, "MulBackward0")
    up = torch.tensor(step.grad_outputs[0], dtype=D)
    a_id, b_id = (gi.edge_to for gi in step.grad_inputs)
    a, b = _val(graph, a_id), _val(graph, b_id)
    for e in range(3):
        ta, tb = step_arithmetic(graph, step, e)
        assert ta.products == [[up[e].item(), b[e].item()]]
        assert tb.products == [[up[e].item(), a[e].item()]]


def test_pow_factors():
    graph = _record(lambda a: a ** 3, [(3,)])
    step = _step(graph, "PowBackward0")
    up = torch.tensor(step.grad_outputs[0], dtype=D)
    x = _val(graph, step.grad_inputs[0].edge_to)
    for e in range(3):
        (t,) = step_arithmetic(graph, step, e)
        assert t.products[0] == pytest.approx([up[e].item(), 3, x[e].item() ** 2])
        assert "3 · " in t.rule


def test_exp_and_sigmoid_use_the_forward_result():
    graph = _record(lambda a: torch.sigmoid(torch.exp(a)), [(3,)])
    st_exp, st_sig = _step(graph, "ExpBackward0"), _step(graph, "SigmoidBackward0")
    x = _val(graph, st_exp.grad_inputs[0].edge_to)
    for e in range(3):
        (t,) = step_arithmetic(graph, st_exp, e)
        assert t.products[0][1] == pytest.approx(torch.exp(x[e]).item())
        (t,) = step_arithmetic(graph, st_sig, e)
        s = torch.sigmoid(torch.exp(x[e])).item()
        assert t.products[0][1:] == pytest.approx([s, 1 - s])


def test_matmul_products_are_a_row_times_a_column():
    graph = _record(torch.mm, [(2, 3), (3, 4)])
    step = _step(graph, "MmBackward0")
    G = torch.tensor(step.grad_outputs[0], dtype=D)
    A = _val(graph, step.grad_inputs[0].edge_to)
    B = _val(graph, step.grad_inputs[1].edge_to)
    tA, tB = step_arithmetic(graph, step, 5)  # A[1,2] and B[1,1]
    assert tA.index == [1, 2] and tB.index == [1, 1]
    assert tA.products == [[G[1, q].item(), B[2, q].item()] for q in range(4)]
    assert tB.products == [[G[r, 1].item(), A[r, 1].item()] for r in range(2)]
    assert tA.rule.startswith("Σₖ")


def test_broadcast_sum_and_note():
    graph = _record(lambda a, b: a + b, [(3, 4), (3, 1)])
    step = _step(graph, "AddBackward0")
    G = torch.tensor(step.grad_outputs[0], dtype=D)
    terms = step_arithmetic(graph, step, 2)
    tb = terms[1]
    assert tb.index == [2, 0]
    assert tb.products == [[G[2, q].item()] for q in range(4)]
    text = explain_step(graph, step, element=2)
    assert "was broadcast from (3, 1) to (3, 4): its gradient sums over dim 1" in text
    ko = explain_step(graph, step, lang="ko", element=2)
    assert "브로드캐스팅" in ko and "차원 1" in ko


def test_softmax_inner_sum_recomputed():
    graph = _record(lambda a: torch.softmax(a, dim=1), [(2, 3)])
    step = _step(graph, "SoftmaxBackward0")
    G = torch.tensor(step.grad_outputs[0], dtype=D)
    x = _val(graph, step.grad_inputs[0].edge_to)
    y = torch.softmax(x, dim=1)
    (t,) = step_arithmetic(graph, step, 4)  # x[1,1]
    s = (G[1] * y[1]).sum().item()
    assert t.products[0][0] == pytest.approx(y[1, 1].item())
    assert t.products[0][1] == pytest.approx(G[1, 1].item() - s)
    assert fmt_number(s) in explain_step(graph, step, element=4)


def test_mse_and_nll_factors():
    target = torch.tensor([0.5, -1.0, 2.0], dtype=D)
    graph = _record(lambda a: F.mse_loss(a, target), [(3,)])
    step = _step(graph, "MseLossBackward0")
    x = _val(graph, step.grad_inputs[0].edge_to)
    (t,) = step_arithmetic(graph, step, 1)
    assert t.products[0][1:] == pytest.approx([2, (x[1] - target[1]).item(), 1 / 3])

    graph = _record(lambda a: F.cross_entropy(a, _tgt), [(3, 4)])
    step = _step(graph, "NllLossBackward0")
    for e in range(12):
        (t,) = step_arithmetic(graph, step, e)
        r, c = divmod(e, 4)
        if c == int(_tgt[r]):
            assert t.value == pytest.approx(-1.7 / 3)
        else:
            assert t.products == [] and t.value == 0
            assert "not the target class" in explain_step(graph, step, element=e)


def test_select_not_picked_gets_zero():
    graph = _record(lambda a: a[1], [(3, 2)])
    step = _step(graph, "SelectBackward0")
    (t,) = step_arithmetic(graph, step, 0)
    assert t.value == 0 and t.result == 0
    assert "its gradient is 0" in explain_step(graph, step, element=0)
    (t,) = step_arithmetic(graph, step, 3)
    assert len(t.products) == 1 and t.value != 0


def test_relu_stopped_note():
    x = torch.tensor([-1.0, 2.0], dtype=D, requires_grad=True)
    with gradviz.record() as rec:
        (torch.relu(x) * 3).sum().backward()
    step = _step(rec.graph, "ReluBackward0")
    assert "the gradient stops there" in explain_step(rec.graph, step, element=0)
    assert "stops" not in explain_step(rec.graph, step, element=1)


# ------------------------------------------------------------------------------------------
# The lessons


def test_lesson_1_chain_rule_text():
    w = torch.tensor(1.0, requires_grad=True)
    with gradviz.record() as rec:
        a = w * 3
        l = a ** 2  # noqa: E741
        l.backward()
    g = rec.graph
    pow_step, mul_step, acc = g.steps
    assert pow_step.explanation == "∂l/∂a = 2 · a = 2 · 3 = 6"
    assert mul_step.explanation == "∂l/∂w = ∂l/∂a · 3 = 6 · 3 = 18"
    assert "6 · 3 = 18" in mul_step.explanation_ko
    assert acc.explanation.splitlines()[0] == "w.grad += 18 → 18"
    assert "리프" in acc.explanation_ko


def _lesson_2_graph() -> Graph:
    x = torch.tensor(2.0, requires_grad=True)
    y = torch.tensor(3.0, requires_grad=True)
    with gradviz.record() as rec:
        f = x * y
        f.retain_grad()
        F_ = f + x - 2
        F_.backward()
    return rec.graph


def test_lesson_2_fan_in_text():
    g = _lesson_2_graph()
    x_id = g.by_name("x").id
    acc_x = next(s for s in g.steps if s.op == "AccumulateGrad" and s.node == x_id)
    assert acc_x.explanation.splitlines()[0] == "x.grad: 3 + 1 = 4"
    (t,) = step_arithmetic(g, acc_x)
    assert t.kind == "accumulate" and t.products == [[3.0], [1.0]] and t.result == 4.0
    assert "2" in acc_x.explanation_ko and "더해집니다" in acc_x.explanation_ko
    mul = _step(g, "MulBackward0")
    assert "∂F_/∂x = ∂F_/∂f · y = 1 · 3 = 3" in mul.explanation
    assert "f.grad = 1" in mul.explanation and "f.grad = 1" in mul.explanation_ko


def test_lesson_2_script():
    rec = gradviz.run_script(LESSONS_DIR / "02_fan_in.py")
    g = rec.graph
    acc_x = next(s for s in g.steps if s.op == "AccumulateGrad" and s.node == g.by_name("x").id)
    assert "x.grad: 3 + 1 = 4" in acc_x.explanation
    assert "∂F/∂x = ∂F/∂f · y = 1 · 3 = 3" in _step(g, "MulBackward0").explanation


def test_lesson_1_script():
    rec = gradviz.run_script(LESSONS_DIR / "01_chain_rule.py")
    assert "∂l/∂w = ∂l/∂a · 3 = 6 · 3 = 18" in _step(rec.graph, "MulBackward0").explanation


def test_accumulation_across_backward_calls():
    w = torch.tensor(1.0, requires_grad=True)
    with gradviz.record() as rec:
        a = w * 3
        a.backward()
        b = w * 3
        b.backward()
    acc = [s for s in rec.graphs[1].steps if s.op == "AccumulateGrad"][0]
    assert acc.explanation.splitlines()[0] == "w.grad: 3 + 3 = 6"
    assert "not zeroed" in acc.explanation and "누적" in acc.explanation_ko


def test_fan_in_at_an_intermediate():
    x = torch.tensor([1.0, 2.0], dtype=D, requires_grad=True)
    with gradviz.record() as rec:
        h = x * 2
        out = (h * h.detach() + h * 3).sum()
        out.backward()
    g = rec.graph
    step = next(s for s in g.steps if s.op == "MulBackward0" and s.node != g.root
                and any(gi.edge_to == g.by_name("x").id for gi in s.grad_inputs))
    fan = [t for t in step_arithmetic(g, step, 1) if t.kind == "fan_in"]
    assert len(fan) == 1 and fan[0].value == pytest.approx(step.grad_outputs[0][1])
    assert "is used 2 times" in step.explanation


# ------------------------------------------------------------------------------------------
# Robustness: large tensors, odd uses, broken graphs, no torch


def test_large_tensors_show_rule_and_result():
    torch.manual_seed(0)
    a = torch.randn(10, 10, requires_grad=True)
    with gradviz.record() as rec:
        (a.exp() * 2).sum().backward()
    step = _step(rec.graph, "ExpBackward0")
    (t,) = step_arithmetic(rec.graph, step, 3)
    assert t.kind == "rule" and "exp(a[0,3])" in t.rule
    assert t.result == pytest.approx(2 * math.exp(a[0, 3].item()), rel=1e-5)
    assert "values not kept" in step.explanation and "64" in step.explanation_ko


def test_unmodelled_use_prints_only_autograd_number():
    w = torch.tensor([0.2, 3.0, 1.0], dtype=D)
    graph = _record(lambda a: F.nll_loss(a, _tgt, weight=w, reduction="sum"), [(3, 3)])
    step = _step(graph, "NllLossBackward0")
    terms = step_arithmetic(graph, step, 2)  # row 0, class 2: not the target, but weighted rows
    for e in range(9):
        (t,) = step_arithmetic(graph, step, e)
        assert t.result == pytest.approx(_flat(step.grad_inputs[0].grad)[e])
        if t.kind == "chain":
            assert t.value == pytest.approx(t.result)
    assert terms


def test_generic_op_has_numbers_and_no_formula():
    x = torch.tensor([0.5, 1.0], dtype=D, requires_grad=True)
    with gradviz.record() as rec:
        torch.sinh(x).sum().backward()
    step = _step(rec.graph, "SinhBackward0")
    assert "SinhBackward0" not in RULES
    assert "no formula" in step.explanation and "공식" in step.explanation_ko
    assert fmt_number(math.cosh(0.5)) in step.explanation


def test_explanations_never_raise_on_broken_graphs():
    g = Graph(index=0, nodes=[
        Node(id="t0", kind="tensor", name="y", output=True, shape=[2], value=[1.0, float("nan")]),
        Node(id="op0", kind="op", op="MulBackward0", attrs={"other": "zzz"}),
        Node(id="t1", kind="tensor", name="x", shape=[3], value=None),
        Node(id="op1", kind="op", op="SoftmaxBackward0", attrs={"dim": 7}),
    ], edges=[Edge("op0", "t0"), Edge("t1", "op0"), Edge("t1", "op1")], root="t0", steps=[
        Step(index=0, node="op0", op="MulBackward0", grad_outputs=[[1.0, 2.0, 3.0]],
             grad_inputs=[GradInput(edge_to="t1", grad=[1.0], shape=[5, 5]),
                          GradInput(edge_to="nope", grad="bad")]),
        Step(index=1, node="op1", op="SoftmaxBackward0", grad_outputs=[None],
             grad_inputs=[GradInput(edge_to="t1", grad=None, summary={"first": []})]),
        Step(index=2, node="missing", op="AddBackward0", grad_outputs=[]),
        Step(index=3, node="t1", op="AccumulateGrad", grad_outputs=[[1.0]],
             grad_before=[[1]], grad_after="x"),
        Step(index=4, node="op0", op="TotallyNewBackward7", grad_outputs=[{"a": 1}],
             grad_inputs=[GradInput(edge_to="t1", grad=[[[1.0]]])]),
    ])
    explain_graph(g)
    for s in g.steps:
        assert isinstance(s.explanation, str) and isinstance(s.explanation_ko, str)
        assert isinstance(explain_step(g, s, lang="ko", element=10**9), str)
        assert isinstance(explain_step(g, s, lang="xx", element=-3), str)


def test_element_wraps_and_picks():
    graph = _record(lambda a, b: a * b, [(3,), (3,)])
    step = _step(graph, "MulBackward0")
    t0 = step_arithmetic(graph, step, 1)[0]
    t1 = step_arithmetic(graph, step, 4)[0]  # 4 wraps to 1
    assert t0.index == [1] and t1.index == [1] and t0.products == t1.products
    assert "[1]" in explain_step(graph, step, element=1)


def test_explain_works_without_torch(tmp_path):
    graph = _record(lambda a, b: (a @ b).relu(), [(2, 3), (3, 2)])
    for s in graph.steps:
        s.explanation = s.explanation_ko = ""
    path = tmp_path / "rec.json"
    path.write_text(Recording(graphs=[graph]).to_json())
    code = f"""
import sys
sys.modules["torch"] = None  # any import of torch now fails
from gradviz.recording import Recording
from gradviz.explain import explain_recording
import gradviz.explain.checks_text
rec = Recording.from_json(open({str(path)!r}).read())
explain_recording(rec)
steps = rec.graphs[0].steps
assert all(s.explanation and s.explanation_ko for s in steps), [s.explanation for s in steps]
print(steps[1].explanation)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "∂" in out.stdout


def test_korean_texts_are_korean():
    g = _lesson_2_graph()
    hangul = re.compile("[\uac00-\ud7a3]")
    assert any(hangul.search(s.explanation_ko) for s in g.steps)
    for s in g.steps:
        assert not hangul.search(s.explanation)


def test_explanation_is_plain_short_text():
    for name in ("linear", "broadcast_add", "cross_entropy", "softmax"):
        fn, specs, _ = CASES[name]
        graph = _record(fn, specs)
        for s in graph.steps:
            assert "<" not in s.explanation and "</" not in s.explanation_ko
            assert 1 <= len(s.explanation.splitlines()) <= 6, s.explanation
    json.dumps(graph.to_dict())
