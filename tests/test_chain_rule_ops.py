"""Chain-rule explanations of the ops issue 14 item 15 found without a formula, and the
notes items 6, 9 and 10 found false.

Two checks for each rule: in float64, for every element of every input, the printed
arithmetic (Σ ∏ factors) equals the gradient autograd sent, to 1e-9, and it is the
rule's own (a "chain" term, not the number alone); in float32, the independent
checker of tests/truth reads every line for each element in English and Korean
against what PyTorch computed (its own hooks, not gradviz's bookkeeping).
"""
from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
from test_chain_rule import check_case
from torch import nn

import gradviz
from gradviz.explain.chain_rule import explain_step, step_arithmetic
from gradviz.numbers import flatten
from gradviz.recording import Edge, GradInput, Graph, Node, Step

from truth.compare import Match
from truth.explain_check import check_explanations
from truth.programs import Cube
from truth.runs import run_three
from truth.truth import pairs, report

D = torch.float64
_I = torch.tensor([[0, 2, 2], [3, 1, 0]])


def _mask(a):
    return a.masked_fill(a < 0, 0.5)


# name: (function, leaf shapes, autograd classes that must be explained)
CASES = {
    "conv1d": (lambda x, w, b: F.conv1d(x, w, b), [(1, 2, 5), (3, 2, 2), (3,)],
               ["ConvolutionBackward0"]),
    "conv1d_stride_pad": (lambda x, w: F.conv1d(x, w, stride=2, padding=1), [(1, 2, 6), (2, 2, 3)],
                          ["ConvolutionBackward0"]),
    "conv1d_unbatched": (lambda x, w: F.conv1d(x, w), [(2, 5), (3, 2, 2)],
                         ["ConvolutionBackward0"]),
    "conv2d_groups": (lambda x, w: F.conv2d(x, w, groups=2, padding=1),
                      [(1, 4, 3, 3), (4, 2, 2, 2)], ["ConvolutionBackward0"]),
    "conv2d_dilation": (lambda x, w, b: F.conv2d(x, w, b, dilation=2),
                        [(2, 1, 4, 4), (1, 1, 2, 2), (1,)], ["ConvolutionBackward0"]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), [(1, 1, 4, 4)], ["MaxPool2DWithIndicesBackward0"]),
    "max_pool2d_overlap": (lambda x: F.max_pool2d(x, 3, stride=2, padding=1), [(1, 2, 5, 5)],
                           ["MaxPool2DWithIndicesBackward0"]),
    "max_pool1d": (lambda x: F.max_pool1d(x, 2), [(1, 2, 6)], ["MaxPool2DWithIndicesBackward0"]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2), [(1, 1, 4, 4)], ["AvgPool2DBackward0"]),
    "avg_pool2d_pad": (lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
                       [(1, 1, 5, 5)], ["AvgPool2DBackward0"]),
    "avg_pool2d_ceil": (lambda x: F.avg_pool2d(x, 2, ceil_mode=True), [(1, 1, 5, 5)],
                        ["AvgPool2DBackward0"]),
    "layer_norm": (lambda x: F.layer_norm(x, (4,)), [(2, 4)], ["NativeLayerNormBackward0"]),
    "layer_norm_affine": (lambda x, w, b: F.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)],
                          ["NativeLayerNormBackward0"]),
    "layer_norm_2d": (lambda x: F.layer_norm(x, (2, 3), eps=1e-3), [(2, 2, 3)],
                      ["NativeLayerNormBackward0"]),
    "batch_norm": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                   [(4, 3), (3,), (3,)], ["NativeBatchNormBackward0"]),
    "batch_norm_3d": (lambda x: F.batch_norm(x, None, None, training=True, eps=1e-3), [(3, 2, 2)],
                      ["NativeBatchNormBackward0"]),
    "batch_norm_eval": (lambda x, w: F.batch_norm(x, torch.zeros(3, dtype=D) + 0.5,
                                                  torch.ones(3, dtype=D) * 2.0, w, None,
                                                  training=False), [(4, 3), (3,)],
                        ["NativeBatchNormBackward0"]),
    "embedding": (lambda w: F.embedding(torch.tensor([1, 0, 1, 3]), w), [(5, 2)],
                  ["EmbeddingBackward0"]),
    "embedding_pad": (lambda w: F.embedding(torch.tensor([[1, 0], [0, 4]]), w, padding_idx=0),
                      [(5, 3)], ["EmbeddingBackward0"]),
    "gather": (lambda x: x.gather(1, _I), [(2, 4)], ["GatherBackward0"]),
    "gather_dim0": (lambda x: x.gather(0, torch.tensor([[1, 0, 1, 1]])), [(2, 4)],
                    ["GatherBackward0"]),
    "scatter_add": (lambda a, s: a.scatter_add(1, _I, s), [(2, 4), (2, 3)],
                    ["ScatterAddBackward0"]),
    "index_select": (lambda x: x.index_select(1, torch.tensor([0, 3, 0])), [(2, 4)],
                     ["IndexSelectBackward0"]),
    "sort": (lambda x: x.sort(dim=1).values, [(2, 4)], ["SortBackward0"]),
    "sort_descending": (lambda x: x.sort(dim=0, descending=True).values, [(3, 2)],
                        ["SortBackward0"]),
    "topk": (lambda x: x.topk(2, dim=1).values, [(2, 4)], ["TopkBackward0"]),
    "topk_smallest": (lambda x: x.topk(3, largest=False).values, [(5,)], ["TopkBackward0"]),
    "cumsum": (lambda x: x.cumsum(1), [(2, 4)], ["CumsumBackward0"]),
    "cumsum_dim0": (lambda x: x.cumsum(0), [(3, 2)], ["CumsumBackward0"]),
    "prod": (lambda x: x.prod(), [(2, 3)], ["ProdBackward0"]),
    "prod_dim": (lambda x: x.prod(1), [(2, 3)], ["ProdBackward1"]),
    "prod_long": (lambda x: x.prod(0, keepdim=True), [(9, 2)], ["ProdBackward1"]),
    "prod_zero": (lambda x: (x * torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]], dtype=D)).prod(1),
                  [(2, 3)], ["ProdBackward1"]),
    "where": (lambda a, b: torch.where(a > 0, a, b), [(2, 3), (2, 3)], ["WhereBackward0"]),
    "where_broadcast": (lambda a, b: torch.where(torch.tensor([True, False, True]), a, b),
                        [(2, 1), (3,)], ["WhereBackward0"]),
    "masked_fill": (_mask, [(2, 3)], ["MaskedFillBackward0"]),
    "masked_fill_tensor": (lambda a, v: a.masked_fill(torch.tensor([True, False, True]), v),
                           [(2, 3), ()], ["MaskedFillBackward1"]),
    "split": (lambda a: a.split(2, dim=1)[1], [(2, 4)], ["SplitBackward0"]),
    "split_sizes": (lambda a: a.split([1, 3], dim=1)[1], [(2, 4)], ["SplitWithSizesBackward0"]),
    "split_both": (lambda a: (lambda p: p[0] * 2 + p[1])(a.split(2, dim=1)), [(2, 4)],
                   ["SplitBackward0"]),
    "chunk": (lambda a: a.chunk(3)[2], [(5, 2)], ["SplitBackward0"]),
    "unbind": (lambda a: a.unbind(1)[2] * a.unbind(1)[0], [(2, 3)], ["UnbindBackward0"]),
    "amax": (lambda a: a.amax(dim=1), [(2, 3)], ["AmaxBackward0"]),
    "amin_all": (lambda a: a.amin(), [(2, 3)], ["AminBackward0"]),
    "custom": (lambda a: Cube.apply(a), [(2, 3)], []),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_number_matches_autograd(name):
    check_case(*CASES[name])


