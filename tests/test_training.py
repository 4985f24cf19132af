"""Training over time: iterations, updates, optimizers, pitfalls, progress, no patching left."""
import io
import json
import re
import runpy
import sys

import pytest
import torch

import gradviz
from gradviz.capture.recorder import parse_at
from gradviz.numbers import fmt_operand as _num
from gradviz.progress import Progress, TqdmProgress
from gradviz.recording import Recording
from gradviz.runner import execute, run_script

from conftest import LESSONS_DIR


def lesson(name: str, args=(), **options) -> Recording:
    rec = execute(LESSONS_DIR / name, list(args), **options)
    assert rec.error is None, rec.error
    return rec


def values(rec: Recording, name: str, first: int, last: int) -> list:
    return [it.params[name].value for it in rec.iterations[first - 1:last]]


# --- the lessons -------------------------------------------------------------------------

def test_lesson6_trajectory_is_exactly_pytorchs():
    rec = lesson("06_gradient_descent.py")
    assert len(rec.iterations) == 50  # 30 steps, then 20
    # the same loops in plain PyTorch, in this process
    def plain(steps: int, lr: float) -> list[float]:
        w = torch.tensor(10.0, requires_grad=True)
        seen = []
        for _ in range(steps):
            seen.append(w.item())
            (w ** 2).backward()
            with torch.no_grad():
                w -= lr * w.grad
            w.grad.zero_()
        return seen

    assert values(rec, "w", 1, 30) == plain(30, 0.05)
    assert values(rec, "w", 31, 50) == plain(20, 0.3)
    # the seed's numbers: w after each step
    seed1 = [10 * 0.9 ** (k + 1) for k in range(30)]
    seed2 = [10 * 0.4 ** (k + 1) for k in range(20)]
    after1 = [it.params["w"].value + it.params["w"].update for it in rec.iterations[:30]]
    after2 = [it.params["w"].value + it.params["w"].update for it in rec.iterations[30:]]
    assert after1[:4] == pytest.approx([9, 8.1, 7.29, 6.561], abs=1e-5)
    assert after2[:4] == pytest.approx([4, 1.6, 0.64, 0.256], abs=1e-5)
    assert after1 == pytest.approx(seed1, abs=1e-5) and after2 == pytest.approx(seed2, abs=1e-5)
    first = rec.iterations[0]
    assert first.loss == 100.0 and first.params["w"].grad == 20.0
    assert first.params["w"].how == "in-place"
    assert first.params["w"].formula.text == "w ← w − lr·grad = 10 − 0.05·20 = 9"
    # one graph per loop: the first iteration, and the first of the second loop
    assert [g.iteration for g in rec.graphs][0] == 1 and len(rec.graphs) == 2
    assert rec.graphs[1].iteration in (31, 32) and rec.graphs[1].steps
    assert not rec.pitfalls


def test_lesson7_sgd_updates_are_minus_lr_times_grad():
    rec = lesson("07_linear_regression.py")
    its = rec.iterations
    assert len(its) == 2000
    last1, last2 = its[999].params, its[-1].params
    assert last1["W"].value[0] + last1["W"].update[0] == pytest.approx(1.0, abs=0.1)
    assert last1["b"].value[0] + last1["b"].update[0] == pytest.approx(0.0, abs=0.1)
    assert last2["model.linear.weight"].value[0][0] == pytest.approx(1.0, abs=0.1)
    assert last2["model.linear.bias"].value[0] == pytest.approx(0.0, abs=0.1)
    for it in its:
        for p in it.params.values():
            g, u = p.grad, p.update
            while isinstance(g, list):
                g, u = g[0], u[0]
            assert u == pytest.approx(-0.01 * g, rel=1e-5, abs=2e-7)  # float32 new - old
    snap = next(it for it in its if it.snapshot and it.index > 1)
    assert {p.how for p in snap.params.values()} == {"SGD.step()"}
    opt = its[0].optimizer[0]
    assert opt.type == "SGD"
    by_name = {p.name: p for p in opt.params}
    assert by_name["W"].formula == "W ← W − lr·grad = 0 − 0.01·(-9.33333) = 0.0933333"
    assert by_name["W"].lr == 0.01 and "학습률" in by_name["W"].explanation_ko


