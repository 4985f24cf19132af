"""Lessons 1 to 4: recorded values and grads equal the seed numbers and PyTorch's own."""
import math

import pytest
import torch

import gradviz
from gradviz.recording import Recording
from gradviz.runner import execute

from conftest import LESSONS_DIR


def run_lesson(name: str) -> Recording:
    rec = execute(LESSONS_DIR / name, [])
    assert rec.error is None, rec.error
    assert rec.graphs, "the lesson recorded no graph"
    return rec


def test_lesson1_chain_rule():
    g = run_lesson("01_chain_rule.py").graph
    w, a, l = g.by_name("w"), g.by_name("a"), g.by_name("l")
    assert (w.value, w.grad, w.is_leaf, w.requires_grad) == (1.0, 18.0, True, True)
    assert (a.value, a.op, a.is_leaf) == (3.0, "MulBackward0", False)
    assert (l.value, l.op, l.is_leaf, l.output) == (9.0, "PowBackward0", False, True)
    ops = {n.op: n for n in g.nodes if n.kind == "op"}
    assert set(ops) == {"MulBackward0", "PowBackward0"}
    assert ops["PowBackward0"].attrs["exponent"] == 2
    assert ops["MulBackward0"].forward_op == "mul"
    assert ops["MulBackward0"].source.startswith("a = w * 3")
    const = [n for n in g.nodes if n.constant]
    assert [c.value for c in const] == [3]
    # the same numbers straight from PyTorch
    wt = torch.tensor(1.0, requires_grad=True)
    (wt * 3).pow(2).backward()
    assert w.grad == wt.grad.item()


def test_lesson2_fan_in():
    g = run_lesson("02_fan_in.py").graph
    assert g.by_name("f").grad == 1.0 and g.by_name("f").retains_grad
    assert g.by_name("x").grad == 4.0
    assert g.by_name("y").grad == 2.0
    assert g.by_name("F").value == 6.0  # 2*3 + 2 - 2


def test_plain_product_grads():
    x = torch.tensor(2.0, requires_grad=True)
    y = torch.tensor(3.0, requires_grad=True)
    with gradviz.record() as rec:
        f = x * y
        f.backward()
    assert rec.graph.by_name("x").grad == 3.0 and rec.graph.by_name("y").grad == 2.0


def test_lesson3_constant():
    g = run_lesson("03_constants.py").graph
    x, y, F = g.by_name("x"), g.by_name("y"), g.by_name("F")
    assert x.constant and not x.requires_grad and x.grad is None
    assert y.grad == 1.0 and not y.constant
    assert F.grad is None and not F.is_leaf
    assert "not a leaf" in g.dot()


def test_lesson4_vectors():
    g = run_lesson("04_vectors.py").graph
    assert g.by_name("tensor").grad == [-4.0, 16.0, 0.0]
    assert g.by_name("arr").grad == [4.0, 16.0, 64.0]
    t = torch.tensor([2.0, 4.0, 8.0], requires_grad=True)
    a = torch.tensor([-1.0, 2.0, 0.0], requires_grad=True)
    (a * t**2).sum().backward()
    assert g.by_name("tensor").grad == t.grad.tolist()


def test_show_after_the_fact_names_values_and_grads():
    w = torch.tensor(1.0, requires_grad=True)
    a = w * 3
    l = a ** 2
    l.backward(retain_graph=True)
    g = gradviz.show(l)
    assert g.by_name("a").value == 3.0 and g.by_name("w").grad == 18.0
    assert [n.value for n in g.nodes if n.constant] == [3.0]
    assert g.dot().startswith("digraph")


def test_saved_leaf_is_not_merged():
    """x*x saves x twice; the graph still has exactly one node for x."""
    x = torch.tensor(3.0, requires_grad=True)
    with gradviz.record() as rec:
        y = x * x
        y.backward()
    g = rec.graph
    assert [n.name for n in g.nodes if n.kind == "tensor"].count("x") == 1
    assert g.by_name("x").grad == 6.0
    mul = next(n for n in g.nodes if n.op == "MulBackward0" and n.kind == "op")
    assert sum(1 for e in g.edges if e.dst == mul.id) == 2


def test_module_parameters_get_qualified_names():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    x = torch.randn(4, 3)
    with gradviz.record() as rec:
        model(x).sum().backward()
    names = {n.name for n in rec.graph.nodes if n.is_leaf and n.requires_grad}
    assert {"model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias"} <= names
    w = rec.graph.by_name("model.0.weight")
    assert w.grad == model[0].weight.grad.tolist()


