"""Random small expression graphs: every recorded leaf grad equals torch.autograd.grad."""
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradviz

UNARY = ["exp", "sum", "mean", "pow2", "neg"]
BINARY = ["add", "sub", "mul", "div", "matmul"]


def apply(op, a, b=None):
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / (b.abs() + 1.0)
    if op == "matmul":
        return a @ b
    if op == "exp":
        return (a * 0.1).exp()
    if op == "sum":
        return a.sum()
    if op == "mean":
        return a.mean()
    if op == "pow2":
        return a ** 2
    if op == "neg":
        return -a
    raise ValueError(op)


@st.composite
def programs(draw):
    n, m = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    n_leaves = draw(st.integers(1, 3))
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(UNARY)), draw(st.integers(0, 99)), None))
        else:
            steps.append((draw(st.sampled_from(BINARY)), draw(st.integers(0, 99)),
                          draw(st.integers(0, 99))))
    seed = draw(st.integers(0, 2**16))
    return n, m, n_leaves, steps, seed


def evaluate(program, leaves):
    n, m, _, steps, _ = program
    pool = list(leaves)
    for op, i, j in steps:
        a = pool[i % len(pool)]
        if j is None:
            pool.append(apply(op, a))
            continue
        b = pool[j % len(pool)]
        if op == "matmul":
            if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
                b = torch.ones(a.shape[-1] if a.dim() else 1, 2, dtype=a.dtype) if a.dim() == 2 else None
                if b is None:
                    pool.append(a * 2)
                    continue
        elif a.shape != b.shape and a.dim() and b.dim():
            b = b.sum()  # keep shapes compatible: broadcast a scalar
        pool.append(apply(op, a, b))
    return pool[-1].sum() if pool[-1].dim() else pool[-1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_recorded_leaf_grads_equal_autograd(program):
    n, m, n_leaves, _, seed = program
    g = torch.Generator().manual_seed(seed)
    leaves = [torch.randn(n, m, generator=g, dtype=torch.float64, requires_grad=True)
              for _ in range(n_leaves)]
    expected = torch.autograd.grad(evaluate(program, leaves), leaves, allow_unused=True)
    for i in range(len(leaves)):  # (a loop variable would name the last leaf `leaf`)
        leaves[i].grad = None
    with gradviz.record() as rec:
        out = evaluate(program, leaves)
        out.backward()
    graph = rec.graph
    leaf_nodes = {n.name: n for n in graph.nodes if n.is_leaf and n.requires_grad}
    for i, (leaf, want) in enumerate(zip(leaves, expected)):
        if want is None:
            continue
        node = leaf_nodes.get(f"leaves[{i}]")
        assert node is not None, [n.label for n in graph.nodes]
        got = torch.tensor(node.grad, dtype=torch.float64)
        assert torch.allclose(got, want, rtol=1e-9, atol=1e-12), (node.grad, want)
    assert graph.by_name("out").value == out.item() or abs(graph.by_name("out").value - out.item()) < 1e-9