def test_lesson8_two_layer_net_manual_updates():
    rec = lesson("08_two_layer_net.py", at="last", total=500)
    its = rec.iterations
    assert len(its) == 500
    assert its[-1].loss < its[0].loss / 1e3
    assert set(its[0].params) == {"w1", "w2"}
    w1 = its[0].params["w1"]
    assert w1.value is None and w1.value_summary["numel"] == 100_000  # size rule
    assert w1.device == "cpu" and w1.how == "in-place"
    # norms every iteration; update = -1e-6 * grad while the steps are big enough for float32
    # (later a step of 1e-6 * grad is below the spacing of the weights' values and rounds)
    for it in its[:100]:
        for n in (it.params["w1"].norm, it.params["w2"].norm):
            assert n["update"] == pytest.approx(1e-6 * n["grad"], rel=1e-2)
    assert all(it.params["w2"].norm["grad"] > 0 for it in its)
    assert [g.iteration for g in rec.graphs] == [1, 500]
    assert rec.graphs[-1].steps and rec.graphs[-1].by_name("y_pred").value is None
    assert not rec.pitfalls  # the grads are zeroed by hand: no accumulation


def test_lesson10_restoration_rebinding_and_same_numbers():
    args = ["--iterations", "300"]
    rec = lesson("10_image_restoration.py", args)
    its = rec.iterations
    assert len(its) == 300
    # the same run without gradviz, in this process
    saved = sys.argv
    sys.argv = [str(LESSONS_DIR / "10_image_restoration.py"), *args]
    try:
        ns = runpy.run_path(str(LESSONS_DIR / "10_image_restoration.py"), run_name="__main__")
    finally:
        sys.argv = saved
    assert its[-1].loss == ns["loss"].item()  # recording never changes the numbers
    assert its[0].loss == pytest.approx(12.05, abs=0.5)
    r = next(it for it in its[5:] if it.snapshot).params["r"]
    assert r.how == "rebinding"
    assert r.norm["update"] == pytest.approx(0.8 * r.norm["grad"], rel=1e-4)
    assert r.formula.text.startswith("r[0] ← r[0] − lr·grad")
    assert "lr = 0.8" in r.formula.explanation
    assert its[-1].params["r"].how == "rebinding"  # the last update, seen at the end


def test_lesson11_adam_state_and_formula():
    rec = lesson("11_char_rnn.py")
    assert len(rec.iterations) == 50
    opt = rec.iterations[1].optimizer[0]
    assert opt.type == "Adam"
    p = opt.params[0]
    assert p.name.startswith("rnn.") and p.lr == 0.1 and p.step == 2.0
    assert set(p.state) >= {"exp_avg", "exp_avg_sq"}
    assert "m ← β1·m + (1−β1)·g" in p.formula and "v̂" in p.formula
    # the formula ends at the value the optimizer really produced
    assert p.formula.endswith("= " + _num(p.value_after))
    assert rec.iterations[-1].loss < rec.iterations[0].loss


# --- which iterations keep a graph ----------------------------------------------------

def loop(n, lr=0.1, start=5.0):
    w = torch.tensor(start, requires_grad=True)
    for _ in range(n):
        loss = (w - 1) ** 2
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
        w.grad = None
    return w


def test_at_keeps_full_graphs_and_last_with_total():
    with gradviz.record(at="3,last", total=6) as rec:
        loop(6)
    assert [g.iteration for g in rec.graphs] == [1, 3, 6]
    for g in rec.graphs:
        assert g.steps and any(n.source for n in g.nodes if n.kind == "op")
        assert rec.iterations[g.iteration - 1].graph == g.index


