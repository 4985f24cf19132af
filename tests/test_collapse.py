"""Views of big graphs (render/collapse.py): depth, budget, fold, fan-in split, the stepper.

Most tests build small Graphs by hand (plain data, no torch); a few record real
modules to check that capture fills Graph.modules the way collapse reads it.
"""
import subprocess
import sys

import pytest

from gradviz.recording import Edge, Graph, Node, Step
from gradviz.render.collapse import DEFAULT_BUDGET, make_view
from gradviz.render.dot import graph_to_dot
from gradviz.render.style import CURRENT


def chain_graph(layers: int = 4, calls: int = 1, shared: bool = False) -> Graph:
    """x -> [net.i: weight_i, mm_i -> h_i] -> ... -> loss, optionally one cell called `calls` times.

    With calls > 1 every step runs the same module "cell" (an unrolled RNN):
    one weight `cell.weight`, read by every call.
    """
    nodes = [Node(id="x", kind="tensor", name="x", label="x", shape=[2, 3], constant=True,
                  is_leaf=True)]
    edges: list[Edge] = []
    modules: dict = {"net": {"class": "Sequential", "params": 0, "parent": None, "calls": 1}}
    prev = "x"
    steps = []
    n = calls if calls > 1 else layers
    call_of: dict[str, int] = {}
    if calls > 1:
        modules = {"cell": {"class": "RNNCell", "params": 9, "parent": None, "calls": calls}}
        nodes.append(Node(id="w", kind="tensor", name="cell.weight", label="cell.weight",
                          shape=[3, 3], requires_grad=True, is_leaf=True))
    for i in range(n):
        mod = "cell" if calls > 1 else f"net.{i}"
        if calls == 1:
            modules[mod] = {"class": "Linear", "params": 9, "parent": "net", "calls": 1}
            wid = f"w{i}"
            nodes.append(Node(id=wid, kind="tensor", name=f"{mod}.weight", label=f"{mod}.weight",
                              shape=[3, 3], requires_grad=True, is_leaf=True))
        else:
            wid = "w"
        op, t = f"op{i}", f"t{i}"
        nodes.append(Node(id=op, kind="op", op="MmBackward0", forward_op="mm", label="MmBackward0",
                          module=mod))
        nodes.append(Node(id=t, kind="tensor", label="mm", shape=[2, 3], requires_grad=True,
                          module=mod, op="MmBackward0"))
        edges += [Edge(prev, op), Edge(wid, op), Edge(op, t)]
        call_of[op] = call_of[t] = i
        prev = t
        steps.append(Step(index=0, node=op, op="MmBackward0"))
    if calls > 1:
        modules["cell"]["call_of"] = call_of
    nodes.append(Node(id="opL", kind="op", op="SumBackward0", forward_op="sum", label="SumBackward0"))
    nodes.append(Node(id="loss", kind="tensor", name="loss", label="loss", output=True,
                      requires_grad=True))
    edges += [Edge(prev, "opL"), Edge("opL", "loss")]
    steps = [Step(index=0, node="opL", op="SumBackward0")] + steps[::-1]
    if calls > 1:
        steps.append(Step(index=0, node="w", op="AccumulateGrad"))
    else:
        steps += [Step(index=0, node=f"w{i}", op="AccumulateGrad") for i in range(n)]
    for k, s in enumerate(steps):
        s.index = k
    # the root first, as capture orders them
    nodes = [nodes[-1], nodes[-2]] + nodes[:-2]
    return Graph(index=0, nodes=nodes, edges=edges, steps=steps, root="loss", modules=modules)


def ids(view) -> set[str]:
    return {n.id for n in view.graph.nodes}


def test_no_options_no_change_for_small_graphs():
    g = chain_graph(3)
    v = make_view(g)
    assert [n.id for n in v.graph.nodes] == [n.id for n in g.nodes]
    assert [(e.src, e.dst) for e in v.graph.edges] == [(e.src, e.dst) for e in g.edges]
    assert v.notices == [] and all(v.owner[n.id] == n.id for n in g.nodes)


