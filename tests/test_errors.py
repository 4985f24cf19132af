"""Mistakes explained: each common autograd mistake in a tiny script, in English and Korean.

Most run in-process through gradviz.runner.execute (fast); a few go through
`gradviz render` in a subprocess to check the exit code, stderr and the JSON.
"""
import json
import re
import subprocess
import textwrap

import pytest

from conftest import gradviz_cmd
from gradviz.explain.dead_grads import explain_dead_grads
from gradviz.explain.exceptions import explain_error
from gradviz.explain.mistakes import MISTAKES, VARIANTS, WARNINGS, fill
from gradviz.explain.shapes import align_shapes, broadcast_conflicts
from gradviz.explain.warning_notes import explain_warning
from gradviz.recording import ErrorInfo, Recording
from gradviz.runner import execute

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def run(tmp_path, code: str, name: str = "script.py") -> Recording:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code).lstrip())
    return execute(path, [])


def explained(rec: Recording, type_: str = "RuntimeError", *facts: str) -> ErrorInfo:
    """The error is there, explained in both languages, with a fix, mentioning each fact."""
    e = rec.error
    assert e is not None, "the script should have failed"
    assert e.type == type_, e
    assert e.explanation and e.explanation_ko and e.hint, e
    assert HANGUL.search(e.explanation_ko), e.explanation_ko
    assert "?" not in re.sub(r"`[^`]*`", "", e.explanation), e.explanation  # no unfilled blanks
    for fact in facts:
        assert fact in e.explanation, (fact, e.explanation)
    return e


# --- backward() -------------------------------------------------------------------

def test_backward_on_tensor_without_grad(tmp_path):
    rec = run(tmp_path, """
        import torch
        x = torch.tensor([1.0, 2.0])
        loss = (x * 2).sum()
        loss.backward()
        """)
    e = explained(rec, "RuntimeError", "loss", "does not require grad", "grad_fn")
    assert e.line == 4
    assert "requires_grad=True" in e.hint
    assert "requires_grad" in e.explanation_ko + e.hint_ko
    # the graph of the failing backward() is kept, and its root is the culprit
    assert rec.graphs and e.node == rec.graphs[-1].root


def test_backward_under_no_grad_says_so(tmp_path):
    rec = run(tmp_path, """
        import torch
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        with torch.no_grad():
            loss = (w * 2).sum()
        loss.backward()
        """)
    e = explained(rec, "RuntimeError", "torch.no_grad()", "line 4")
    assert "no_grad" in e.explanation_ko + e.hint_ko


def test_backward_twice_through_freed_graph(tmp_path):
    rec = run(tmp_path, """
        import torch
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        y = (w * w).sum()
        y.backward()
        y.backward()
        """)
    e = explained(rec, "RuntimeError", "second time", "freed")
    assert e.line == 5
    assert "retain_graph=True" in e.hint
    assert "retain_graph=True" in e.explanation_ko + e.hint_ko
    assert e.node is not None and e.node == rec.graphs[-1].root


def test_backward_twice_in_a_loop_names_the_tensor_made_before_it(tmp_path):
    rec = run(tmp_path, """
        import torch
        w = torch.tensor(1.0, requires_grad=True)
        h = torch.tanh(w * 3)
        for i in range(3):
            loss = (h - 1) ** 2
            loss.backward()
        """)
    e = explained(rec, "RuntimeError", "h (line 3)", "outside the loop on line 4")
    assert "h(3번째 줄)" in e.explanation_ko + e.hint_ko
    assert rec.graphs[-1].node(e.node).name == "h"


def test_backward_on_non_scalar(tmp_path):
    rec = run(tmp_path, """
        import torch
        w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        out = w * 2
        out.backward()
        """)
    e = explained(rec, "RuntimeError", "out", "[3]", "single number")
    assert "out.sum().backward()" in e.hint and "torch.ones_like(out)" in e.hint
    assert "스칼라" in e.explanation_ko + e.hint_ko
    assert e.node == rec.graphs[-1].root


def test_gradient_argument_of_wrong_shape(tmp_path):
    rec = run(tmp_path, """
        import torch
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        (w * 2).backward(torch.ones(3))
        """)
    explained(rec, "RuntimeError", "[3]", "[2]")


# --- in-place -------------------------------------------------------------------------

