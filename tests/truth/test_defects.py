"""The known defects of issue 14, one test each, judged against the Reference.

A test that fails today is a strict xfail whose reason says what is wrong, with the
numbers seen; it turns into a failure (remove the mark) once gradviz is fixed.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradviz
from gradviz.explain.chain_rule import explain_step
from gradviz.render.html import recording_html

from .compare import (
    Match,
    check_grads,
    check_returned,
    check_steps,
    check_values,
    picture_labels,
    value_mismatch,
)
from .explain_check import check_explanations
from .programs import Cube
from .runs import run_three
from .texts import value_problem
from .truth import matches, pairs, report, runs_of

HERE = Path(__file__).resolve().parent


def xfail(reason: str):
    return pytest.mark.xfail(strict=True, reason=reason)


def one_match(runs) -> Match:
    assert runs.error is None, f"record() raised {type(runs.error).__name__}: {runs.error}"
    assert runs.graphs, "nothing was recorded"
    call, graph = pairs(runs)[0]
    return Match(call, graph, runs.ref)


def assert_true(prog, *checks) -> None:
    """Run prog three ways; every check of its graph finds nothing false."""
    m = one_match(run_three(prog))
    problems = m.problems + [p for check in checks for p in check(m)]
    assert not problems, report(problems)


# 1 ------------------------------------------------------------------------------------------
def _sparse_embedding():
    emb = nn.Embedding(6, 2, sparse=True)
    emb(torch.tensor([0, 4, 4])).sum().backward()
    return {"weight": emb.weight}


def test_item1_sparse_embedding_grad_is_shown():
    runs = run_three(_sparse_embedding)
    m = one_match(runs)
    true = runs.ref_raw["weight"].grad.to_dense()
    leaf = next(n for n in m.graph.nodes if n.is_leaf and n.shape == [6, 2])
    assert value_mismatch(leaf.grad, leaf.grad_summary, true, "emb.weight.grad") is None
    assert runs.rec_out == runs.plain


# 2 ------------------------------------------------------------------------------------------
def _grad_call():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x ** 3).sum()
    (gx,) = torch.autograd.grad(y, x)
    return {"x": x, "gx": gx}


def test_item2_autograd_grad_leaves_results_alone():
    runs = run_three(_grad_call)
    assert runs.rec_out == runs.plain and runs.rec_draw == runs.plain_draw
    assert runs.plain["x"]["grad"] is None  # autograd.grad accumulates nothing


def test_item2_autograd_grad_is_recorded_like_backward():
    runs = run_three(_grad_call)
    call = runs.ref.calls[0]
    assert call.kind == "grad" and len(runs.graphs) == 1, f"{len(runs.graphs)} graphs"
    m = Match(call, runs.graphs[0], runs.ref)
    problems = m.problems + check_values(m) + check_steps(m) + check_returned(m)
    assert not problems, report(problems)
    x = next(n for n in m.graph.nodes if n.name == "x")
    assert x.grad is None, "autograd.grad fills no .grad"


def _jacobian_hessian():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    j = torch.autograd.functional.jacobian(lambda t: t ** 2, x)
    h = torch.autograd.functional.hessian(lambda t: (t ** 3).sum(), x)
    return {"j": j, "h": h}


def test_item2_jacobian_and_hessian_are_recorded():
    runs = run_three(_jacobian_hessian)
    assert runs.rec_out == runs.plain
    assert len(runs.graphs) == len(runs.ref.calls), \
        f"{len(runs.graphs)} graphs for {len(runs.ref.calls)} autograd.grad calls"
    problems = []
    for call, graph in pairs(runs):
        m = Match(call, graph, runs.ref)
        problems += m.problems + check_values(m) + check_steps(m) + check_returned(m)
    assert not problems, report(problems)


def test_item2_double_backward_records_both_calls():
    runs = runs_of("double_backward")
    assert len(runs.graphs) == len(runs.ref.calls), \
        f"{len(runs.graphs)} graphs for {len(runs.ref.calls)} calls (autograd.grad, backward)"
    grad_graph = next(g for g in runs.graphs if g.call == "grad")
    assert grad_graph.iteration is None and grad_graph.returned
    # the first-order gradient is a tensor of the second graph, named and with its value
    second = next(g for g in runs.graphs if g.call == "backward")
    g = second.by_name("g")
    assert g.value == grad_graph.returned[0]["value"] and not g.is_leaf


def test_item2_grad_call_is_said_in_both_languages():
    runs = run_three(_grad_call)
    m = Match(runs.ref.calls[0], runs.graphs[0], runs.ref)
    texts = [(s.explanation, s.explanation_ko) for s in m.graph.steps]
    assert any("autograd.grad" in en and "no .grad" in en and "autograd.grad" in ko
               for en, ko in texts), texts
    problems = check_explanations(m)  # the note's number is checked against the result
    assert not problems, report(problems)


# 3 ------------------------------------------------------------------------------------------
def _changed_after():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    (h * 3).sum().backward()
    with torch.no_grad():
        h.add_(100)
    return {"x": x, "h": h}


def test_item3_value_at_op_time_after_a_later_inplace_change():
    runs = run_three(_changed_after)
    m = one_match(runs)
    h = m.graph.by_name("h")
    says_changed = bool(h.note and re.search(r"chang|in.place", h.note))
    assert says_changed or not check_values(m), report(check_values(m))


# 4 ------------------------------------------------------------------------------------------
def _retain_then_inplace():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    h.mul_(3)
    h.retain_grad()
    (h * h).sum().backward()
    return {"x": x, "h": h}


def test_item4_each_version_shows_its_own_grad():
    assert_true(_retain_then_inplace, check_grads, check_values)


# 5 ------------------------------------------------------------------------------------------
def _leaf_hook():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    w.register_hook(lambda g: g * 10)
    l = (w * 3).sum()
    l.backward()
    return {"l": l, "w": w}


def _inner_hook():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    h = w * 3
    h.register_hook(lambda g: g * 10)
    l = (h * h).sum()
    l.backward()
    return {"l": l, "w": w}


def _module_hooks():
    lin = nn.Linear(2, 1)
    lin.register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 0 + 7,))

    def double(p):
        p.grad.mul_(2)

    lin.weight.register_post_accumulate_grad_hook(double)
    x = torch.tensor([[1.0, 2.0]], requires_grad=True)
    l = lin(x).sum()
    l.backward()
    return {"l": l, "x": x, "weight": lin.weight, "bias": lin.bias}


_HOOK_WORD = re.compile(r"hook|훅")


def test_item5_leaf_hook_effect_in_steps():
    assert_true(_leaf_hook, check_steps)


def test_item5_leaf_hook_is_said():
    m = one_match(run_three(_leaf_hook))
    acc = [s for s in m.graph.steps if s.op == "AccumulateGrad"]
    assert all(_HOOK_WORD.search(s.explanation) and _HOOK_WORD.search(s.explanation_ko) for s in acc)
    assert all("from 3 to 30" in s.explanation for s in acc), [s.explanation for s in acc]
    problems = check_explanations(m)  # the hook note's numbers against autograd's
    assert not problems, report(problems)


def test_item5_intermediate_hook_effect_in_steps():
    assert_true(_inner_hook, check_steps, check_explanations)


def test_item5_intermediate_hook_is_said():
    m = one_match(run_three(_inner_hook))
    after = [s for s in m.graph.steps if s.op == "MulBackward0" and s.grad_outputs == [[60.0, 120.0]]]
    assert after and all(_HOOK_WORD.search(s.explanation) and _HOOK_WORD.search(s.explanation_ko)
                         for s in after)
    assert all("from 6 to 60" in s.explanation for s in after), [s.explanation for s in after]
    others = [s for s in m.graph.steps if s not in after]
    assert not any(_HOOK_WORD.search(s.explanation) for s in others), "a hook said where none ran"


def test_item5_module_and_post_accumulate_hooks_in_steps():
    assert_true(_module_hooks, check_steps, check_grads, check_values)


def test_item5_post_accumulate_hook_is_said():
    m = one_match(run_three(_module_hooks))
    weight = m.graph.by_name("lin.weight")
    step = next(s for s in m.graph.steps if s.op == "AccumulateGrad" and s.node == weight.id)
    assert _HOOK_WORD.search(step.explanation) and _HOOK_WORD.search(step.explanation_ko)
    module = [s for s in m.graph.steps if s.op == "BackwardHookFunctionBackward"
              and "register_full_backward_hook" in s.explanation]
    assert len(module) == 1, "the module hook that made x's gradient 7 is not said"
    problems = check_explanations(m)
    assert not problems, report(problems)


# 6 ------------------------------------------------------------------------------------------
_BIG_NOTE = "says more than 64 elements"


@pytest.mark.parametrize("name", ["l1", "cross_entropy_probs", "cross_entropy_smoothing", "dropout",
                                  "custom_function", "rnn", "lstm", "gru", "attention",
                                  "transformer", "double_backward"])
def test_item6_no_false_more_than_64_note(name):
    problems = [p for m in matches(name) for p in check_explanations(m) if _BIG_NOTE in p]
    assert not problems, report(problems)


# 8 ------------------------------------------------------------------------------------------
def _fed_ops(m: Match, name: str) -> list[str]:
    """The ops gradviz wires the constant called `name` into."""
    ids = {n.id for n in m.graph.nodes if n.constant and n.name == name}
    assert ids, f"no constant node named {name}"
    return [e.dst for e in m.graph.edges if e.src in ids]


def _wiring_problems(runs, names: list[str]) -> list[str]:
    m = one_match(runs)
    op_of = {gid: k for k, gid in m.op_of.items()}
    out = []
    for name in names:
        truth = runs.ref.consumers(runs.ref_raw[name])
        true_ops = [m.op_of.get(m.call.index(fn)) for fn in truth]
        for gid in _fed_ops(m, name):
            k = op_of.get(gid)
            cls = m.call.nodes[k].cls if k is not None else "?"
            if gid not in true_ops:
                out.append(f"{name} drawn into {gid} {cls}; torch read it in "
                           f"{[type(fn).__name__ for fn in truth]}")
    return out


def _smoothing():
    logits = torch.randn(3, 4, requires_grad=True)
    target = torch.tensor([0, 3, 1])
    F.cross_entropy(logits, target, label_smoothing=0.1).backward()
    return {"logits": logits, "target": target}


def _l1_target():
    x = torch.randn(2, 3, requires_grad=True)
    target = torch.randn(2, 3)
    F.l1_loss(x, target).backward()
    return {"x": x, "target": target}


def _rnn_inputs():
    rnn = nn.RNN(2, 3)
    x, h0 = torch.randn(4, 1, 2), torch.randn(1, 1, 3)
    out, _ = rnn(x, h0)
    out.sum().backward()
    return {"x": x, "h0": h0}


def _transformer_input():
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0)
    src = torch.randn(3, 1, 4)
    layer(src).sum().backward()
    return {"src": src}


@pytest.mark.parametrize("prog,names", [
    pytest.param(_smoothing, ["target"], id="label_smoothing_target"),
    pytest.param(_l1_target, ["target"], id="l1_target"),
    pytest.param(_rnn_inputs, ["x", "h0"], id="rnn_input_h0"),
    pytest.param(_transformer_input, ["src"], id="transformer_input"),
])
def test_item8_constants_wired_to_the_op_that_read_them(prog, names):
    problems = _wiring_problems(run_three(prog), names)
    assert not problems, report(problems)


# 9 ------------------------------------------------------------------------------------------
def test_item9_big_tensors_print_the_number_autograd_sent():
    problems = [p for m in matches("big") for p in check_explanations(m)
                if "prints no number" in p or "prints —" in p]
    assert not problems, report(problems)


# 10 -----------------------------------------------------------------------------------------
def _max_tie():
    x = torch.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    x.max().backward()
    return {"x": x}


def _max_dim_tie():
    x = torch.tensor([[1.0, 3.0, 0.0], [2.0, 0.0, 2.0]], requires_grad=True)
    v, _ = x.max(dim=1)
    v.sum().backward()
    return {"x": x}


def _bracket_problems(m: Match) -> list[str]:
    """`[x[j] = max]` printed as a factor: it must be 1 exactly where x[j] is its row's max."""
    x = m.call.leaf_value[next(k for k, n in enumerate(m.call.nodes) if n.leaf is not None)]
    out = []
    for k, s in enumerate(m.graph.steps):
        if not s.op.startswith("Max"):
            continue
        for e in range(x.numel()):
            for line in explain_step(m.graph, s, "en", e).split("\n"):
                hit = re.search(r"\[x\[([\d,]+)\] = max\](?:/(\d+))?(?: = [^=]* · (\S+)| = (\S+)$)",
                                line)
                if not hit:
                    continue
                j = tuple(int(v) for v in hit.group(1).split(","))
                row = x[j[0]] if len(j) == 2 else x
                is_max = float(x[j] == row.max())
                ties = int((row == row.max()).sum())
                printed = float(hit.group(3) or hit.group(4)) * int(hit.group(2) or 1)
                if printed != is_max or (hit.group(2) and int(hit.group(2)) != ties):
                    out.append(f"{line!r}: x{list(j)} = {float(x[j])}; {ties} elements of "
                               f"{row.tolist()} are its max")
    return out