# The same ops in float32, each line read by the independent checker (tests/truth) ---------
def _weighted(y: torch.Tensor) -> torch.Tensor:
    return (y * (torch.arange(y.numel(), dtype=y.dtype).reshape(y.shape) / 7 - 0.4)).sum()


def _lstm_states():
    lstm = nn.LSTM(3, 2)
    x = torch.randn(3, 1, 3, requires_grad=True)
    h0 = torch.randn(1, 1, 2, requires_grad=True)
    c0 = torch.randn(1, 1, 2, requires_grad=True)
    out, (h, c) = lstm(x, (h0, c0))
    loss = _weighted(out) + (h * 3).sum() - c.sum()
    loss.backward()
    return {"loss": loss, "x": x, "h0": h0, "c0": c0}


def _lstm_batch_first():
    lstm = nn.LSTM(2, 3, batch_first=True)
    x = torch.randn(2, 2, 2, requires_grad=True)
    loss = _weighted(lstm(x)[0])
    loss.backward()
    return {"loss": loss, "x": x}


class _Both(torch.autograd.Function):
    """Two inputs, two outputs: (a·b, a + b)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b, a + b

    @staticmethod
    def backward(ctx, g1, g2):
        a, b = ctx.saved_tensors
        return g1 * b + g2, g1 * a + g2


def _custom_two():
    a = torch.randn(2, 2, requires_grad=True)
    b = torch.randn(2, 2, requires_grad=True)
    p, s = _Both.apply(a, b)
    loss = _weighted(p) + (s * s).sum()
    loss.backward()
    return {"loss": loss, "a": a, "b": b}


def _pool_ties():
    x = torch.tensor([[[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 1.0, 1.0],
                        [0.0, 0.0, 5.0, 5.0], [0.0, 0.0, 5.0, 5.0]]]], requires_grad=True)
    loss = _weighted(F.max_pool2d(x, 2))
    loss.backward()
    return {"loss": loss, "x": x}


def _conv2d_strided():
    x = torch.randn(2, 2, 4, 4, requires_grad=True)
    conv = nn.Conv2d(2, 2, 3, stride=2, padding=1, bias=True)
    loss = _weighted(conv(x))
    loss.backward()
    return {"loss": loss, "x": x}


def _norm_modules():
    x = torch.randn(3, 4, requires_grad=True)
    ln = nn.LayerNorm(4)
    bn = nn.BatchNorm1d(4)
    loss = _weighted(ln(x)) + _weighted(bn(x * 2))
    loss.backward()
    return {"loss": loss, "x": x}


def _picks():
    x = torch.randn(3, 4, requires_grad=True)
    table = torch.randn(4, 2, requires_grad=True)
    idx = torch.tensor([[0, 3, 2], [2, 2, 1]])
    y = x[:2].gather(1, idx) + x.index_select(1, torch.tensor([1, 1, 0]))[:2]
    loss = _weighted(y) + _weighted(F.embedding(idx, table, padding_idx=3))
    loss = loss + _weighted(x.sort(1).values)
    loss = loss + _weighted(torch.where(x > 0, x, x * 3)) + _weighted(x.cumsum(0))
    loss.backward()
    return {"loss": loss, "x": x, "table": table}


def _splits():
    x = torch.randn(4, 3, requires_grad=True)
    a, b = x.split([1, 3])
    c = x.unbind(1)
    loss = _weighted(a) + _weighted(b * c[1][:3].unsqueeze(1)) + _weighted(x.chunk(2, 1)[1])
    loss.backward()
    return {"loss": loss, "x": x}


def _ties_and_zeros():
    x = torch.tensor([[2.0, 0.0, 2.0], [1.0, -1.0, 1.0]], requires_grad=True)
    loss = x.max() * 3 + _weighted(x.max(dim=1).values) + _weighted(x.relu()) + \
        _weighted(x.abs()) + _weighted(x.sort(1).values) + x.amax() * 2
    loss.backward()
    return {"loss": loss, "x": x}


TRUTH = {
    "lstm_states": (_lstm_states, ["MkldnnRnnLayerBackward0"]),
    "lstm_batch_first": (_lstm_batch_first, ["MkldnnRnnLayerBackward0"]),
    "custom_two": (_custom_two, ["_BothBackward"]),
    "pool_ties": (_pool_ties, ["MaxPool2DWithIndicesBackward0"]),
    "conv2d_strided": (_conv2d_strided, ["ConvolutionBackward0"]),
    "norm_modules": (_norm_modules, ["NativeLayerNormBackward0", "NativeBatchNormBackward0"]),
    "picks": (_picks, ["GatherBackward0", "IndexSelectBackward0", "EmbeddingBackward0",
                       "SortBackward0", "WhereBackward0", "CumsumBackward0"]),
    "splits": (_splits, ["SplitWithSizesBackward0", "UnbindBackward0", "SplitBackward0"]),
    "ties_and_zeros": (_ties_and_zeros, ["MaxBackward1", "MaxBackward0", "ReluBackward0",
                                         "AbsBackward0", "SortBackward0", "AmaxBackward0"]),
}


@pytest.fixture(scope="module")
def truth_runs():
    cache: dict = {}

    def get(name):
        if name not in cache:
            runs = run_three(TRUTH[name][0])
            assert runs.error is None, runs.error
            cache[name] = [Match(c, g, runs.ref) for c, g in pairs(runs)]
        return cache[name]
    return get


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_every_line_is_true_to_pytorch(name, truth_runs):
    for m in truth_runs(name):
        problems = m.problems + check_explanations(m, max_elements=20)
        assert not problems, report(problems)


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_the_rule_is_shown_for_every_element(name, truth_runs):
    """Not the number alone: the rule's arithmetic matched what autograd sent."""
    for m in truth_runs(name):
        for step in m.graph.steps:
            if step.op not in TRUTH[name][1]:
                continue
            n = max(len(flatten(gi.grad)) for gi in step.grad_inputs if gi.grad is not None)
            for e in range(n):
                kinds = {t.kind for t in step_arithmetic(m.graph, step, e)} - {"fan_in"}
                assert kinds == {"chain"}, (step.op, e, explain_step(m.graph, step, "en", e))


