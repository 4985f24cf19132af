"""Big graphs (issue 6), functional checks only: times are measured by bench/bench_scale.py.

W8a (200-layer MLP), W8b (6-layer transformer) and W9 (LSTMCell unrolled 50
steps) are the benchmark's own workloads.
"""
import re
import sys

import pytest

torch = pytest.importorskip("torch")

import gradviz  # noqa: E402
from gradviz.recording import Recording  # noqa: E402
from gradviz.render.collapse import make_view  # noqa: E402
from gradviz.render.dot import graph_to_dot  # noqa: E402
from gradviz.render.style import CURRENT  # noqa: E402
from gradviz.render.svg import placeholder, render_graph, run_dot  # noqa: E402

from conftest import ROOT  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from workloads import build  # noqa: E402


@pytest.fixture(scope="module")
def recorded():
    cache = {}

    def get(key: str) -> Recording:
        if key not in cache:
            torch.manual_seed(0)
            run = build(key)
            with gradviz.record(explain=False) as rec:
                run()
            cache[key] = rec
        return cache[key]
    return get


def svg_ids(svg: str) -> set[str]:
    """The graph node ids in dot's SVG (dot writes the "-" of node-<id> as &#45;)."""
    return set(re.findall(r'id="node(?:-|&#45;)([^"]+)"', svg))


def test_w9_renders_completely_every_op(recorded, artifacts):
    g = recorded("W9").graph
    ops = [n.id for n in g.nodes if n.kind == "op"]
    assert len(ops) >= 750 and len(g.steps) >= 750
    svg = render_graph(g, "svg", budget=0).decode()
    (artifacts / "scale-w9-full.svg").write_text(svg)
    assert "could not be laid out" not in svg and "layout took over" not in svg
    shown = svg_ids(svg)
    assert set(ops) <= shown  # every op, none collapsed
    # the four shared weights: drawn once per use, each copy named like the tensor
    weights = [n for n in g.nodes if n.is_leaf and n.requires_grad]
    assert {n.name for n in weights} == {"cell.weight_ih", "cell.weight_hh", "cell.bias_ih",
                                         "cell.bias_hh"}
    for w in weights:
        copies = {i for i in shown if i.startswith(w.id + "~")}
        assert len(copies) == 50, w.name


def test_w9_default_picture_collapses_and_folds(recorded):
    g = recorded("W9").graph
    assert g.modules["cell"]["calls"] == 50
    v = make_view(g)
    assert v.auto and len(v.graph.nodes) <= 300
    folded = make_view(g, fold=True)
    mods = [n for n in folded.graph.nodes if n.kind == "module"]
    assert len(mods) == 1 and mods[0].attrs["repeat"] == 50 and mods[0].attrs["class"] == "LSTMCell"


def test_auto_collapse_notice_above_budget(recorded, artifacts):
    g = recorded("W8a").graph
    assert len(g.nodes) > 1000
    svg = g.svg()  # the default budget applies
    (artifacts / "scale-w8a-default.svg").write_text(svg)
    assert "collapsed to module depth" in svg and "to stay under 300" in svg
    assert len(svg_ids(svg)) <= 300
    assert "Sequential" in svg  # the collapsed module says what it is
    full = graph_to_dot(g, budget=0)
    assert "collapsed" not in full and full.count("->") >= len(g.edges) - 5


def test_w8b_collapses_by_layers_and_folds_them(recorded):
    g = recorded("W8b").graph
    layers = [m for m, info in g.modules.items() if info["class"] == "TransformerEncoderLayer"]
    assert len(layers) == 6
    v = make_view(g, depth=1)
    mods = {n.module: n for n in v.graph.nodes if n.kind == "module"}
    assert set(layers) <= set(mods)
    info = mods[layers[0]].attrs
    assert info["params"] == g.modules[layers[0]]["params"] > 100_000
    assert [8, 32, 128] in info["inputs"] and [8, 32, 128] in info["outputs"]
    folded = make_view(g, fold=True)
    reps = [n.attrs["repeat"] for n in folded.graph.nodes if n.kind == "module"]
    assert reps == [6]


def test_collapsed_step_highlights_the_module(recorded):
    g = recorded("W8b").graph
    v = make_view(g, depth=1)
    k, mod = next((k, v.owner[s.node]) for k, s in enumerate(g.steps)
                  if v.owner.get(s.node, s.node) != s.node)
    assert mod.startswith("m")
    dot = graph_to_dot(g, depth=1, step=k)
    line = next(x for x in dot.splitlines() if x.startswith(f'  "{mod}" '))
    assert CURRENT in line and "penwidth=3" in line
    svg = run_dot(dot).decode()
    assert mod in svg_ids(svg)


def test_w8b_json_is_small_and_round_trips(recorded):
    rec = recorded("W8b")
    text = rec.to_json()
    assert len(text.encode()) < 20 * 1024 * 1024
    back = Recording.from_json(text)
    assert back.to_json() == text
    assert back.graph.modules == rec.graph.modules


def test_every_layout_has_a_time_limit_and_a_fallback_with_a_notice(recorded):
    g = recorded("W9").graph
    dot = graph_to_dot(g, budget=0, split=None)  # the unsplit graph: minutes for plain dot
    out = run_dot(dot, "svg", timeout=0.001).decode()
    assert "could not be laid out" in out and "--depth" in out
    out = render_graph(g, "svg", timeout=0.001, budget=0, split=None).decode()
    assert "could not be laid out" in out or "collapsed view" in out
    png = placeholder("png", 5, 1.0)
    assert png[:4] == b"\x89PNG"


def test_longest_chain_is_one_straight_column(recorded):
    """The spine (input -> loss, the longest chain) is drawn as one column: same x for every node."""
    g = recorded("W8a").graph
    text = graph_to_dot(g, budget=0)
    spine = re.findall(r'^  "([^"]+)" \[group="spine"', text, flags=re.M)
    # 200 x (linear, its output, relu, its output) + pow, mean and their outputs, one input
    assert len(spine) >= 4 * 200
    assert g.root in spine
    # the biases hang off the column
    assert not any((g.node(i).name or "").endswith(".bias") for i in spine)
    plain = run_dot(text, "plain").decode()
    xs = {float(parts[2]) for line in plain.splitlines()
          if (parts := line.split())[0] == "node" and parts[1].strip('"') in set(spine)}
    assert max(xs) - min(xs) < 0.01, xs


def test_an_unbound_sequence_sits_beside_its_steps(recorded):
    """W7's nn.RNN unbinds x into 15 slices: each is drawn beside the step that reads it,
    not all in one row under x (a picture seven thousand points wide), and every edge is drawn."""
    g = recorded("W7").graph
    unbind = next(n for n in g.nodes if n.kind == "op" and n.forward_op == "unbind")
    slices = [e.dst for e in g.edges if e.src == unbind.id]
    assert len(slices) == 15
    text = graph_to_dot(g, budget=0)
    assert "concentrate=true" in text
    plain = run_dot(text, "plain").decode()
    y = {parts[1].strip('"'): float(parts[3]) for line in plain.splitlines()
         if (parts := line.split())[0] == "node"}
    assert len({round(y[s], 2) for s in slices}) == 15  # one row per slice
    for s in slices:  # right above the op that reads it (one rank: less than 1.5 inches)
        reader = next(e.dst for e in g.edges if e.src == s)
        assert 0 < y[s] - y[reader] < 1.5, (s, y[s], y[reader])
    svg = run_dot(text, "svg").decode()
    assert svg.count('class="edge"') == len(g.edges)
