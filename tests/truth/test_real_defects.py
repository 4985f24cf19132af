"""Defects found by running real scripts (tests/real), one test each, judged against PyTorch."""
from __future__ import annotations

import functools
import re
from typing import Any

import torch

import gradviz


class Legendre3(torch.autograd.Function):
    """As in PyTorch's examples_autograd tutorial (written again here, not copied)."""

    @staticmethod
    def forward(ctx, t):
        ctx.save_for_backward(t)
        return 0.5 * (5 * t ** 3 - 3 * t)

    @staticmethod
    def backward(ctx, g):
        (t,) = ctx.saved_tensors
        return g * 1.5 * (5 * t ** 2 - 1)


def test_unnamed_custom_function_output_shows_its_value():
    """`b * P3(c + d * x)`: the Function's output has no name; its box said 'value not kept:
    use gradviz.record()' inside record(). It shows the value PyTorch computed."""
    x = torch.linspace(-1.0, 1.0, 5)
    d = torch.tensor(0.3, requires_grad=True)
    b = torch.tensor(-1.0, requires_grad=True)
    with torch.no_grad():
        true = Legendre3.apply(d * x).clone()
    with gradviz.record() as rec:
        for _ in range(2):
            (b * Legendre3.apply(d * x)).sum().backward()
    graph = rec.graphs[0]
    node = next(n for n in graph.nodes if n.kind == "tensor" and n.op == "Legendre3Backward")
    assert node.note is None, node.note
    assert torch.equal(torch.tensor(node.value), true)
    assert not any("use gradviz.record()" in str(n.note) for n in graph.nodes)


def test_function_apply_is_put_back():
    before = torch.autograd.Function.__dict__["apply"]
    with gradviz.record():
        Legendre3.apply(torch.ones(2, requires_grad=True)).sum().backward()
    assert torch.autograd.Function.__dict__["apply"] is before


def test_freed_temporaries_are_not_called_const():
    """`torch.exp(c * 2) * x`: c * 2 is freed before the graph is drawn; the constant exp(c*2)
    was labelled 'const'. It is labelled by how it was computed, with the value PyTorch made."""
    x = torch.tensor([0.5, 1.0], requires_grad=True)
    c = torch.tensor([1.0, 2.0])
    with gradviz.record() as rec:
        y = torch.exp(c * 2) * x
        (y + torch.sin(torch.exp(c) + 1)).sum().backward()
    consts = {n.label: n for n in rec.graphs[0].nodes if n.kind == "tensor" and n.constant}
    assert set(consts) == {"exp(c*2)", "sin(exp(c)+1)"}, sorted(consts)
    assert torch.equal(torch.tensor(consts["exp(c*2)"].value), torch.exp(c * 2))
    assert torch.equal(torch.tensor(consts["sin(exp(c)+1)"].value), torch.sin(torch.exp(c) + 1))


def _f(x):
    return x ** 2 * torch.sin(x)


def test_vectorized_jacobian_and_hessian_are_recorded():
    """jacobian(vectorize=True) calls autograd.grad batched; it was not recorded at all (the
    note said the code never called backward()). Its graph is drawn, what it returned equals
    PyTorch's own jacobian / hessian, and a note says the steps are not shown."""
    from torch.autograd.functional import hessian, jacobian

    x = torch.tensor([0.5, 1.0, 2.0])
    true_j = jacobian(_f, x)
    true_h = hessian(lambda t: _f(t).sum(), x)
    with gradviz.record() as rec:
        j = jacobian(_f, x, vectorize=True)
        h = hessian(lambda t: _f(t).sum(), x, vectorize=True)
    assert torch.equal(j, true_j) and torch.equal(h, true_h)  # the user's results unchanged
    batched = [g for g in rec.graphs if g.call == "grad" and not g.steps]
    assert len(batched) == 2, [(g.title, len(g.steps)) for g in rec.graphs]
    for g, true in zip(batched, (true_j, true_h)):
        (ret,) = g.returned
        assert torch.equal(torch.tensor(ret["value"]), true) and ret["shape"] == list(true.shape)
        assert any("is_grads_batched=True" in n for n in g.notes), g.notes
        x_node = g.node(ret["node"])
        assert x_node.value == x.tolist()


def test_computed_constant_with_a_shape_argument():
    """A tuple among an op's arguments (reshape((4,))) is no tensor operand: it is printed."""
    x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    c = torch.arange(4.0)
    with gradviz.record() as rec:
        k = c.reshape((2, 2)) * 2
        (x.reshape(2, 2) * k.reshape((4,)).reshape((2, 2))).sum().backward()
    assert not rec.notes, rec.notes
    (const,) = [n for n in rec.graphs[0].nodes if n.constant]
    assert const.label == "reshape(reshape(k, (4,)), (2, 2))"
    assert torch.equal(torch.tensor(const.value), (c * 2).reshape(2, 2))


def _counted() -> Any:
    """torch.autograd.grad itself, counting the calls that reach it (the truth for the note)."""
    original = torch.autograd.grad

    @functools.wraps(original)
    def grad(*args: Any, **kwargs: Any) -> Any:
        # under a TorchFunctionMode torch's grad calls torch.autograd.grad once more (the
        # same call, through handle_torch_function): count the call once
        grad.calls += not grad.depth
        grad.depth += 1
        try:
            return original(*args, **kwargs)
        finally:
            grad.depth -= 1

    grad.calls, grad.depth, grad.original = 0, 0, original
    return grad


def _checks(x: torch.Tensor, bad: bool = False) -> tuple:
    fn = _Wrong.apply if bad else Legendre3.apply
    return (torch.autograd.gradcheck(fn, x, raise_exception=False),
            torch.autograd.gradgradcheck(Legendre3.apply, x))


class _Wrong(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t):
        return t * 2

    @staticmethod
    def backward(ctx, g):
        return g * 3


def test_gradcheck_calls_are_not_drawn_as_the_learners():
    """gradcheck/gradgradcheck make many autograd.grad calls inside torch: they were drawn as
    'torch.autograd.grad call 1..20' though the learner wrote none. Now one note per check
    says it ran, what it answered and how many grad calls it made (counted at torch's own
    function); the learner's own grad call after it is call 1."""
    x = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64, requires_grad=True)
    counter = _counted()
    torch.autograd.grad = counter
    try:
        plain = [_checks(x), _checks(x, bad=True)]
        truth, counter.calls = counter.calls, 0
        with gradviz.record() as rec:
            seen = [_checks(x), _checks(x, bad=True)]
            (g,) = torch.autograd.grad(Legendre3.apply(x).sum(), x)
        recorded_calls = counter.calls - 1
    finally:
        torch.autograd.grad = counter.original
    assert seen == plain == [(True, True), (False, True)]
    assert recorded_calls == truth > 20
    assert [(gr.call, gr.title) for gr in rec.graphs] == [("grad", "torch.autograd.grad call 1")]
    notes = [n for n in rec.notes if "gradcheck" in n]
    assert len(notes) == 2, rec.notes
    said = dict(re.match(r"(torch\.autograd\.\w+) on line \d+ ran 2 time\(s\) and answered (.*?)\. .* "
                         r"it made (\d+) torch", n).group(1, 3) for n in notes)
    assert sum(int(v) for v in said.values()) == truth
    assert "answered True / False." in notes[0] and "answered True." in notes[1]
    torch.testing.assert_close(g, 1.5 * (5 * x.detach() ** 2 - 1), rtol=0, atol=1e-12)