# notes and labels ------------------------------------------------------------------------
def test_tie_notes_say_how_pytorch_splits(truth_runs):
    (m,) = truth_runs("ties_and_zeros")
    texts = {s.op: explain_step(m.graph, s, "en", 0) for s in m.graph.steps}
    assert "2 elements tie for the max: PyTorch shares the gradient evenly" in texts["MaxBackward1"]
    assert "[x[0,0] = max]/2" in texts["MaxBackward1"]
    assert "tie for the max: the gradient goes only to the one at the index max returned, x[0,0]" \
        in texts["MaxBackward0"]
    relu = explain_step(m.graph, next(s for s in m.graph.steps if s.op == "ReluBackward0"), "ko", 1)
    assert "relu'(0) = 0" in relu and "x[0,1]이 정확히 0입니다" in relu
    sort = explain_step(m.graph, next(s for s in m.graph.steps if s.op == "SortBackward0"), "en", 0)
    assert "2 elements of its row equal x[0,0]" in sort


def test_custom_function_named_by_its_class(truth_runs):
    (m,) = truth_runs("custom_two")
    step = next(s for s in m.graph.steps if s.op == "_BothBackward")
    en, ko = explain_step(m.graph, step, "en", 3), explain_step(m.graph, step, "ko", 3)
    assert "∂loss/∂a[1,1] = _Both.backward(ctx, " in en
    assert en.count("_Both is a custom autograd.Function") == 2  # one per output it received
    assert "_Both은(는)" not in ko and "사용자 정의 autograd.Function" in ko


