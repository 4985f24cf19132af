"""Step pictures of a big graph from one layout: the overview SVG, the step marked by CSS.

`gradviz render --steps` draws one SVG per backward step. For a graph the stepper
also shows as one overview (stepview.use_overview: hundreds of nodes or steps),
a layout per step costs seconds each (an unrolled 2,000-node graph: about 10 s
for `dot` alone, 986 steps), so here the overview is laid out once and each step's
picture is that SVG with a style sheet that marks the step: the node the step runs
outlined in the current colour, nodes whose steps are still to come greyed, and
the step's heading in a corner. The gradients themselves are in the JSON and the
HTML stepper: this picture has no .grad cells and no gradients on its edges.
"""
from __future__ import annotations

import html
from typing import Any

from gradviz.recording import Graph
from gradviz.render.collapse import DEFAULT_BUDGET, SPLIT_FANIN, make_view
from gradviz.render.stepview import step_view
from gradviz.render.style import CURRENT, FONT, FUTURE_FILL

_LAST: dict[str, Any] = {}  # the one overview laid out last: (graph, options) -> (view, svg)


def overview_step_svg(graph: Graph, step: int, **options: Any) -> bytes:
    """Step `step`'s picture: the graph's overview SVG (laid out once) marked by CSS."""
    from gradviz.render.dot import _heading
    from gradviz.render.svg import render_graph

    # without the .grad cells: one picture cannot show each step's .grad, and the final one
    # would be wrong for every step before it (the HTML stepper shows them step by step)
    merged = {**graph.options, **options, "grads": False}
    merged.pop("step", None)
    key = repr(sorted(merged.items(), key=lambda kv: kv[0]))
    hit = _LAST.get("hit")
    if hit is None or hit[0] is not graph or hit[1] != key:
        view = make_view(graph, depth=merged.get("depth"), budget=merged.get("budget", DEFAULT_BUDGET),
                         fold=merged.get("fold", False), split=merged.get("split", SPLIT_FANIN),
                         expand=merged.get("expand", ()), lang=merged.get("lang", "en"))
        svg = render_graph(graph, "svg", **merged).decode("utf-8")
        hit = _LAST["hit"] = (graph, key, view, svg)
    _, _, view, svg = hit
    state = step_view(graph, step, view.visible)
    heading = _heading(graph, state, merged.get("lang", "en"))
    return _marked(svg, state.current, state.todo, heading).encode("utf-8")


def _selector(ids: set[str]) -> str:
    quoted = sorted('[id="node-' + i.replace("\\", "\\\\").replace('"', '\\"') + '"]' for i in ids)
    return ":is(" + ",".join(quoted) + ")"


def _marked(svg: str, current: set[str], todo: set[str], heading: str) -> str:
    rules = []
    if todo:
        rules.append(f'{_selector(todo)} :is(polygon,ellipse,path)[fill^="#"] '
                     f"{{fill: {FUTURE_FILL}}}")
    if current:
        rules.append(f"{_selector(current)} :is(polygon,ellipse,path) "
                     f"{{stroke: {CURRENT}; stroke-width: 3px}}")
    css = "<style>" + html.escape("\n".join(rules), quote=False) + "</style>"
    title = (f'<text x="6" y="16" font-family="{html.escape(FONT)}" font-size="14" '
             f'font-weight="bold" fill="{CURRENT}" stroke="#ffffff" stroke-width="3" '
             f'paint-order="stroke">{html.escape(heading)}</text>')
    head_end = svg.find(">", svg.find("<svg")) + 1
    tail = svg.rfind("</svg>")
    if head_end <= 0 or tail < head_end:
        return svg
    return svg[:head_end] + css + svg[head_end:tail] + title + svg[tail:]