def test_last_without_total_is_drawn_after_the_run():
    with gradviz.record(at="last") as rec:
        loop(7)
    g = rec.graphs[-1]
    assert g.iteration == 7 and not g.steps and "not known in advance" in g.notes[0]
    node = g.by_name("w")
    assert node.value == rec.iterations[-1].params["w"].value
    assert node.grad == rec.iterations[-1].params["w"].grad
    assert parse_at("1, 100,last") == (frozenset({1, 100}), True)
    with pytest.raises(ValueError):
        parse_at("0")


# --- pitfalls ---------------------------------------------------------------------------

def kinds(rec):
    return {p.kind: p for p in rec.pitfalls}


def test_pitfall_gradients_accumulate_without_zero_grad():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    with gradviz.record() as rec:
        for _ in range(4):
            loss = (w ** 2).sum()
            loss.backward()
            opt.step()  # no zero_grad()
    p = kinds(rec)["grad_accumulation"]
    assert p.iteration == 2 and p.param == "w"
    assert "zero_grad" in p.explanation and "zero_grad" in p.explanation_ko


def test_no_accumulation_pitfall_for_gradient_accumulation_on_purpose():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    with gradviz.record() as rec:
        for _ in range(3):
            opt.zero_grad()
            for _ in range(2):  # two micro-batches, one step
                (w ** 2).sum().backward()
            opt.step()
    assert "grad_accumulation" not in kinds(rec)


def test_pitfall_diverging_learning_rate_too_high():
    with gradviz.record() as rec:
        loop(12, lr=1.5)
    p = kinds(rec)["diverging"]
    assert p.iteration <= 4 and "learning rate" in p.explanation and p.title_ko


def test_pitfall_nan_names_the_op_that_made_it():
    w = torch.tensor([1.0, 3.0], requires_grad=True)
    with gradviz.record() as rec:
        loss = torch.log(w - 2).sum()   # log(-1) = nan
        loss.backward()
    p = kinds(rec)["nonfinite"]
    assert p.iteration == 1 and p.op == "log" and p.line and "log" in p.source
    assert p.graph == 0 and rec.graphs[0].node(p.node).op == "LogBackward0"


def test_pitfall_nan_in_a_later_unlogged_iteration_is_located_at_the_next():
    w = torch.tensor(1.0, requires_grad=True)
    with gradviz.record() as rec:
        for _ in range(8):
            loss = torch.log(w) * 1.0
            loss.backward()
            with torch.no_grad():
                w -= 0.3          # 1, 0.7, 0.4, 0.1, -0.2 (nan from iteration 5)
            w.grad = None
    p = kinds(rec)["nonfinite"]
    assert p.iteration == 5 and p.op == "log" and p.located_at == 6


def test_pitfall_nan_from_an_exploded_parameter():
    w = torch.tensor(1.0, requires_grad=True)
    with gradviz.record() as rec:
        for _ in range(8):
            loss = w * 1e-30
            loss.backward()
            with torch.no_grad():
                w *= 1e10          # 1e10, 1e20, 1e30, then inf (float32)
            w.grad = None
    p = kinds(rec)["nonfinite"]
    assert p.iteration == 5 and p.param == "w" and p.cause == "param"
    assert "learning rate" in p.explanation


def test_pitfall_overflow_while_diverging():
    with gradviz.record() as rec:
        loop(400, lr=5.0)
    assert kinds(rec)["diverging"].iteration <= 4
    loss_nan = next(p for p in rec.pitfalls if p.kind == "nonfinite" and p.what == "loss")
    assert loss_nan.op == "pow" and loss_nan.located_at == loss_nan.iteration + 1
    grad_nan = next(p for p in rec.pitfalls if p.kind == "nonfinite" and p.what == "grad")
    assert grad_nan.param == "w" and grad_nan.iteration > loss_nan.iteration