_ID = re.compile(r"(?<![\w.])(t\d+|op\d+)(?![\w])")


def test_labels_are_names_never_ids(truth_runs):
    """A parameter of a module made inline has no name: it prints as its part in the op."""
    x = torch.randn(2, 4, requires_grad=True)
    with gradviz.record() as rec:
        (nn.LSTM(4, 2)(x.reshape(2, 1, 4))[0].sum() + nn.Embedding(3, 2)(torch.tensor([1])).sum() +
         nn.GRU(4, 2)(x.reshape(2, 1, 4))[0].sum()).backward()
    graphs = [rec.graph] + [m.graph for name in ("norm_modules", "picks") for m in truth_runs(name)]
    for g in graphs:
        for s in g.steps:
            for e in (0, 1):
                for lang in ("en", "ko"):
                    text = explain_step(g, s, lang, e)
                    assert not _ID.search(text), text
    texts = "\n".join(s.explanation for s in rec.graph.steps)
    for part in ("LSTM.weight_ih", "LSTM.bias_hh", "Embedding.weight", "GRU.weight", "GRU.bias₂"):
        assert part in texts, part


def test_one_tensor_one_label_in_every_line():
    """A tensor prints the same wherever it appears: as a target, an upstream or inside the
    expression of a tensor made from it."""
    x = torch.randn(5, dtype=D, requires_grad=True)
    with gradviz.record() as rec:
        loss = x.norm(p=1) + 2 * x.norm(p=2)
        loss.backward()
    g = rec.graph
    labels: dict[str, set] = {}
    for s in g.steps:
        for e in range(5):
            for t in step_arithmetic(g, s, e):
                if t.target:
                    labels.setdefault(t.target, set()).add(t.label)
    assert all(len(v) == 1 for v in labels.values()), labels
    texts = "\n".join(s.explanation for s in g.steps)
    two = next(iter(labels[next(k for k, v in labels.items() if "× 2" in next(iter(v)))]))
    assert f"∂loss/∂{two} " in texts and "(norm × 2)" not in texts