def test_big_values_are_summarised():
    big = torch.arange(100.0, requires_grad=True)
    with gradviz.record() as rec:
        (big * 2).sum().backward()
    n = rec.graph.by_name("big")
    assert n.value is None and n.summary["max"] == 99.0 and n.summary["numel"] == 100
    assert n.grad is None and n.grad_summary["mean"] == 2.0


def test_recording_is_plain_data_and_round_trips():
    w = torch.tensor(1.0, requires_grad=True)
    with gradviz.record() as rec:
        (w * 3).pow(2).backward()
    text = rec.to_json()
    back = Recording.from_json(text)
    assert back.to_json() == text
    assert "torch" not in repr(back).replace("torch.", "")  # no live objects inside


def test_no_patching_left_behind():
    from torch.overrides import _get_current_function_mode_stack

    before = len(_get_current_function_mode_stack())
    with gradviz.record():
        torch.ones(1, requires_grad=True).sum().backward()
    assert len(_get_current_function_mode_stack()) == before
    assert not torch.nn.modules.module._global_forward_pre_hooks


def test_nan_and_inf_survive_json():
    z = torch.tensor([0.0, 1.0], requires_grad=True)
    with gradviz.record() as rec:
        (z.log() * 1).sum().backward()
    back = Recording.from_json(rec.to_json())
    v = back.graph.by_name("z").grad
    assert math.isinf(v[0])


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf", "dot", "json"])
def test_graph_save_formats(tmp_path, fmt):
    w = torch.tensor(1.0, requires_grad=True)
    with gradviz.record() as rec:
        (w * 3).pow(2).backward()
    path = rec.graph.save(tmp_path / f"g.{fmt}")
    data = path.read_bytes()
    assert len(data) > 100
    magic = {"svg": b"<svg", "png": b"\x89PNG", "pdf": b"%PDF", "dot": b"digraph", "json": b"{"}
    assert magic[fmt] in data[:400]


def test_hostile_names_are_escaped(tmp_path):
    ns = {}
    exec('import torch\nw = torch.tensor(1.0, requires_grad=True)\n', ns)
    g = gradviz.show(ns["w"] * 2)
    g.nodes[0].label = 'x"];<B>evil</B>\n}digraph{'
    svg = g.svg()
    assert "<svg" in svg and "evil" in svg


@pytest.mark.parametrize("read", [False, True])
def test_a_dropped_recording_frees_its_tensors(read):
    """Nothing of a recording outlives it, read or not: no reference cycle through autograd's hooks.

    Autograd nodes keep their hooks out of the collector's sight, so a hook that led
    back to its node would keep the graph, its outputs and every gradient alive.
    """
    import gc
    import weakref

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    x = torch.randn(16, 4)

    def train_step():  # the user's code, in a frame of its own (its locals go with it)
        with gradviz.record(explain=False) as rec:
            hidden = model[1](model[0](x))
            loss = model[2](hidden).pow(2).mean()
            loss.backward()
        if read:
            assert rec.graph.steps
        return [weakref.ref(rec), weakref.ref(hidden), weakref.ref(loss), weakref.ref(model[0].weight.grad)]

    refs = train_step()
    model.zero_grad()  # (set_to_none: the .grad goes too)
    gc.collect()
    assert [r() for r in refs] == [None] * 4


# --- gradviz never breaks the code it watches ------------------------------------------------

def test_sparse_gradients_are_shown_densified_and_said_to_be_sparse():
    torch.manual_seed(0)
    emb = torch.nn.Embedding(6, 2, sparse=True)
    with gradviz.record() as rec:
        emb(torch.tensor([0, 4, 4])).sum().backward()
    want = emb.weight.grad.to_dense()
    node = rec.graph.by_name("emb.weight")
    assert node.grad == want.tolist()  # row 0 once, row 4 twice
    assert "sparse" in node.note and "4 of 12 elements stored" in node.note
    acc = next(s for s in rec.graph.steps if s.op == "AccumulateGrad")
    assert acc.grad_outputs[0] == want.tolist()

    big = torch.nn.Embedding(100, 8, sparse=True)
    with gradviz.record() as rec:
        big(torch.tensor([3, 7, 7, 50])).sum().backward()
    dense = big.weight.grad.to_dense()
    summary = rec.graph.by_name("big.weight").grad_summary
    assert summary["numel"] == 800 and summary["stored"] == 24
    assert summary["norm"] == pytest.approx(dense.norm().item())
    assert summary["mean"] == pytest.approx(dense.mean().item())
    assert (summary["min"], summary["max"]) == (0.0, 2.0)
    assert rec.iterations[0].params["big.weight"].norm["grad"] == pytest.approx(dense.norm().item())


