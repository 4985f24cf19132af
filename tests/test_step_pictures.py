"""--steps pictures of a big graph: one layout, each step marked (gradviz/render/stepsvg.py)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import torch
from torch import nn

import gradviz
from gradviz.render.files import graph_bytes
from gradviz.render.stepview import use_overview


def _rnn_graph():
    torch.manual_seed(0)
    rnn = nn.RNN(4, 4)
    x = torch.randn(20, 1, 4)
    with gradviz.record(explain=False) as rec:
        out, _ = rnn(x)
        out.pow(2).sum().backward()
    return rec.graph


def _positions(svg: str) -> list[str]:
    return re.findall(r'<g id="node-[^"]+" class="node">\s*<title>[^<]*</title>\s*<[a-z]+ [^>]*', svg)


def test_every_step_picture_marks_its_own_step_on_one_layout():
    g = _rnn_graph()
    assert use_overview(g), "the graph must be one the stepper shows as an overview"
    pictures = [graph_bytes(g, "svg", step=k).decode() for k in (0, len(g.steps) // 2, len(g.steps) - 1)]
    for k, svg in zip((0, len(g.steps) // 2, len(g.steps) - 1), pictures):
        ET.fromstring(svg)  # well-formed
        step = g.steps[k]
        assert f"step {k + 1}/{len(g.steps)}: {step.op}" in svg
        marked = re.search(r':is\(\[id="node-([^"]+)"\]\) :is\(polygon,ellipse,path\) \{stroke', svg)
        assert marked is not None and marked.group(1) == step.node
        assert f'id="node-{step.node}"' in svg
    # the same layout: every node where it was
    assert _positions(pictures[0]) == _positions(pictures[1]) == _positions(pictures[2])
    # no .grad cells: one layout cannot show each step's .grad
    assert ">grad " not in pictures[1]