def test_inplace_on_leaf_that_requires_grad(tmp_path):
    rec = run(tmp_path, """
        import torch
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        loss = (w * w).sum()
        loss.backward()
        w -= 0.1 * w.grad
        """)
    e = explained(rec, "RuntimeError", "w is a leaf", "`w -= 0.1 * w.grad`", "line 5")
    assert "with torch.no_grad(): w -= lr * w.grad" in e.hint
    assert "리프" in e.explanation_ko + e.hint_ko and "torch.no_grad()" in e.explanation_ko + e.hint_ko
    # w is highlighted on the graph drawn by the backward() before
    assert e.node is not None and rec.graphs[-1].node(e.node).name == "w"


def test_inplace_on_view_of_leaf(tmp_path):
    rec = run(tmp_path, """
        import torch
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        w[0] = 5.0
        """)
    explained(rec, "RuntimeError", "w is a leaf", "view")


@pytest.mark.parametrize("edit, op", [("y.add_(1)", "Add"), ("y += 1", "Add"), ("y[0] = 0.0", None)])
def test_inplace_change_to_saved_tensor(tmp_path, edit, op):
    rec = run(tmp_path, f"""
        import torch
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        z = y * y
        {edit}
        z.sum().backward()
        """)
    e = explained(rec, "RuntimeError", "y (shape [2], float32", "version 0", "version 1",
                  f"`{edit}` on line 5")
    assert "버전 0" in e.explanation_ko + e.hint_ko and "버전 1" in e.explanation_ko + e.hint_ko and "y" in e.explanation_ko + e.hint_ko
    assert "y = y + 1" in e.hint and "y.clone()" in e.hint
    g = rec.graphs[-1]
    assert e.node is not None and g.node(e.node).name == "y"


def test_inplace_change_to_saved_output_names_the_producing_op(tmp_path):
    rec = run(tmp_path, """
        import torch
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        y = torch.sigmoid(x)
        y.mul_(2)
        y.sum().backward()
        """)
    e = explained(rec, "RuntimeError", "y (shape [2]", "output 0 of Sigmoid", "`y.mul_(2)` on line 4",
                  "version 0", "version 1")
    node = rec.graphs[-1].node(e.node)
    assert node.name == "y" and node.op == "SigmoidBackward0"


def test_inplace_on_multi_output_view(tmp_path):
    rec = run(tmp_path, """
        import torch
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        a, b = (x * 1).unbind()
        a.add_(1)
        """)
    explained(rec, "RuntimeError", "unbind")


# --- reading .grad of a non-leaf --------------------------------------------------------

def test_nonleaf_grad_warning_is_explained(tmp_path):
    rec = run(tmp_path, """
        import torch
        x = torch.tensor(2.0, requires_grad=True)
        y = x * 3
        F = y * y
        F.backward()
        print(y.grad)
        """)
    assert rec.error is None
    notes = [n for n in rec.notes if "retain_grad" in n]
    assert notes and notes[0].startswith("line 6: y is not a leaf"), rec.notes
    found = [p for p in rec.pitfalls if p.id == "nonleaf_grad"]
    assert len(found) == 1
    p = found[0]
    assert p.line == 6 and p.name == "y" and "y.retain_grad()" in p.hint
    assert HANGUL.search(p.explanation_ko) and "y.retain_grad()" in p.explanation_ko
    # the culprit on the graph carries the note
    g = rec.graphs[p.graph]
    assert g.node(p.node).name == "y" and "retain_grad" in g.node(p.node).note


def test_nonleaf_grad_warning_once_per_line_in_a_loop(tmp_path):
    rec = run(tmp_path, """
        import torch
        x = torch.tensor(2.0, requires_grad=True)
        for i in range(5):
            y = x * 3
            y.backward()
            g = y.grad
        """)
    assert rec.error is None
    assert len([p for p in rec.pitfalls if p.id == "nonleaf_grad"]) == 1


def test_explain_warning_direct():
    msg = ("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
           "attribute won't be populated during autograd.backward(). (Triggered internally at x.h:1.)")
    d = explain_warning(msg, "print(hidden.grad)")
    assert d["id"] == "nonleaf_grad" and d["name"] == "hidden"
    assert "hidden.retain_grad()" in d["hint"] and "Triggered" not in d["warning"]
    assert d["title"] == "hidden.grad is None: hidden is not a leaf" and HANGUL.search(d["title_ko"])
    assert explain_warning("some other warning") is None
    d = explain_warning("Using a target size (torch.Size([4])) that is different to the input size "
                        "(torch.Size([4, 1])). This will likely lead to incorrect results due to "
                        "broadcasting.")
    assert d["id"] == "loss_broadcast" and "[4, 1]" in d["explanation"] and "[4]" in d["explanation"]


def test_warnings_still_reach_the_user(tmp_path):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(tmp_path, """
            import warnings
            warnings.warn("mine")
            """)
    assert any(str(w.message) == "mine" for w in caught)


