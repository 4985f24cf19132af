"""Graph -> Graphviz DOT: micrograd's record picture for real tensors.

Each tensor is one box `name | data | grad` with its shape and flags; ops are
smaller ellipses between them. Everything that came from user code is escaped,
so no label can break the DOT.
"""
from __future__ import annotations

import html
from typing import Any

from gradviz.recording import Graph, Node, Step
from gradviz.render.style import (CURRENT, EDGE, FILL, FONT, FUTURE_FILL, GRAD, OP_SYMBOL,
                                  ROLE_TEXT, TEXT, fmt_number, fmt_shape, fmt_value)


def esc(text: Any) -> str:
    """Escape for an HTML-like Graphviz label."""
    return html.escape(str(text), quote=True).replace("\n", "<BR/>")


def quote(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def graph_to_dot(
    graph: Graph,
    *,
    values: bool = True,
    grads: bool = True,
    constants: bool = True,
    attrs: bool = True,
    legend: bool = True,
    rankdir: str = "LR",
    step: int | None = None,
    lang: str = "en",
    title: str | None = None,
    **_: Any,
) -> str:
    """DOT text for `graph`; with `step=k`, the picture of backward after step k."""
    state = _StepState(graph, step) if step is not None and graph.steps else None
    hidden = set() if constants else {n.id for n in graph.nodes if n.constant}
    out = [
        "digraph gradviz {",
        f"  graph [rankdir={rankdir if rankdir in ('LR', 'TB', 'RL', 'BT') else 'LR'}, "
        f'bgcolor="transparent", fontname="{FONT}", fontcolor="{EDGE}", nodesep=0.25, ranksep=0.35];',
        f'  node [fontname="{FONT}", fontsize=11, fontcolor="{TEXT}", color="{TEXT}", penwidth=1];',
        f'  edge [color="{EDGE}", fontname="{FONT}", fontsize=10, arrowsize=0.7];',
    ]
    heading = title if title is not None else _heading(graph, state, lang)
    if heading:
        out.append(f'  labelloc="t"; label={quote(heading)};')
    for n in graph.nodes:
        if n.id in hidden:
            continue
        if n.kind == "op":
            out.append(_op_node(n, attrs, state))
        else:
            out.append(_tensor_node(n, values, grads, state))
    for e in graph.edges:
        if e.src in hidden or e.dst in hidden:
            continue
        out.append(_edge(e.src, e.dst, state))
    if legend:
        out.extend(_legend(lang))
    out.append("}")
    return "\n".join(out) + "\n"


class _StepState:
    """What the picture of step k knows: done, current, to come, grads so far."""

    def __init__(self, graph: Graph, k: int):
        steps = graph.steps
        self.k = max(0, min(k, len(steps) - 1))
        self.current: Step = steps[self.k]
        self.done = {s.node for s in steps[: self.k]}
        self.todo = {s.node for s in steps[self.k + 1:]} - self.done - {self.current.node}
        self.edge_grad: dict[tuple[str, str], str] = {}
        self.leaf_grad: dict[str, Any] = {}
        self.filled: set[str] = set()
        for s in steps[: self.k + 1]:
            for gi in s.grad_inputs:
                if gi.edge_to:
                    self.edge_grad[(gi.edge_to, s.node)] = fmt_value(gi.grad, gi.summary, width=3)
            if s.op == "AccumulateGrad":
                self.leaf_grad[s.node] = s.grad_after
                self.filled.add(s.node)

    def grad_of(self, n: Node) -> tuple[Any, dict | None]:
        if n.id in self.filled:
            if self.leaf_grad.get(n.id) is None and n.grad_summary:
                return None, n.grad_summary
            return self.leaf_grad.get(n.id), None
        return None, None


def _heading(graph: Graph, state: _StepState | None, lang: str) -> str:
    if state is None:
        return graph.title
    s = state.current
    word = "단계" if lang == "ko" else "step"
    return f"{word} {state.k + 1}/{len(graph.steps)}: {s.op}"


def _tensor_node(n: Node, values: bool, grads: bool, state: _StepState | None) -> str:
    fill = FILL[n.role]
    border, width = TEXT, 1
    if state is not None:
        if n.id == state.current.node:
            border, width = CURRENT, 3
        elif n.id in state.todo:
            fill = FUTURE_FILL
    name = esc(n.label or n.name or "?")
    if n.name is None and not n.constant:
        name = f"<I>{name}</I>"
    flags = []
    if n.constant:
        flags.append("const")
    else:
        if n.requires_grad:
            flags.append("requires_grad")
        if n.is_leaf:
            flags.append("leaf")
        if n.retains_grad:
            flags.append("retain_grad")
    sub = esc(fmt_shape(n.shape) + ("  " + " · ".join(flags) if flags else ""))
    cells = [f'<TD ALIGN="LEFT"><B>{name}</B><BR/><FONT POINT-SIZE="8">{sub}</FONT></TD>']
    if values:
        cells.append(f"<TD>data {esc(fmt_value(n.value, n.summary))}</TD>")
    if grads and not n.constant:
        if state is not None:
            g, gs = state.grad_of(n)
        else:
            g, gs = n.grad, n.grad_summary
        text = fmt_value(g, gs)
        if g is None and gs is None and not n.is_leaf and not n.retains_grad:
            text += " (not a leaf)"
        cells.append(f"<TD>grad {esc(text)}</TD>")
    outer = f'BORDER="3" COLOR="{border}" ' if width > 1 else 'BORDER="0" '
    label = (f'<<TABLE {outer}CELLBORDER="1" CELLSPACING="0" CELLPADDING="4" '
             f'BGCOLOR="{fill}"><TR>{"".join(cells)}</TR></TABLE>>')
    tooltip = n.source or n.note or n.label
    return (f'  {quote(n.id)} [shape=plain, label={label}, tooltip={quote(tooltip or "")}, '
            f'id={quote("node-" + n.id)}];')


def _op_node(n: Node, attrs: bool, state: _StepState | None) -> str:
    fill, border, width, style = FILL["op"], TEXT, 1, "filled"
    if state is not None:
        if n.id == state.current.node:
            border, width, style = CURRENT, 3, "filled,bold"
        elif n.id in state.todo:
            fill, style = FUTURE_FILL, "filled,dashed"
    sym = OP_SYMBOL.get(n.forward_op or "", n.forward_op or "")
    lines = [f"<B>{esc(sym)}</B>" if sym else "", f'<FONT POINT-SIZE="9">{esc(n.op or "")}</FONT>']
    if attrs and n.attrs:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in list(n.attrs.items())[:3])
        lines.append(f'<FONT POINT-SIZE="8">{esc(shown)}</FONT>')
    label = "<" + "<BR/>".join(x for x in lines if x) + ">"
    tip = f"line {n.line}: {n.source}" if n.line and n.source else (n.op or "")
    return (f'  {quote(n.id)} [shape=ellipse, style="{style}", fillcolor="{fill}", color="{border}", '
            f'penwidth={width}, margin="0.05,0.02", label={label}, tooltip={quote(tip)}, '
            f'id={quote("node-" + n.id)}];')