def test_depth_one_collapses_each_layer_with_its_weight():
    g = chain_graph(4)
    v = make_view(g, depth=1)
    mods = [n for n in v.graph.nodes if n.kind == "module"]
    assert sorted(m.module for m in mods) == ["net.0", "net.1", "net.2", "net.3"]
    # the weights went inside their layer; the named input x and the loss stay
    assert {"x", "loss", "opL"} <= ids(v) and not any(i.startswith("w") for i in ids(v))
    m0 = next(m for m in mods if m.module == "net.0")
    assert m0.attrs["class"] == "Linear" and m0.attrs["params"] == 9
    assert m0.attrs["inputs"] == [[2, 3]] and m0.attrs["outputs"] == [[2, 3]]
    # every recorded node is drawn by exactly one visible node; no self-loops, no duplicates
    assert set(v.owner) == {n.id for n in g.nodes}
    assert set(v.owner.values()) <= ids(v)
    pairs = [(e.src, e.dst) for e in v.graph.edges]
    assert len(pairs) == len(set(pairs)) and all(a != b for a, b in pairs)
    assert ("x", v.owner["op0"]) in pairs and (v.owner["t3"], "opL") in pairs


def test_depth_zero_is_one_node_per_top_level_module():
    v = make_view(chain_graph(4), depth=0)
    mods = [n for n in v.graph.nodes if n.kind == "module"]
    assert len(mods) == 1 and mods[0].module == "net" and mods[0].attrs["class"] == "Sequential"
    assert len(v.graph.nodes) == 4  # loss, sum, the module, x


def test_expand_keeps_a_module_open():
    v = make_view(chain_graph(4), depth=1, expand={"net.2"})
    assert "op2" in ids(v) and "t2" in ids(v)
    assert v.owner["op1"] != "op1"


def test_budget_collapses_to_the_deepest_depth_that_fits_and_says_so():
    g = chain_graph(60)  # 60 layers: 183 nodes in all; 63 at depth 1, 4 at depth 0
    assert len(make_view(g, budget=0).graph.nodes) == len(g.nodes) == 183
    assert make_view(g, budget=200).depth is None  # fits: nothing to do
    v1 = make_view(g, budget=100)
    assert v1.auto and v1.depth == 1 and len(v1.graph.nodes) == 63
    v = make_view(g, budget=50)
    assert v.auto and v.depth == 0 and len(v.graph.nodes) <= 50
    assert any("collapsed to module depth 0" in t for t in v.notices)
    dot = graph_to_dot(g, budget=50)
    assert "collapsed to module depth 0" in dot
    assert DEFAULT_BUDGET == 300


def test_without_modules_the_budget_hides_unnamed_tensors():
    g = chain_graph(60)
    g.modules = {}
    for n in g.nodes:
        n.module = None
    v = make_view(g, budget=150)
    assert v.tensors_hidden and len(v.graph.nodes) <= 150
    assert {"x", "loss"} <= ids(v) and "t5" not in ids(v)
    assert any("intermediate tensors hidden" in t for t in v.notices)


def test_fold_repeated_calls_into_one_node_with_the_shared_weight():
    g = chain_graph(calls=12)
    v = make_view(g, fold=True)
    mods = [n for n in v.graph.nodes if n.kind == "module"]
    assert len(mods) == 1 and mods[0].attrs["repeat"] == 12 and mods[0].module == "cell"
    assert "w" not in ids(v)  # the weight every call shares went into the fold
    dot = graph_to_dot(g, fold=True)
    assert "×12" in dot and "box3d" in dot


def test_fold_runs_of_sibling_blocks():
    v = make_view(chain_graph(6), fold=True)
    mods = [n for n in v.graph.nodes if n.kind == "module"]
    assert len(mods) == 1 and mods[0].attrs["repeat"] == 6
    assert mods[0].label == "net.0 … net.5"


def test_unfolded_calls_are_kept_apart():
    """depth 0 on an unrolled cell: one node per call, not one node with a loop."""
    g = chain_graph(calls=12)
    v = make_view(g, depth=0, split=None)
    mods = [n for n in v.graph.nodes if n.kind == "module"]
    assert len(mods) == 12 and mods[0].label.startswith("cell (call")
    assert sum(1 for e in v.graph.edges if e.src == "w") == 12