# --- dtypes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("line", ["x = torch.tensor([1, 2, 3], requires_grad=True)",
                                  "x = torch.tensor([1, 2, 3]); x.requires_grad = True",
                                  "x = torch.arange(3); x.requires_grad_()"])
def test_requires_grad_on_integer_tensor(tmp_path, line):
    rec = run(tmp_path, f"import torch\n{line}\n")
    e = explained(rec, "RuntimeError", "x holds integers", "int64")
    assert "torch.tensor([1.0, 2.0], requires_grad=True)" in e.hint
    assert "정수" in e.explanation_ko + e.hint_ko


def test_mean_of_integer_tensor(tmp_path):
    rec = run(tmp_path, """
        import torch
        counts = torch.tensor([1, 2, 4])
        m = counts.mean()
        """)
    e = explained(rec, "RuntimeError", "mean()", "int64", "counts")
    assert "counts.float().mean()" in e.hint
    assert "정수" in e.explanation_ko + e.hint_ko


# --- shapes -------------------------------------------------------------------------------

def test_broadcast_mismatch_shows_shapes_aligned_from_the_right(tmp_path):
    rec = run(tmp_path, """
        import torch
        x = torch.ones(5, 2, 3, requires_grad=True)
        b = torch.ones(4, 3)
        y = x * b
        """)
    e = explained(rec, "RuntimeError", "x (shape [5, 2, 3])", "b (shape [4, 3])", "from the right")
    block = e.explanation.split("\n")[1:]
    assert [ln.rstrip() for ln in block[:2]] == ["    x: [5, 2, 3]", "    b:    [4, 3]"]
    # the failing dimension is marked under the 2 and the 4
    caret = block[2].index("^")
    assert block[0][caret] == "2" and block[1][caret] == "4"
    assert "2 vs 4" in block[2]
    ko = e.explanation_ko.split("\n")
    assert ko[1:3] == block[:2] and "^" in ko[3] and "오른쪽" in ko[0]


def test_broadcast_mismatch_in_a_loss(tmp_path):
    rec = run(tmp_path, """
        import torch
        pred = torch.zeros(3, requires_grad=True)
        target = torch.ones(4)
        loss = torch.nn.functional.mse_loss(pred, target)
        """)
    e = explained(rec, "RuntimeError", "pred (shape [3])", "target (shape [4])")
    assert "^" in e.explanation


def test_inplace_broadcast(tmp_path):
    rec = run(tmp_path, """
        import torch
        a = torch.ones(3)
        a += torch.ones(2, 3)
        """)
    explained(rec, "RuntimeError", "[3]", "[2, 3]")


def test_matmul_mismatch(tmp_path):
    rec = run(tmp_path, """
        import torch
        a = torch.ones(2, 3, requires_grad=True)
        b = torch.ones(4, 5)
        c = a @ b
        """)
    e = explained(rec, "RuntimeError", "(2x3) @ (4x5)", "3 and 4", "`c = a @ b`")
    assert "3" in e.explanation_ko + e.hint_ko and "4" in e.explanation_ko + e.hint_ko and "행렬" in e.explanation_ko + e.hint_ko


def test_linear_layer_mismatch_names_the_layer(tmp_path):
    rec = run(tmp_path, """
        import torch
        model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
        x = torch.ones(8, 5)
        y = model(x)
        """)
    e = explained(rec, "RuntimeError", "model.0", "in_features=3", "[8, 5]")
    assert "nn.Linear(5, 4)" in e.hint
    assert "model.0" in e.explanation_ko + e.hint_ko


@pytest.mark.parametrize("expr, fact", [("torch.mv(torch.ones(2, 3), torch.ones(4))", "2x3"),
                                        ("torch.dot(torch.ones(3), torch.ones(4))", "3 and 4"),
                                        ("torch.bmm(torch.ones(2, 3, 4), torch.ones(2, 5, 6))", "[2, 4]")])
def test_other_product_mismatches(tmp_path, expr, fact):
    rec = run(tmp_path, f"import torch\nc = {expr}\n")
    explained(rec, "RuntimeError", fact)


# --- devices ------------------------------------------------------------------------------

def test_tensors_on_different_devices(tmp_path):
    # no GPU here: the meta device fails the same way, and names both devices
    rec = run(tmp_path, """
        import torch
        a = torch.ones(2, device="meta")
        b = torch.ones(2)
        c = a + b
        """)
    e = explained(rec, "RuntimeError", "a on meta", "b on cpu")
    assert ".to(device)" in e.hint and "장치" in e.explanation_ko + e.hint_ko