def test_pitfall_plateau():
    w = torch.tensor(5.0, requires_grad=True)
    with gradviz.record() as rec:
        for _ in range(300):
            loss = w.abs()            # fixed-size steps bounce around 0
            loss.backward()
            with torch.no_grad():
                w -= 0.3 * w.grad
            w.grad = None
    p = kinds(rec)["plateau"]
    assert 10 <= p.iteration <= 40 and p.until == 300
    assert "torch.dist" in p.explanation


# --- the data -------------------------------------------------------------------------------

def test_json_shape_of_iterations():
    big = torch.zeros(100, requires_grad=True)
    small = torch.zeros(3, requires_grad=True)
    with gradviz.record() as rec:
        for _ in range(5):
            loss = ((big - 1) ** 2).sum() + ((small - 2) ** 2).sum()
            loss.backward()
            with torch.no_grad():
                big -= 0.1 * big.grad
                small -= 0.1 * small.grad
            big.grad = small.grad = None
    d = json.loads(rec.to_json())
    it = d["iterations"][0]
    assert it["index"] == 1 and it["loss"] == 112.0 and it["graph"] == 0
    assert d["graphs"][0]["iteration"] == 1
    s, b = it["params"]["small"], it["params"]["big"]
    assert s["value"] == [0.0, 0.0, 0.0] and s["grad"] == [-4.0, -4.0, -4.0]
    assert s["update"] == pytest.approx([0.4] * 3)
    assert b["value"] is None and b["value_summary"]["norm"] == 0.0
    assert b["grad"] is None and b["grad_summary"]["mean"] == -2.0
    assert b["update_summary"]["max"] == pytest.approx(0.2)
    assert b["norm"]["grad"] == pytest.approx(20.0) and b["device"] == "cpu"
    back = Recording.from_json(rec.to_json())
    assert [it.to_dict() for it in back.iterations] == d["iterations"]


def test_long_runs_stay_bounded():
    w = torch.zeros(3, requires_grad=True)
    with gradviz.record(explain=False) as rec:
        for _ in range(20000):
            loss = ((w - 1) ** 2).sum()
            loss.backward()
            with torch.no_grad():
                w -= 1e-4 * w.grad
            w.grad = None
    its = rec.iterations
    assert len(its) == 20000 and len(rec.graphs) == 1
    snaps = [it for it in its if it.snapshot]
    assert 100 <= len(snaps) <= 300
    assert snaps[-1].index == 20000
    assert all(it.params["w"].norm["grad"] > 0 for it in its)