def _short(v: Any) -> str:
    if isinstance(v, list):
        return "(" + ",".join(_short(x) for x in v[:4]) + (",…" if len(v) > 4 else "") + ")"
    return fmt_number(v)


def _edge(src: str, dst: str, state: _StepState | None) -> str:
    if state is not None and (src, dst) in state.edge_grad:
        g = state.edge_grad[(src, dst)]
        return (f'  {quote(src)} -> {quote(dst)} [color="{GRAD}", penwidth=2, '
                f'label=<<FONT COLOR="{GRAD}">∂ {esc(g)}</FONT>>];')
    return f"  {quote(src)} -> {quote(dst)};"


def _legend(lang: str) -> list[str]:
    words = ROLE_TEXT.get(lang, ROLE_TEXT["en"])
    rows = "".join(
        f'<TR><TD BGCOLOR="{FILL[r]}" WIDTH="14"> </TD><TD ALIGN="LEFT">{esc(words[r])}</TD></TR>'
        for r in ("leaf", "intermediate", "constant", "output", "op")
    )
    return [
        '  subgraph cluster_legend { label=""; color="transparent";',
        f'    legend [shape=plain, fontsize=9, label=<<TABLE BORDER="0" CELLBORDER="0" '
        f'CELLSPACING="2" CELLPADDING="2" BGCOLOR="#ffffff" COLOR="{EDGE}">{rows}</TABLE>>];',
        "  }",
    ]


__all__ = ["graph_to_dot", "esc", "fmt_number"]