def test_item10_max_tie_marks_are_true():
    m = one_match(run_three(_max_tie))
    problems = _bracket_problems(m) + check_explanations(m, langs=("en",))
    problems = [p for p in problems if "goes to one element" not in p]
    assert not problems, report(problems)


def test_item10_max_tie_note_is_true():
    problems = [p for p in check_explanations(one_match(run_three(_max_tie))) if "note" in p]
    assert not problems, report(problems)


def test_item10_max_dim_tie_marks_are_true():
    m = one_match(run_three(_max_dim_tie))
    problems = _bracket_problems(m) + check_explanations(m)
    assert not problems, report(problems)


# 11 -----------------------------------------------------------------------------------------
def _f_box(m: Match) -> tuple[str, int, float]:
    f = m.graph.by_name("f")
    t = m.retained_tensor(f.id)
    k = next(i for i, h in enumerate(m.call.steps) if h.node == m.call.index(t.grad_fn))
    return f.id, k, float(m.call.retained_after[id(t)])


def test_item11_lesson2_f_box_in_step_pictures():
    m = matches("lesson2")[0]
    fid, k, true = _f_box(m)
    for step in range(k, len(m.graph.steps)):
        _, cells = picture_labels(m.graph.dot(step=step))
        assert value_problem(cells[fid], true) is None and cells[fid] != "—", \
            f"picture {step}: f shows grad {cells[fid]!r}, f.grad is {true:g}"