def test_high_fan_in_leaf_is_drawn_once_per_use():
    g = chain_graph(calls=12)
    v = make_view(g, budget=0)  # every op, and the shared weight split
    copies = v.visible("w")
    assert len(copies) == 12 and "w" not in ids(v)
    out = {c: [e.dst for e in v.graph.edges if e.src == c] for c in copies}
    assert all(len(d) == 1 for d in out.values())
    assert {d[0] for d in out.values()} == {f"op{i}" for i in range(12)}
    copy_nodes = [n for n in v.graph.nodes if n.id in copies]
    assert all(n.name == "cell.weight" and n.attrs["of"] == "w" for n in copy_nodes)
    dot = graph_to_dot(g, budget=0)
    assert dot.count("use ") >= 12 and "dashed" in dot  # it reads as one tensor, used 12 times
    assert len(make_view(g, budget=0, split=None).visible("w")) == 1


def test_step_inside_a_collapsed_module_highlights_the_module():
    g = chain_graph(4)
    k = next(i for i, s in enumerate(g.steps) if s.node == "op2")
    v = make_view(g, depth=1)
    mod = v.owner["op2"]
    dot = graph_to_dot(g, depth=1, step=k)
    line = next(x for x in dot.splitlines() if x.startswith(f'  "{mod}"'))
    assert CURRENT in line and "penwidth=3" in line
    # the modules whose steps come later are drawn as still to come
    later = v.owner["op0"]
    line0 = next(x for x in dot.splitlines() if x.startswith(f'  "{later}"'))
    assert "dashed" in line0 and CURRENT not in line0


def test_accumulate_step_of_a_split_leaf_highlights_every_copy():
    g = chain_graph(calls=12)
    k = next(i for i, s in enumerate(g.steps) if s.op == "AccumulateGrad")
    dot = graph_to_dot(g, budget=0, step=k)
    marked = [x for x in dot.splitlines() if x.startswith('  "w~') and CURRENT in x]
    assert len(marked) == 12


def test_collapse_and_dot_need_no_torch():
    code = ("import sys, gradviz.render.collapse, gradviz.render.dot, gradviz.render.svg; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- with real modules ------------------------------------------------------------------


torch = pytest.importorskip("torch")


def test_recorded_modules_have_class_params_parent_and_calls():
    import gradviz

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    cell = torch.nn.RNNCell(2, 2)
    x = torch.randn(5, 3)
    with gradviz.record() as rec:
        h = torch.zeros(1, 2)
        for _ in range(3):
            h = cell(torch.ones(1, 2), h)
        (model(x).sum() + h.sum()).backward()
    m = rec.graph.modules
    assert m["model"]["class"] == "Sequential" and m["model"]["params"] == 21
    assert m["model.0"] == {**m["model.0"], "class": "Linear", "params": 16, "parent": "model",
                            "calls": 1}
    assert m["cell"]["calls"] == 3 and set(m["cell"]["call_of"].values()) == {0, 1, 2}
    # ops inside lstm/rnn cells (C++) take the cell's module too
    ops = [n for n in rec.graph.nodes if n.kind == "op" and n.module == "cell"]
    assert len(ops) > 3
    v = make_view(rec.graph, depth=0)
    labels = sorted(n.label for n in v.graph.nodes if n.kind == "module")
    assert labels == ["cell (call 1/3)", "cell (call 2/3)", "cell (call 3/3)", "model"]
    back = type(rec).from_json(rec.to_json())
    assert back.graph.modules == rec.graph.modules


def test_unnamed_model_gets_qualified_module_names():
    import gradviz

    def make():
        return torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh())

    x = torch.randn(3, 2)
    with gradviz.record() as rec:
        make()(x).sum().backward()  # no variable names the model
    mods = {n.module for n in rec.graph.nodes if n.module}
    assert mods == {"Sequential.0", "Sequential.1"}
    assert rec.graph.modules["Sequential.0"]["parent"] == "Sequential"