@pytest.mark.parametrize("msg, devs", [
    ("Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!",
     "cuda:0 and cpu"),
    ("Expected all tensors to be on the same device, but got mat2 is on cpu, different from other "
     "tensors on cuda:0 (when checking argument in method wrapper_CUDA_mm)", "mat2 on cpu"),
])
def test_cuda_device_messages(tmp_path, msg, devs):
    # the exact messages a GPU machine gives, raised by hand
    rec = run(tmp_path, f"raise RuntimeError({msg!r})\n")
    explained(rec, "RuntimeError", devs)


# --- other common ones -------------------------------------------------------------------

def test_grad_is_none_before_backward(tmp_path):
    rec = run(tmp_path, """
        import torch
        w = torch.tensor(1.0, requires_grad=True)
        w.grad.zero_()
        """)
    e = explained(rec, "AttributeError", "w.grad is None")
    assert "backward()" in e.hint


def test_numpy_of_tensor_requiring_grad(tmp_path):
    rec = run(tmp_path, """
        import torch
        w = torch.tensor([1.0], requires_grad=True)
        a = w.numpy()
        """)
    e = explained(rec, "RuntimeError", "w requires grad")
    assert "w.detach().numpy()" in e.hint


def test_unknown_errors_are_left_plain(tmp_path):
    rec = run(tmp_path, "x = {}\ny = x['missing']\n")
    assert rec.error.type == "KeyError" and rec.error.line == 2
    assert rec.error.explanation == ""  # Python's own message says it best


# --- dead gradients: None or zero because of no_grad, detach or a dead ReLU ---------------

def test_grad_none_because_of_no_grad(tmp_path):
    rec = run(tmp_path, """
        import torch
        w = torch.tensor(2.0, requires_grad=True)
        x = torch.tensor(3.0, requires_grad=True)
        with torch.no_grad():
            h = w * 2
        loss = h * x
        loss.backward()
        """)
    assert rec.error is None
    g = rec.graph
    notes = explain_dead_grads(g, rec.source)
    assert len(notes) == 1 and "h was computed inside torch.no_grad() (line 5)" in notes[0]
    assert "w.grad stays None" in notes[0]
    ko = explain_dead_grads(g, rec.source, lang="ko")
    assert "no_grad" in ko[0] and HANGUL.search(ko[0])
    # the runner put the note on the graph and on the constant h
    assert notes[0] in g.notes and g.by_name("h").note == notes[0]


def test_grad_none_because_of_detach(tmp_path):
    rec = run(tmp_path, """
        import torch
        w = torch.tensor(2.0, requires_grad=True)
        x = torch.tensor(3.0, requires_grad=True)
        loss = w.detach() * x + x
        loss.backward()
        """)
    notes = explain_dead_grads(rec.graph, rec.source)
    assert len(notes) == 1 and "Line 4 uses w.detach()" in notes[0] and "w.grad stays None" in notes[0]


def test_grad_none_because_of_detached_variable(tmp_path):
    rec = run(tmp_path, """
        import torch
        w = torch.tensor(2.0, requires_grad=True)
        x = torch.tensor(3.0, requires_grad=True)
        h = w.detach() * 2
        loss = h * x
        loss.backward()
        """)
    notes = explain_dead_grads(rec.graph, rec.source)
    assert len(notes) == 1 and "h comes from .detach() (line 4)" in notes[0]


def test_grad_zero_because_of_dead_relu(tmp_path):
    rec = run(tmp_path, """
        import torch
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        b = torch.tensor(-10.0, requires_grad=True)
        x = torch.tensor([1.0, 1.0])
        h = torch.relu(w * x + b)
        loss = h.sum()
        loss.backward()
        """)
    g = rec.graph
    assert g.by_name("w").grad == [0.0, 0.0]
    notes = explain_dead_grads(g, rec.source)
    assert len(notes) == 2
    assert all("ReLU on line 5" in n and "<= 0" in n and "dead ReLU" in n for n in notes)
    assert {n.split(".grad")[0] for n in notes} == {"w", "b"}
    assert "LeakyReLU" in notes[0]
    assert g.by_name("w").note in notes


def test_dead_relu_in_a_network(tmp_path):
    rec = run(tmp_path, """
        import torch
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
        with torch.no_grad():
            net[0].bias.fill_(-100.0)
        loss = net(torch.ones(4, 2)).sum()
        loss.backward()
        """)
    notes = explain_dead_grads(rec.graph, rec.source)
    assert sorted(n.split(".grad")[0] for n in notes) == ["net.0.bias", "net.0.weight"]