def test_item11_lesson2_f_grad_in_html_stepper_data():
    m = matches("lesson2")[0]
    fid, k, true = _f_box(m)
    page = recording_html(runs_of("lesson2").rec)
    data = json.loads(re.search(r'<script type="application/json" id="gv-data">(.*?)</script>',
                                page, re.DOTALL).group(1))
    for i, step in enumerate(data["graphs"][0]["steps"]):
        shown = dict(step["grads"]).get(fid)
        if i < k:
            assert shown is None, f"step {i}: f.grad {shown!r} before it is filled"
        else:
            assert shown is not None and value_problem(shown, true) is None, f"step {i}: {shown!r}"


# 14 -----------------------------------------------------------------------------------------
class LightningLike(nn.Module):
    """A LightningModule's shape: the learner writes training_step, a library loop calls it."""

    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(4, 3), nn.LogSoftmax(dim=1))
        self.loss = nn.NLLLoss()

    def training_step(self, batch):
        x, y = batch
        return self.loss(self.model(x), y)


@pytest.fixture(scope="module")
def lightning_graph(tmp_path_factory):
    """One step of the library loop in site-packages/minilightning, run from another folder
    (as an installed library is)."""
    import os

    sys.path.insert(0, str(HERE / "site-packages"))
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("elsewhere"))
    try:
        import minilightning

        torch.manual_seed(0)
        module = LightningLike()
        batches = [(torch.randn(5, 4), torch.tensor([0, 2, 1, 1, 0]))]
        with gradviz.record() as rec:
            minilightning.fit(module, batches, torch.optim.SGD(module.parameters(), lr=0.1))
    finally:
        os.chdir(cwd)
        sys.path.remove(str(HERE / "site-packages"))
    return rec.graph


