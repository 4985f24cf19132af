"""Fuzzing: random op graphs recorded in-process, random and broken sources through the runner.

1. hypothesis writes small random PyTorch programs (mixed shapes, broadcasting,
   reused tensors, views, legal in-place ops, matmul, reductions), runs each once
   plainly and once under gradviz.record(), and checks that the recording equals
   PyTorch: every leaf's grad, every value, and the gradient each tensor received
   in the recorded backward steps (against retain_grad in the plain run). The
   recorder must never raise.
2. The lesson scripts in examples/, truncated at random points and with bytes
   mutated, go through gradviz.runner.execute (in-process, for the bulk) and a
   few through `gradviz render`: always a clean end with a message, never a hang
   or a traceback from gradviz.
"""
import json
import random
import signal
import subprocess
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gradviz
from conftest import LESSONS_DIR, gradviz_cmd
from gradviz.runner import execute

SHAPES = [(), (3,), (1, 3), (2, 1), (2, 3)]

# Expression templates: {a} and {b} are names of tensors already in the pool.
UNARY = {
    "exp": "({a} * 0.5).exp()", "tanh": "{a}.tanh()", "sigmoid": "torch.sigmoid({a})",
    "relu": "torch.relu({a})", "square": "{a} ** 2", "neg": "-{a}", "sin": "{a}.sin()",
    "abs": "{a}.abs()", "sqrt": "(({a} ** 2) + 1).sqrt()", "clamp": "{a}.clamp(-0.5, 0.5)",
    "scale": "{a} * 3", "rsub": "1 - {a}", "div_const": "{a} / 4",
}
REDUCE = {
    "sum": "{a}.sum()", "mean": "{a}.mean()", "sum_last": "{a}.sum(dim=-1, keepdim=True)",
    "max": "{a}.max()", "mean0": "{a}.mean(0)",
}
VIEW = {
    "t": "{a}.t()", "unsqueeze": "{a}.unsqueeze(0)", "flat": "{a}.reshape(-1)",
    "index": "{a}[0]", "slice": "{a}[..., :1]", "expand": "{a}.expand(2, 3)",
    "transpose": "{a}.transpose(0, 1)", "view": "{a}.view(-1)",
}
BINARY = {
    "add": "{a} + {b}", "sub": "{a} - {b}", "mul": "{a} * {b}", "div": "{a} / ({b}.abs() + 1)",
    "maximum": "torch.maximum({a}, {b})", "where": "torch.where({a} > 0, {a}, {b})",
    "matmul": "{a} @ {b}", "pow": "{a}.abs() ** ({b} * 0.1)",
}
# In-place ops where they are legal: always on a fresh copy that nothing has saved yet.
INPLACE = {
    "add_": "{k} = {a}.clone()\n{k}.add_({b})",
    "mul_": "{k} = {a} * 1.0\n{k}.mul_(2.0)",
    "sub_": "{k} = {a}.clone()\n{k} -= {b}",
    "setitem": "{k} = {a}.clone()\n{k}[..., :1] = {b}.sum()",
    "view_mul_": "{k} = {a}.clone()\n{k}[..., :1].mul_(3.0)",
    "sigmoid_": "{k} = {a}.clone()\n{k}.sigmoid_()",
}
KINDS = ([("unary", k) for k in UNARY] + [("reduce", k) for k in REDUCE]
         + [("view", k) for k in VIEW] + [("binary", k) for k in BINARY] * 2
         + [("inplace", k) for k in INPLACE])


@st.composite
def programs(draw):
    shapes = [draw(st.sampled_from(SHAPES)) for _ in range(draw(st.integers(1, 3)))]
    steps = draw(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 99), st.integers(0, 99)),
                          min_size=1, max_size=8))
    constant = draw(st.sampled_from([None] + SHAPES))  # a tensor without requires_grad
    extra = draw(st.integers(0, 99))
    seed = draw(st.integers(0, 2**16))
    return shapes, steps, constant, extra, seed


def make_leaves(shapes, constant, seed) -> dict:
    g = torch.Generator().manual_seed(seed)
    ns = {f"x{i}": torch.randn(s, generator=g, dtype=torch.float64).requires_grad_()
          for i, s in enumerate(shapes)}
    if constant is not None:
        ns["c0"] = torch.randn(constant, generator=g, dtype=torch.float64)
    return ns