def test_no_dead_grad_notes_on_healthy_scripts(tmp_path):
    rec = run(tmp_path, """
        import torch
        x = torch.tensor([1.0, -2.0])
        mean = x.mean()
        with torch.no_grad():
            xn = x - mean          # data prepared without gradients, on purpose
        w = torch.tensor([0.5, 0.5], requires_grad=True)
        loss = torch.relu(w * xn).sum()
        loss.backward()
        """)
    assert explain_dead_grads(rec.graph, rec.source) == []
    assert rec.graph.notes == [] or not any("no_grad" in n for n in rec.graph.notes)


# --- building blocks ------------------------------------------------------------------------

def test_align_shapes():
    text = align_shapes([("image", [3, 32, 32]), ("mean", [3])])
    assert text.splitlines()[:2] == ["    image: [3, 32, 32]", "    mean:          [3]"]
    marks = text.splitlines()[2]
    assert marks.index("^") == text.splitlines()[0].rindex("32") + 1
    assert broadcast_conflicts([2, 3], [3]) == []
    assert broadcast_conflicts([5, 2, 3], [4, 3]) == [1]
    assert broadcast_conflicts([2, 1], [3, 4]) == [0]
    assert align_shapes([("a", []), ("b", [2])]).splitlines()[0].strip() == "a: []"


def test_catalogue_is_complete():
    for m in list(MISTAKES) + list(VARIANTS.values()):
        assert m.en and m.ko and m.fix and m.fix_ko, m.id
        assert HANGUL.search(m.ko) and HANGUL.search(m.fix_ko), m.id
        m.pattern  # compiles
    for w in WARNINGS.values():
        assert HANGUL.search(w["ko"]) and w["fix"]
    assert fill("{a} and {b}", {"a": 1}) == "1 and ?"
    assert fill("{broken", {}) == "{broken"


def test_explain_error_never_raises_and_works_without_a_traceback():
    info = ErrorInfo(type="RuntimeError", message="")
    explain_error(info, RuntimeError("The size of tensor a (3) must match the size of tensor b (4) "
                                     "at non-singleton dimension 1"))
    assert "3 vs 4" in info.explanation and info.explanation_ko

    class Weird(Exception):
        def __str__(self):
            raise ValueError("no text")

    info = ErrorInfo(type="Weird", message="")
    explain_error(info, Weird())  # must not raise
    assert info.explanation == ""


# --- through the command line -------------------------------------------------------------

def render(*args, timeout=120):
    return subprocess.run(gradviz_cmd() + ["render", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def test_cli_broadcast_in_korean_and_json(tmp_path):
    script = tmp_path / "bad_shapes.py"
    script.write_text("import torch\nw = torch.ones(3, requires_grad=True)\n"
                      "loss = (w * 2).sum()\nloss.backward()\n"
                      "x = torch.ones(2, 3)\ny = x + torch.ones(2)\n")
    r = render(script, "-o", tmp_path, "-f", "svg,json", "--lang", "ko")
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert "error: bad_shapes.py line 6: RuntimeError: The size of tensor a (3)" in r.stderr
    assert "브로드캐스팅" in r.stderr and "^" in r.stderr and "해결:" in r.stderr
    doc = json.loads((tmp_path / "bad_shapes.json").read_text())
    err = doc["error"]
    assert err["type"] == "RuntimeError" and err["message"].startswith("The size of tensor a")
    assert "x: [2, 3]" in err["explanation"] and "브로드캐스팅" in err["explanation_ko"]
    assert err["line"] == 6 and err["hint"] and err["hint_ko"]
    assert (tmp_path / "bad_shapes-1.svg").exists()  # the graph recorded before the failure


def test_cli_saved_tensor_versions(tmp_path):
    script = tmp_path / "inplace.py"
    script.write_text("import torch\nx = torch.tensor([1.0, 2.0], requires_grad=True)\n"
                      "y = x.exp()\ny += 1\ny.sum().backward()\n")
    r = render(script, "-o", tmp_path, "-f", "json")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "version 0" in r.stderr and "version 1" in r.stderr and "`y += 1` on line 4" in r.stderr
    err = json.loads((tmp_path / "inplace.json").read_text())["error"]
    assert err["node"] and "y.clone()" in err["hint"]
    g = json.loads((tmp_path / "inplace.json").read_text())["graphs"][-1]
    culprit = next(n for n in g["nodes"] if n["id"] == err["node"])
    assert culprit["name"] == "y" and culprit["op"] == "ExpBackward0"