def test_item14_batch_is_named_x(lightning_graph):
    names = [n.name for n in lightning_graph.nodes if n.kind == "tensor"]
    assert "x" in names, names


def test_item14_weights_are_named_from_self(lightning_graph):
    names = [n.name for n in lightning_graph.nodes if n.kind == "tensor"]
    assert "model.0.weight" in names, names


def test_item14_nll_ignore_index(lightning_graph):
    dot = lightning_graph.dot()
    assert "ignore_index=-100" in dot and "18446744073709551516" not in dot


# 15 -----------------------------------------------------------------------------------------
def _x24():
    return torch.randn(2, 4, requires_grad=True)


_IDX = torch.tensor([[0, 2], [1, 3]])
_OPS = {
    "convolution": lambda x: F.conv1d(x.reshape(1, 2, 4), torch.ones(1, 2, 2)),
    "max_pool": lambda x: F.max_pool1d(x.reshape(1, 2, 4), 2),
    "avg_pool": lambda x: F.avg_pool1d(x.reshape(1, 2, 4), 2),
    "layer_norm": lambda x: F.layer_norm(x, (4,)),
    "batch_norm": lambda x: F.batch_norm(x, None, None, training=True),
    "embedding": lambda x: F.embedding(torch.tensor([1, 0]), x),
    "gather": lambda x: x.gather(1, _IDX),
    "scatter_add": lambda x: torch.zeros(2, 4).scatter_add(1, _IDX, x[:, :2]),
    "index_select": lambda x: x.index_select(1, torch.tensor([0, 3])),
    "advanced_indexing": lambda x: x[[0, 1], [1, 2]],
    "sort": lambda x: x.sort(dim=1).values,
    "topk": lambda x: x.topk(2, dim=1).values,
    "cumsum": lambda x: x.cumsum(1),
    "prod": lambda x: x.prod(1),
    "where": lambda x: torch.where(x > 0, x, torch.zeros(2, 4)),
    "masked_fill": lambda x: x.masked_fill(x < 0, 0.0),
    "split": lambda x: x.split(2, dim=1)[1],
    "unbind": lambda x: x.unbind(0)[1],
    "chunk": lambda x: x.chunk(2, 1)[0],
    "lstm": lambda x: nn.LSTM(4, 2)(x.reshape(2, 1, 4))[0],
    "gru": lambda x: nn.GRU(4, 2)(x.reshape(2, 1, 4))[0],
    "custom_function": lambda x: Cube.apply(x),
}
_NO_FORMULA = re.compile(r"\(no formula for this op here|이 연산의 공식은 준비되지 않았습니다")