def materialize(program) -> tuple[str, set[str]]:
    """The program as source text, keeping only the steps PyTorch accepts here.

    Returns (source, names changed in place). Shapes are checked by running each
    step on the real leaves; nothing from that run is kept.
    """
    shapes, steps, constant, extra, seed = program
    ns = {"torch": torch, **make_leaves(shapes, constant, seed)}
    pool = [k for k in ns if k != "torch"]
    lines, inplace = [], set()
    for (kind, op), i, j in steps:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        k = f"t{len(lines)}"
        if kind == "inplace":
            code = INPLACE[op].format(k=k, a=a, b=b)
        else:
            table = {"unary": UNARY, "reduce": REDUCE, "view": VIEW, "binary": BINARY}[kind]
            code = f"{k} = " + table[op].format(a=a, b=b)
        trial = dict(ns)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(code, trial)
        except (RuntimeError, IndexError, ValueError):
            continue
        t = trial[k]
        if t.dim() > 3 or t.numel() > 24:
            continue
        ns[k] = t
        lines.append(code)
        pool.append(k)
        if kind == "inplace":
            inplace.add(k)
    last = pool[-1]
    other = pool[extra % len(pool)]
    loss = f"loss = {last}.sum() + ({other} * 0.5).mean()"
    trial = dict(ns)
    exec(loss, trial)
    if not trial["loss"].requires_grad:
        loss += " + x0.sum()"
    lines.append(loss)
    return "\n".join(lines) + "\n", inplace


def arr(v) -> np.ndarray:
    return np.asarray(v, dtype=np.float64)


def close(got, want: torch.Tensor) -> bool:
    want = want.detach().numpy()
    got = arr(got)
    return got.shape == want.shape and np.allclose(got, want, rtol=1e-7, atol=1e-9, equal_nan=True)