def test_a_failure_of_our_bookkeeping_leaves_the_users_backward_alone(monkeypatch):
    from gradviz.capture import timeline

    def broken(self, *args, **kwargs):
        raise RuntimeError("bookkeeping bug")

    monkeypatch.setattr(timeline.Timeline, "after_backward", broken)
    w = torch.tensor(1.0, requires_grad=True)
    with gradviz.record() as rec:
        ((w * 3) ** 2).backward()
    assert w.grad.item() == 18.0
    assert any("could not record backward() call 1" in n and "bookkeeping bug" in n for n in rec.notes)


def test_the_users_own_backward_error_reaches_them_unchanged():
    x = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for"):
        with gradviz.record():
            (x * 2).backward()


def test_a_node_shows_its_value_from_when_its_op_ran():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with gradviz.record() as rec:
        h = x * 2
        (h * 3).sum().backward()
        with torch.no_grad():
            h.add_(100)  # after the backward: the graph is read later, below
    node = rec.graph.by_name("h")
    assert node.value == [2.0, 4.0] and node.note is None
    y = torch.arange(100.0, requires_grad=True)
    with gradviz.record() as rec:
        big = y * 2
        (big * 3).sum().backward()
        with torch.no_grad():
            big.add_(100)
    node = rec.graph.by_name("big")
    # too big to copy: the summary is of the changed tensor, and the note says so, with versions
    assert node.summary["mean"] == pytest.approx(big.mean().item())
    assert "changed in place after it was recorded (version 0 -> 1)" in node.note


# issue 15 items 9 and 14: deep chains and forwards that never reach backward() -------------
def _python(code: str) -> tuple[int, str]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


def test_deep_chain_then_del_does_not_crash():
    """50,000 chained ops under record(), then `del h`: freed as plain torch frees them."""
    rc, out = _python(
        "import torch, gradviz\n"
        "with gradviz.record() as rec:\n"
        "    h = torch.ones(1, requires_grad=True)\n"
        "    for _ in range(50_000):\n"
        "        h = h * 1.0001\n"
        "    del h\n"
        "h = torch.ones(1, requires_grad=True)\n"
        "with gradviz.record():\n"
        "    for _ in range(50_000):\n"
        "        h = h * 1.0001\n"
        "del h\n"
        "print('freed')\n")
    assert rc == 0 and "freed" in out, (rc, out[-2000:])


_MANY_FORWARDS = (
    "import resource, sys, torch, gradviz\n"
    "lin, x = torch.nn.Linear(256, 256), torch.randn(1024, 256)\n"
    "def run():\n"
    "    for _ in range(600):  # 1 MB each, never backward()\n"
    "        y = lin(x)\n"
    "if sys.argv[1] == 'record':\n"
    "    with gradviz.record():\n"
    "        run()\n"
    "else:\n"
    "    run()\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n")


def test_forward_log_is_bounded_by_bytes():
    """600 MB of outputs made and dropped without a backward(): gradviz holds at most its
    byte budget of them (the forward log), not all."""
    import subprocess
    import sys

    from gradviz.capture.forward import LOG_BYTES

    peaks = {}
    for mode in ("plain", "record"):
        done = subprocess.run([sys.executable, "-c", _MANY_FORWARDS, mode], capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        peaks[mode] = int(done.stdout.split()[-1])
    assert peaks["record"] - peaks["plain"] < LOG_BYTES // 2**20 + 120, peaks


def test_autograd_grad_in_a_loop_draws_at_most_ten_per_line():
    """A jacobian-like loop: every call returns what torch returns; ten are drawn per line."""
    from gradviz.capture.recorder import GRAD_GRAPHS_PER_LINE

    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with gradviz.record(explain=False) as rec:
        y = x ** 2
        rows = [torch.autograd.grad(y[i % 3], x, retain_graph=True)[0] for i in range(15)]
    assert torch.equal(torch.stack(rows[:3]), torch.diag(2 * x.detach()))
    assert len(rec.graphs) == GRAD_GRAPHS_PER_LINE
    assert all(g.call == "grad" and g.iteration is None for g in rec.graphs)
    assert [g.grad_call for g in rec.graphs] == list(range(1, GRAD_GRAPHS_PER_LINE + 1))
    assert rec.graphs[1].returned[0]["value"] == [0.0, 4.0, 0.0]
    assert x.grad is None and not rec.iterations