def _graph(value, shape, step_shape) -> Graph:
    """y = relu(x) by hand: x's value given (or not), a gradient of step_shape."""
    n = int(torch.Size(shape).numel())
    g = Graph(index=0, root="t0", nodes=[
        Node(id="t0", kind="tensor", name="y", output=True, shape=list(shape), value=None),
        Node(id="op0", kind="op", op="ReluBackward0", forward_op="relu"),
        Node(id="t1", kind="tensor", name="x", shape=list(shape), value=value, op="MulBackward0"),
    ], edges=[Edge("op0", "t0"), Edge("t1", "op0")])
    grad = [0.5] * n
    g.steps = [Step(index=0, node="op0", op="ReluBackward0", grad_outputs=[None],
                    grad_output_summaries=[{"first": grad[:64], "numel": n}],
                    grad_inputs=[GradInput(edge_to="t1", grad=None, shape=list(step_shape),
                                           summary={"first": grad[:64], "numel": n})])]
    return g


def test_missing_values_say_why():
    small = explain_step(_graph(None, (2, 3), (2, 3)), 0, "en", 4)
    assert "values not recorded" in small and "more than 64" not in small
    assert "∂y/∂x[1,1] = ∂y/∂y[1,1] · [x[1,1] > 0] = 0.5" in small
    big = _graph(None, (10, 10), (10, 10))
    assert "more than 64 elements" in explain_step(big, 0, "en", 63)
    past = explain_step(big, 0, "ko", 70)
    assert "—" not in past and "처음 64개 값만 저장합니다" in past and "원소 70에" in past


def test_big_ops_with_several_outputs_show_the_rule():
    """Past 64 elements: the rule and the number autograd sent, the output by its name; an
    element that went to an unused output says so."""
    x = torch.randn(10, 20, requires_grad=True)
    with gradviz.record() as rec:
        a, b = x.split(10, dim=1)
        (b * 2).sum().backward()
    step = next(s for s in rec.graph.steps if s.op == "SplitBackward0")
    used = explain_step(rec.graph, step, "en", 15)
    assert "∂L/∂x[0,15] = ∂L/∂b[0,5] = 2" in used and "more than 64 elements" in used
    unused = explain_step(rec.graph, step, "ko", 3)
    assert "∂L/∂x[0,3] = 0" in unused and "split(x)[0](으)로" not in unused
    assert "어디에도 쓰이지 않았으므로" in unused