@settings(max_examples=500, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(programs())
def test_recorded_graph_equals_pytorch(program):
    shapes, _, constant, _, seed = program
    source, inplace = materialize(program)
    code = compile(source + "loss.backward()\n", "<fuzz>", "exec")

    # plain PyTorch: the reference, with every intermediate's grad retained
    ref = {"torch": torch, **make_leaves(shapes, constant, seed)}
    ref_src = "\n".join(
        line + (f"\nif {line.split(' =')[0]}.requires_grad and not {line.split(' =')[0]}.is_leaf: "
                f"{line.split(' =')[0]}.retain_grad()" if line.startswith("t") and " = " in line else "")
        for line in source.splitlines())
    try:
        exec(compile(ref_src, "<fuzz-ref>", "exec"), ref)
        ref["loss"].backward()
    except RuntimeError:
        assume(False)  # not a legal program after all: nothing to compare
    leaves = [k for k in ref if k.startswith("x")]

    # the same program under gradviz
    ns = {"torch": torch, **make_leaves(shapes, constant, seed)}
    with gradviz.record() as rec:
        exec(code, ns)  # backward() runs in the program's own frame, where its names live
    assert rec.error is None
    assert len(rec.graphs) == 1, source
    g = rec.graphs[0]
    by_name: dict[str, list] = {}
    for n in g.nodes:
        if n.kind == "tensor" and n.name:
            by_name.setdefault(n.name, []).append(n)

    # the output
    (root,) = by_name["loss"]
    assert root.output and abs(root.value - ns["loss"].item()) < 1e-9, source

    # leaf grads equal PyTorch's (and the live .grad of the recorded run)
    for x in leaves:
        want = ref[x].grad
        nodes = by_name.get(x, [])
        if want is None:
            assert not nodes or nodes[0].grad is None, (x, source)
            continue
        assert len(nodes) == 1, (x, source, [n.label for n in g.nodes])
        assert close(nodes[0].grad, want), (x, nodes[0].grad, want, source)
        assert close(nodes[0].grad, ns[x].grad), (x, source)
        assert close(nodes[0].value, ref[x]), (x, source)

    # values and the gradient each intermediate received in the recorded steps
    changed = set(inplace)
    for name, nodes in by_name.items():
        if not name.startswith("t") or len(nodes) != 1 or name in changed:
            continue
        node = nodes[0]
        if node.value is not None:
            assert close(node.value, ref[name]), (name, node.value, ref[name], source)
        want = ref[name].grad
        if want is None or node.constant:
            continue
        arrived = [gi.grad for s in g.steps for gi in s.grad_inputs if gi.edge_to == node.id]
        assert arrived, (name, source)
        total = sum(arr(a) for a in arrived)
        assert close(total, want), (name, total, want, source)

    # AccumulateGrad steps: the leaf's grad before (None) and after
    for s in g.steps:
        if s.op == "AccumulateGrad":
            leaf = g.node(s.node)
            assert s.grad_before is None and close(s.grad_after, ns[leaf.name].grad), source


def test_fuzz_generator_covers_the_features():
    """The generator really makes broadcasting, views, in-place ops and reuse."""
    rnd = random.Random(0)
    seen = set()
    for _ in range(300):
        steps = [((rnd.choice(KINDS)), rnd.randrange(100), rnd.randrange(100)) for _ in range(6)]
        prog = ([rnd.choice(SHAPES) for _ in range(rnd.randint(1, 3))], steps,
                rnd.choice([None] + SHAPES), rnd.randrange(100), rnd.randrange(2**16))
        source, inplace = materialize(prog)
        for key in ("add_(", "[..., :1] =", ".t()", "[0]", "@", "expand", "-= ", "c0"):
            if key in source:
                seen.add(key)
        if inplace:
            seen.add("inplace")
    assert seen >= {"add_(", "[..., :1] =", ".t()", "[0]", "@", "expand", "-= ", "c0", "inplace"}


# --- random and broken sources -----------------------------------------------------------------

def mutants(count: int, seed: int) -> list[tuple[str, bytes]]:
    """Lesson scripts cut at random points, with bytes flipped, lines dropped or doubled."""
    rnd = random.Random(seed)
    lessons = sorted(p for p in LESSONS_DIR.glob("*.py") if p.name[:2] in QUICK)
    out = []
    for k in range(count):
        src = rnd.choice(lessons).read_bytes()
        how = k % 4
        if how == 0:  # truncated
            data = src[: rnd.randrange(len(src) + 1)]
        elif how == 1:  # bytes mutated
            b = bytearray(src)
            for _ in range(rnd.randint(1, 8)):
                b[rnd.randrange(len(b))] = rnd.randrange(256)
            data = bytes(b)
        elif how == 2:  # lines dropped or doubled
            lines = src.splitlines(keepends=True)
            i = rnd.randrange(len(lines))
            lines[i:i + 1] = [] if rnd.random() < 0.5 else [lines[i], lines[i]]
            data = b"".join(lines)
        else:  # truncated in the middle of a line, then a random tail
            cut = rnd.randrange(len(src) + 1)
            data = src[:cut] + bytes(rnd.randrange(32, 127) for _ in range(rnd.randint(0, 12)))
        out.append((f"mutant_{k:03d}_{how}.py", data))
    return out


# the lessons that run in a second or two (the training lessons take longer)
QUICK = ("01", "02", "03", "04", "05", "06", "07")


class Stuck(Exception):
    pass


def _stuck(signum, frame):
    raise Stuck("a mutant ran too long")


@pytest.mark.parametrize("seed", [1, 2])
def test_mutated_lessons_in_process(tmp_path, seed, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old = signal.signal(signal.SIGALRM, _stuck)
    try:
        for name, data in mutants(40, seed):
            path = tmp_path / name
            path.write_bytes(data)
            signal.setitimer(signal.ITIMER_REAL, 30)  # a mutant that loops stops as its own error
            try:
                rec = execute(path, [], max_graphs=3)
            except Exception as e:  # the runner itself must never raise for a user's script
                pytest.fail(f"{name}: execute raised {type(e).__name__}: {e}")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            check_recording(name, rec)
    finally:
        signal.signal(signal.SIGALRM, old)


def check_recording(name, rec):
    if rec.error is not None:
        assert rec.error.type and rec.error.message is not None, name
        assert rec.error.line is None or rec.error.line >= 1
    json.loads(rec.to_json())  # the recording is always plain, valid JSON


def test_mutated_lessons_through_the_cli(tmp_path):
    for name, data in mutants(4, 7):
        path = tmp_path / name
        path.write_bytes(data)
        r = subprocess.run(gradviz_cmd() + ["render", str(path), "-o", str(tmp_path / "out"),
                                            "-f", "json", "--timeout", "60"],
                           capture_output=True, text=True, timeout=180)
        assert r.returncode in (0, 1), (name, r.returncode, r.stderr)
        assert "Traceback" not in r.stderr, (name, r.stderr)
        if r.returncode == 1:
            assert "error: " in r.stderr, (name, r.stderr)
        assert not list((tmp_path / "out").glob("*.part"))


def test_value_before_an_inplace_op_is_the_value_then():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with gradviz.record() as rec:
        y = x * 2
        y.add_(10)
        loss = y.sum()
        loss.backward()
    g = rec.graphs[0]
    before = next(n for n in g.nodes if n.name == "y" and n.op == "MulBackward0")
    assert before.value == [2.0, 4.0]