def test_no_patching_left_behind():
    from torch.optim.optimizer import _global_optimizer_post_hooks, _global_optimizer_pre_hooks
    from torch.overrides import _get_current_function_mode_stack

    before = (torch.Tensor.backward, torch.autograd.backward, len(_get_current_function_mode_stack()))
    w = torch.tensor(1.0, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    with pytest.raises(ZeroDivisionError):
        with gradviz.record(at="2"):
            for i in range(3):
                (w * 2).backward()
                assert torch.Tensor.backward is not before[0]
                opt.step()
            1 / 0
    after = (torch.Tensor.backward, torch.autograd.backward, len(_get_current_function_mode_stack()))
    assert after == before
    assert not _global_optimizer_pre_hooks and not _global_optimizer_post_hooks
    assert not torch.nn.modules.module._global_forward_pre_hooks
    assert not torch.nn.modules.module._global_forward_hooks


def test_autograd_backward_is_an_iteration_too():
    a = torch.tensor(2.0, requires_grad=True)
    with gradviz.record() as rec:
        torch.autograd.backward(a * a)
        torch.autograd.backward([a * 3])
    assert [it.loss for it in rec.iterations] == [4.0, 6.0]
    assert rec.iterations[0].params["a"].grad == 4.0


# --- progress -------------------------------------------------------------------------------

def test_progress_callback_in_process_and_from_the_child():
    seen = []
    with gradviz.record(progress=seen.append, total=50) as rec:
        loop(50)
    assert seen[-1].finished and seen[-1].done == 50 and seen[-1].total == 50
    assert seen[0].done >= 1
    out = io.StringIO()
    bar = TqdmProgress(out, desc="train.py", log_every=0)
    bar(Progress(done=500, total=2000, elapsed=10, rate=50, loss=0.5))
    bar(Progress(done=2000, total=2000, elapsed=40, rate=50, loss=0.25, finished=True))
    text = out.getvalue()
    assert "train.py" in text and "500/2000" in text and "25%" in text and "loss 0.5" in text
    assert "2000/2000" in text and "100%" in text and "loss 0.25" in text
    out = io.StringIO()
    TqdmProgress(out, log_every=0)(Progress(done=500, elapsed=10, rate=50, finished=True))
    assert "500it" in out.getvalue()  # no total: a count, no bar
    got = []
    rec = run_script(LESSONS_DIR / "06_gradient_descent.py", isolate=True, progress=got.append,
                     capture_output=True)
    assert rec.error is None and len(rec.iterations) == 50
    assert got and got[-1].done == 50 and got[-1].finished


def test_cli_at_and_progress_lines(tmp_path):
    import subprocess

    from conftest import gradviz_cmd

    r = subprocess.run([*gradviz_cmd(), "render", str(LESSONS_DIR / "06_gradient_descent.py"),
                        "-f", "json", "-o", str(tmp_path), "--at", "1,5,last", "--total", "50"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "50/50" in r.stderr  # the last progress line
    rec = Recording.from_json((tmp_path / "06_gradient_descent.json").read_text())
    assert [g.iteration for g in rec.graphs] == [1, 5, 32, 50]
    assert all(g.steps for g in rec.graphs)
    bad = subprocess.run([*gradviz_cmd(), "render", str(LESSONS_DIR / "06_gradient_descent.py"),
                          "--at", "0"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--at" in bad.stderr


def test_a_mode_the_code_leaves_open_is_kept_and_ours_removed():
    from torch.overrides import TorchFunctionMode, _get_current_function_mode_stack

    class Quiet(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    before = list(_get_current_function_mode_stack())
    theirs = Quiet()
    w = torch.tensor(2.0, requires_grad=True)
    with gradviz.record() as rec:
        theirs.__enter__()  # left open on purpose, above our log
        (w * w).backward()
    stack = _get_current_function_mode_stack()
    assert stack == before + [theirs]
    theirs.__exit__(None, None, None)
    assert _get_current_function_mode_stack() == before
    assert rec.iterations[0].params["w"].grad == 4.0


@pytest.mark.parametrize("how", ["rebinding", "in-place", "optimizer"])
def test_fast_path_agrees_with_the_general_one(how):
    def run(**options):
        torch.manual_seed(0)
        w = torch.randn(50, requires_grad=True)
        s = torch.tensor(3.0, requires_grad=True)
        opt = torch.optim.SGD([w, s], lr=0.05, momentum=0.5)
        with gradviz.record(explain=False, **options) as rec:
            for _ in range(40):
                loss = ((w - 1) ** 2).sum() + s ** 2
                if how == "optimizer":
                    opt.zero_grad()
                loss.backward()
                if how == "optimizer":
                    opt.step()
                elif how == "in-place":
                    with torch.no_grad():
                        w -= 0.05 * w.grad
                        s -= 0.05 * s.grad
                    w.grad = s.grad = None
                else:
                    with torch.no_grad():
                        w, s = w - 0.05 * w.grad, s - 0.05 * s.grad
                    w.requires_grad_(True)
                    s.requires_grad_(True)
        return rec.iterations

    general = run(snapshots=10**6)  # a snapshot every iteration: close() and begin()
    fast = run(total=10**6)  # no snapshots after the first: the flat loop
    assert sum(1 for it in fast if it.snapshot) <= 3
    for a, b in zip(general, fast, strict=True):
        assert a.loss == b.loss
        assert a.params["s"].value == b.params["s"].value
        assert a.params["s"].update == b.params["s"].update
        assert a.params["w"].norm == b.params["w"].norm
    assert all(it.params["w"].norm["update"] > 0 for it in fast[:-1])


def test_a_new_model_under_the_same_name_is_followed_and_not_blamed(tmp_path):
    """Two models trained one after the other in one loop (lesson 17's shape): the old model's
    last .grad is not 'never reset', and from the switch on the numbers are the new model's."""
    script = tmp_path / "two_models.py"
    script.write_text(
        "import torch\n"
        "grads = []\n"
        "for seed in (1, 2):\n"
        "    torch.manual_seed(seed)\n"
        "    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))\n"
        "    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "    x = torch.randn(8, 3)\n"
        "    for i in range(5):\n"
        "        loss = model(x).pow(2).mean()\n"
        "        optimizer.zero_grad()\n"
        "        loss.backward()\n"
        "        grads.append(model[0].weight.grad.norm().item())\n"
        "        optimizer.step()\n")
    import runpy

    plain = runpy.run_path(str(script))["grads"]
    rec = gradviz.run_script(script)
    assert [p.kind for p in rec.pitfalls if p.kind == "grad_accumulation"] == []
    shown = [it.params["model.0.weight"].norm["grad"] if "model.0.weight" in it.params else None
             for it in rec.iterations]
    assert len(shown) == 10
    # every iteration, the switch too, shows the model that backward() ran through
    for k, (got, want) in enumerate(zip(shown, plain), start=1):
        assert got == pytest.approx(want, rel=1e-6), (k, got, want)


_DEEP = """
import torch
torch.manual_seed(0)
layers = [torch.nn.Linear(16, 16) for _ in range(8)]
with torch.no_grad():
    for layer in layers:
        layer.weight.mul_({scale})
model = torch.nn.Sequential(*[m for layer in layers for m in (layer, torch.nn.{act}())])
x = torch.randn(32, 16)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
loss = model(x).pow(2).mean()
optimizer.zero_grad()
loss.backward()
ratios = {{f"model.{{2 * i}}.weight": (l.weight.grad.norm() / l.weight.norm()).item() for i, l in enumerate(layers)}}
before = [l.weight.detach().clone() for l in layers]
optimizer.step()
moved = {{f"model.{{2 * i}}.weight": ((l.weight - b).norm() / b.norm()).item() for i, (l, b) in enumerate(zip(layers, before))}}
"""


@pytest.mark.parametrize("act, scale, kind", [("Sigmoid", 1.0, "vanishing"), ("Identity", 4.0, "exploding"),
                                              ("Identity", 1.0, None),
                                              ("ReLU", 1.0, None)])
def test_vanishing_and_exploding_gradients_are_flagged_with_true_numbers(tmp_path, act, scale, kind):
    script = tmp_path / "deep.py"
    script.write_text(_DEEP.format(act=act, scale=scale))
    plain = runpy.run_path(str(script))
    truth = plain["ratios"]
    rec = gradviz.run_script(script)
    flagged = [p for p in rec.pitfalls if p.kind in ("vanishing", "exploding")]
    if kind is None:
        assert flagged == []
        return
    assert [p.kind for p in flagged] == [kind]
    p = flagged[0]
    pick = min if kind == "vanishing" else max
    assert p.param == pick(truth, key=truth.get)
    stated = float(re.search(r"was (\S+) times", p.explanation).group(1))
    assert stated == pytest.approx(truth[p.param], rel=0.05)
    if kind == "exploding":
        said = float(re.search(r"by (\S+) times its size", p.explanation).group(1))
        assert said == pytest.approx(plain["moved"][p.param], rel=0.05) and said > 1
    assert p.explanation_ko and p.param in p.explanation_ko