def _op_program(op):
    def prog():
        x = _x24()
        y = _OPS[op](x)
        loss = (y * (torch.arange(y.numel()).reshape(y.shape) / 5 - 0.3)).sum()
        loss.backward()
        return {"loss": loss, "x": x}
    return prog


@pytest.mark.parametrize("op", list(_OPS))
def test_item15_formula_exists(op):
    m = one_match(run_three(_op_program(op)))
    generic = [(s.op, t.splitlines()[0][:80]) for s in m.graph.steps
               for t in (s.explanation, s.explanation_ko) if _NO_FORMULA.search(t)]
    assert not generic, generic
    problems = check_explanations(m)
    assert not problems, report(problems)


# 16 -----------------------------------------------------------------------------------------
def _matmul_1d():
    x = torch.randn(3)
    w = torch.randn(3, 2, requires_grad=True)
    torch.matmul(x, w).sum().backward()
    return {"x": x, "w": w}


def test_item16_matmul_1d_input_wired_into_mm():
    problems = _wiring_problems(run_three(_matmul_1d), ["x"])
    assert not problems, report(problems)


def _linear_no_bias():
    lin = nn.Linear(3, 2, bias=False)
    lin(torch.randn(4, 3)).sum().backward()
    return {"weight": lin.weight}


def test_item16_bias_free_linear_has_no_plus_b():
    m = one_match(run_three(_linear_no_bias))
    assert "ᵀ+b" not in m.graph.dot() and "W+b" not in m.graph.dot()


def _computed_constants():
    x = torch.randn(4, 3)
    w = torch.randn(4, 3, requires_grad=True)
    (w * x ** 2 + w * x ** 3).sum().backward()
    return {"w": w}


def test_item16_computed_constants_are_told_apart():
    m = one_match(run_three(_computed_constants))
    labels = [n.label for n in m.graph.nodes if n.constant and n.shape == [4, 3]]
    assert len(labels) == 2 and len(set(labels)) == 2 and "const" not in labels, labels


# 17 -----------------------------------------------------------------------------------------
def _internal_values():
    logits = torch.randn(3, 4, requires_grad=True)
    emb = nn.Embedding(5, 2)
    loss = F.cross_entropy(logits, torch.tensor([0, -1, 2]), ignore_index=-1, reduction="sum") \
        + emb(torch.tensor([1, 2])).sum() + F.mse_loss(logits, torch.zeros(3, 4))
    loss.backward()
    return {"loss": loss}


@pytest.fixture(scope="module")
def internal_graph():
    return one_match(run_three(_internal_values)).graph


def _op_texts(graph) -> str:
    dot = graph.dot()
    return dot + json.dumps([n.attrs for n in graph.nodes if n.kind == "op"])


def test_item17_ignore_index_as_written(internal_graph):
    text = _op_texts(internal_graph)
    assert "ignore_index=-1" in text and not re.search(r"1844674407370955\d{4}", text)


def test_item17_padding_idx_not_unsigned(internal_graph):
    emb = [n for n in internal_graph.nodes if n.op == "EmbeddingBackward0" and n.kind == "op"]
    assert emb and all(n.attrs.get("padding_idx") in (None, -1) for n in emb), \
        [n.attrs for n in emb]


def test_item17_reduction_in_words(internal_graph):
    text = internal_graph.dot()
    assert not re.search(r"reduction=\d", text), re.findall(r"reduction=\w+", text)


def test_item17_no_sym_attribute_names(internal_graph):
    assert "_sym_" not in _op_texts(internal_graph)
