"""Graph -> Graphviz DOT: micrograd's record picture for real tensors.

Each tensor is one box `name | data | grad` with its shape and flags; ops are
smaller ellipses between them. Everything that came from user code is escaped,
so no label can break the DOT.

Big graphs go through render/collapse.py first: `depth=` collapses nn.Modules
into one node each, `budget=` (default 300 visible nodes) picks the depth by
itself, `fold=True` folds repeated blocks into one node marked xN, and leaves
read by many ops are drawn once per use. The picture says what was done. The
stepper (`step=k`) works on the collapsed picture too: a step inside a
collapsed module highlights the module.
"""
from __future__ import annotations

import html
import inspect
import re
from typing import Any

from gradviz.numbers import fmt_number, fmt_shape, fmt_value
from gradviz.recording import Graph, Node
from gradviz.render.collapse import DEFAULT_BUDGET, SPLIT_FANIN, View, make_view
from gradviz.render.stepview import LEGEND_ROLES, StepView, step_view
from gradviz.render.style import (CURRENT, EDGE, FILL, FONT, FUTURE_FILL, GRAD, OP_SYMBOL,
                                  ROLE_TEXT, TEXT)
from gradviz.words import N_, tr, tr_in


def esc(text: Any) -> str:
    """Escape for an HTML-like Graphviz label."""
    return html.escape(str(text), quote=True).replace("\n", "<BR/>")


def quote(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def ranks(graph: Graph) -> int:
    """Nodes on the longest path: how many ranks `dot` lays out."""
    return len(longest_chain(graph))


def _rankdir_for(ranks: int) -> str:
    """LR for shallow graphs (micrograd's picture), TB once a chain gets long."""
    return "LR" if ranks <= AUTO_LR_MAX_RANKS else "TB"


def longest_chain(graph: Graph, hidden: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """The longest chain of nodes (inputs first) that ends at an output; hidden nodes left out.

    Kahn's topological order, one pass: nodes on a cycle (none in an autograd
    graph) are simply left out.
    """
    preds: dict[str, list[str]] = {}
    succs: dict[str, list[str]] = {}
    for e in graph.edges:
        if e.src not in hidden and e.dst not in hidden and e.src != e.dst:
            preds.setdefault(e.dst, []).append(e.src)
            succs.setdefault(e.src, []).append(e.dst)
    waiting = {n.id: len(preds.get(n.id, ())) for n in graph.nodes if n.id not in hidden}
    ready = [i for i, k in waiting.items() if k == 0]
    # on a tie, data wins over a parameter (x -> mm -> h, w1 beside it), and a parameter
    # over a number (w -> mul -> a, the 3 beside it)
    side = {n.id: 0 if n.constant and not n.name else 1 for n in graph.nodes
            if n.is_leaf and n.requires_grad or n.constant and not n.name}
    length: dict[str, int] = {}
    via: dict[str, str | None] = {}
    while ready:
        i = ready.pop()
        best = max(preds.get(i, ()), key=lambda p: (length[p], side.get(p, 2)), default=None)
        length[i] = 1 + (length[best] if best is not None else 0)
        via[i] = best
        for j in succs.get(i, ()):
            waiting[j] -= 1
            if waiting[j] == 0:
                ready.append(j)
    node = max((i for i in length if i not in succs), key=length.__getitem__, default=None)
    chain = []
    while node is not None:
        chain.append(node)
        node = via[node]
    return chain[::-1]


AUTO_LR_MAX_RANKS = 7  # deeper graphs read better top to bottom


def auto_rankdir(graph: Graph) -> str:
    """The picture's direction when none is asked for (see _rankdir_for)."""
    return _rankdir_for(ranks(graph))


def graph_to_dot(
    graph: Graph,
    *,
    lang: str = "en",
    depth: int | None = None,
    budget: int | None = DEFAULT_BUDGET,
    fold: bool = False,
    split: int | None = SPLIT_FANIN,
    expand: Any = (),
    **drawing: Any,
) -> str:
    """DOT text for `graph`; with `step=k`, the picture of backward after step k.

    depth: collapse nn.Modules nested deeper than this into one node each
        (0: every top-level module is one node; None: no collapsing).
    budget: with depth None, collapse automatically to the deepest depth that
        keeps at most this many visible nodes (None or 0: show every node).
    fold: fold runs of identical module calls (encoder layers, unrolled
        steps) into one node marked xN.
    split: draw a leaf read by more than this many ops once per use (None: never).
    expand: names of modules to keep open whatever the depth.
    drawing: view_to_dot's options (values, grads, constants, attrs, legend, rankdir,
        step, title); other keys (a graph's stored options) are ignored.
    """
    view = make_view(graph, depth=depth, budget=budget, fold=fold, split=split,
                     expand=expand, lang=lang)
    return view_to_dot(view, lang=lang, **{k: v for k, v in drawing.items() if k in _DRAWING})


def graph_dot(graph: Graph, **options: Any) -> str:
    """graph_to_dot with the graph's own render defaults (graph.options) under `options`."""
    return graph_to_dot(graph, **{**graph.options, **options})


def view_to_dot(
    view: View,
    *,
    values: bool = True,
    grads: bool = True,
    constants: bool = True,
    attrs: bool = True,
    legend: bool = True,
    rankdir: str = "auto",
    step: int | None = None,
    lang: str = "en",
    title: str | None = None,
) -> str:
    """DOT text for a View from collapse.make_view (graph_to_dot makes the view for you)."""
    graph = view.graph
    state = step_view(graph, step, view.visible) if step is not None and graph.steps else None
    hidden = set() if constants else {n.id for n in graph.nodes if n.constant}
    big = len(graph.nodes) > BIG
    chain = longest_chain(graph, hidden)
    if rankdir not in ("LR", "TB", "RL", "BT"):
        rankdir = _rankdir_for(len(chain))
    # The longest chain (input to loss, usually) is one Graphviz group: a straight
    # column with everything else hanging off it. A deep net reads top to bottom
    # instead of zig-zagging, and dot places it faster (bench/bench_scale.py).
    spine = set(chain) if len(chain) >= 3 else set()
    edges = [e for e in graph.edges if e.src not in hidden and e.dst not in hidden]
    spread, fans = _fans(edges, {n.id for n in graph.nodes if n.kind == "op"})
    out = [
        "digraph gradviz {",
        f"  graph [rankdir={rankdir}, "
        f'bgcolor="transparent", fontname="{FONT}", fontcolor="{EDGE}", nodesep=0.25, ranksep=0.35'
        + (_big_layout(len(graph.nodes)) if big else "") + (", concentrate=true" if fans else "") + "];",
        f'  node [fontname="{FONT}", fontsize=11, fontcolor="{TEXT}", color="{TEXT}", penwidth=1];',
        f'  edge [color="{EDGE}", fontname="{FONT}", fontsize=10, arrowsize=0.7];',
    ]
    heading = title if title is not None else _heading(graph, state, lang)
    label = _graph_label(heading, view.notices)
    if label:
        out.append(f'  labelloc="t"; label={label};')
    for n in graph.nodes:
        if n.id in hidden:
            continue
        if n.kind == "op":
            line = _op_node(n, attrs, state, compact=big)
        elif n.kind == "module":
            line = _module_node(n, state, lang)
        elif n.attrs.get("copy", 1) > 1:
            line = _copy_node(n, state, lang)
        else:
            line = _tensor_node(n, values, grads, state, compact=big, lang=lang)
        if n.id in spine:
            head = f"  {quote(n.id)} ["
            line = head + 'group="spine", ' + line[len(head):]
        out.append(line)
    # A copy of a shared leaf pulls on nothing, so the chain it feeds stays straight
    # (with weight 1, 50 cells x 4 copies climb diagonally). Not on big graphs:
    # there, weight-0 edges make dot's placement 100x slower.
    copies = ({n.id for n in graph.nodes if n.attrs.get("copies")}
              if view.copies and not big else set())
    for e in edges:
        out.append(_edge(e.src, e.dst, state, weight0=e.src in copies, lang=lang,
                         free=e.src in spread))
    if legend:
        out.extend(_legend(lang, modules=any(n.kind == "module" for n in graph.nodes)))
    out.append("}")
    return "\n".join(out) + "\n"


_DRAWING = frozenset(inspect.signature(view_to_dot).parameters) - {"view", "lang"}


BIG = 300  # above this many nodes, a lighter layout: see _big_layout


def _big_layout(n: int) -> str:
    """Layout settings that keep `dot` fast on a graph of n nodes (measured in bench/).

    newrank: one global ranking pass (fewer passes with the legend cluster).
    nslimit: at most about 500 network-simplex iterations when placing nodes;
    an unrolled graph of 2000 nodes otherwise spends seconds there, and the
    capped result is, if anything, more compact.
    """
    return f", newrank=true, nslimit={max(0.05, min(1.0, 500 / max(n, 1))):.3f}"


def _graph_label(heading: str, notices: list[str]) -> str:
    if not notices:
        return quote(heading) if heading else ""
    parts = [f"<B>{esc(heading)}</B>"] if heading else []
    parts += [f'<FONT POINT-SIZE="10">{esc(t)}</FONT>' for t in notices]
    return "<" + "<BR/>".join(parts) + ">"


def _heading(graph: Graph, state: StepView | None, lang: str) -> str:
    if state is None:
        return graph.title
    return tr("step {k}/{n}: {op}", lang, k=state.k + 1, n=len(graph.steps), op=graph.steps[state.k].op)


def _tensor_node(n: Node, values: bool, grads: bool, state: StepView | None,
                 compact: bool = False, lang: str = "en") -> str:
    fill = FILL[n.role]
    border, width = TEXT, 1
    if state is not None:
        if n.id in state.current:
            border, width = CURRENT, 3
        elif n.id in state.todo:
            fill = FUTURE_FILL
    name = esc(n.label or n.name or "?")
    if n.name is None and not n.constant:
        name = f"<I>{name}</I>"
    flags = []
    if n.constant:
        flags.append(tr_in("graph", "const", lang))
    else:
        if n.requires_grad:
            flags.append("requires_grad")
        if n.is_leaf:
            flags.append("leaf")
        if n.retains_grad:
            flags.append("retain_grad")
    if compact:
        return _plain_tensor_node(n, values, grads, state, fill, border, width, flags, lang)
    sub = esc(_shape(n.shape, lang) + ("  " + " · ".join(flags) if flags else ""))
    cells = [f'<TD ALIGN="LEFT"><B>{name}</B><BR/><FONT POINT-SIZE="8">{sub}</FONT></TD>']
    if values:
        cells.append(f"<TD>{esc(_data_word(lang))} {esc(localize(fmt_value(n.value, n.summary), lang))}</TD>")
    if grads and not n.constant:
        cells.append(f"<TD>{esc(_grad_word(lang))} {esc(_grad_text(n, state, lang))}</TD>")
    if n.attrs.get("copies"):
        cells[0] = cells[0].replace("</FONT></TD>", f"<BR/>{esc(_uses(n, lang))}</FONT></TD>", 1)
    outer = f'BORDER="3" COLOR="{border}" ' if width > 1 else 'BORDER="0" '
    # A big graph gets one cell (lines stacked): table layout is a good part of dot's time.
    row = ("<TR>" + "".join(cells) + "</TR>" if not compact else
           '<TR><TD ALIGN="LEFT" BALIGN="LEFT">' + "<BR/>".join(c[c.index(">") + 1:-5] for c in cells)
           + "</TD></TR>")
    label = (f'<<TABLE {outer}CELLBORDER="1" CELLSPACING="0" CELLPADDING="4" '
             f'BGCOLOR="{fill}">{row}</TABLE>>')
    tooltip = n.source or n.note or n.label
    return (f'  {quote(n.id)} [shape=plain, label={label}, tooltip={quote(tooltip or "")}, '
            f'id={quote("node-" + n.id)}];')


def _grad_text(n: Node, state: StepView | None, lang: str = "en") -> str:
    g, gs = state.grad_of(n) if state is not None else (n.grad, n.grad_summary)
    text = localize(fmt_value(g, gs), lang)
    if g is None and gs is None and n.output and not n.is_leaf and not n.retains_grad:
        text += " " + tr("(not a leaf)", lang)  # why the output's .grad is None, said once where it is asked
    return text


_VALUES = re.compile(r"\((\d+) values\)")


def localize(text: str, lang: str) -> str:
    """A formatted value in `lang`: "(30 values)" and "scalar" are words, not numbers."""
    if lang == "en":
        return text
    return _VALUES.sub(lambda m: tr("({n} values)", lang, n=m.group(1)), text)


def _shape(shape: list[int], lang: str) -> str:
    text = fmt_shape(shape)
    return tr("scalar", lang) if text == "scalar" else text


def _data_word(lang: str) -> str:
    return tr_in("graph", "data", lang)


def _grad_word(lang: str) -> str:
    return tr_in("graph", "grad", lang)


def _plain_label(lines: list[str], end: str = "\\l") -> str:
    """A plain (not HTML-like) label, each line ended by `end` (\\l: left-aligned, \\n:
    centred): dot lays these out far faster."""
    return '"' + "".join(x.replace("\\", "\\\\").replace('"', '\\"') + end
                         for x in lines if x) + '"'


def _plain_tensor_node(n: Node, values: bool, grads: bool, state: StepView | None,
                       fill: str, border: str, width: int, flags: list[str], lang: str = "en") -> str:
    """A tensor of a big graph: the same lines as _tensor_node, in a plain box."""
    lines = [n.label or n.name or "?", _shape(n.shape, lang) + ("  " + " · ".join(flags) if flags else "")]
    if n.attrs.get("copies"):
        lines.append(_uses(n, lang))
    if values:
        lines.append(f"{_data_word(lang)} {localize(fmt_value(n.value, n.summary), lang)}")
    if grads and not n.constant:
        lines.append(f"{_grad_word(lang)} {_grad_text(n, state, lang)}")
    tooltip = n.source or n.note or n.label
    return (f'  {quote(n.id)} [shape=box, style="filled", fillcolor="{fill}", color="{border}", '
            f'penwidth={width}, margin="0.08,0.04", label={_plain_label(lines)}, '
            f'tooltip={quote(tooltip or "")}, id={quote("node-" + n.id)}];')


def _op_node(n: Node, attrs: bool, state: StepView | None, compact: bool = False) -> str:
    fill, border, width, style = FILL["op"], TEXT, 1, "filled"
    if state is not None:
        if n.id in state.current:
            border, width, style = CURRENT, 3, "filled,bold"
        elif n.id in state.todo:
            fill, style = FUTURE_FILL, "filled,dashed"
    sym = OP_SYMBOL.get(n.forward_op or "", n.forward_op or "")
    tip = f"line {n.line}: {n.source}" if n.line and n.source else (n.op or "")
    if compact:  # a big graph: plain text (see _plain_label)
        shown = [sym, n.op or ""]
        if attrs and n.attrs:
            shown.append(", ".join(f"{k}={_short(v)}" for k, v in list(n.attrs.items())[:3]))
        label = _plain_label(shown, end="\\n")
        return (f'  {quote(n.id)} [shape=ellipse, style="{style}", fillcolor="{fill}", '
                f'color="{border}", penwidth={width}, margin="0.05,0.02", fontsize=10, '
                f'label={label}, tooltip={quote(tip)}, id={quote("node-" + n.id)}];')
    lines = [f"<B>{esc(sym)}</B>" if sym else "", f'<FONT POINT-SIZE="9">{esc(n.op or "")}</FONT>']
    if attrs and n.attrs:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in list(n.attrs.items())[:3])
        lines.append(f'<FONT POINT-SIZE="8">{esc(shown)}</FONT>')
    label = "<" + "<BR/>".join(x for x in lines if x) + ">"
    return (f'  {quote(n.id)} [shape=ellipse, style="{style}", fillcolor="{fill}", color="{border}", '
            f'penwidth={width}, margin="0.05,0.02", label={label}, tooltip={quote(tip)}, '
            f'id={quote("node-" + n.id)}];')


MODULE_FILL = "#e5dbff"  # a collapsed nn.Module: violet, apart from the tensor and op roles
_MODULE_TEXT = {"params": N_("params"), "in": N_("in"), "out": N_("out"),
                "module": N_("nn.Module (collapsed)"), "calls": N_("calls"), "each": N_("each"),
                "shared": N_("shared by every call")}


def _module_node(n: Node, state: StepView | None, lang: str) -> str:
    """A collapsed module call (or a folded run of them): name, class, params, shapes."""
    words = {k: tr(v, lang) for k, v in _MODULE_TEXT.items()}
    a = n.attrs
    fill, border, width, style = MODULE_FILL, TEXT, 1, "filled,rounded"
    if state is not None:
        if n.id in state.current:
            border, width, style = CURRENT, 3, "filled,rounded,bold"
        elif n.id in state.todo:
            fill, style = FUTURE_FILL, "filled,rounded,dashed"
    repeat = a.get("repeat", 1)
    head = f"<B>{esc(n.label)}</B>" + (f'  <B><FONT COLOR="{CURRENT}">×{repeat}</FONT></B>'
                                       if repeat > 1 else "")
    params = f'{_count(a.get("params", 0))} {words["params"]}'
    if repeat > 1 and len(a.get("members") or []) > 1:
        params = f'{_count(a.get("params_each", 0))} {words["params"]} {words["each"]}'
    elif repeat > 1:
        params += f' ({words["shared"]})'
    sub = f'{esc(a.get("class", ""))} · {esc(params)}'
    lines = [head, f'<FONT POINT-SIZE="9">{sub}</FONT>']
    shapes = []
    if a.get("inputs"):
        shapes.append(f'{words["in"]} ' + " ".join(fmt_shape(s) for s in a["inputs"][:3]))
    if a.get("outputs"):
        shapes.append(f'{words["out"]} ' + " ".join(fmt_shape(s) for s in a["outputs"][:3]))
    if shapes:
        lines.append(f'<FONT POINT-SIZE="8">{esc("  →  ".join(shapes))}</FONT>')
    shape = "box3d" if repeat > 1 else "box"
    members = a.get("members") or []
    tip = f"{n.module} ({a.get('class', '')}): {n.note or ''}"
    if len(members) > 1:
        tip += f"; {words['calls']}: {members[0]} … {members[-1]} ×{repeat}"
    return (f'  {quote(n.id)} [shape={shape}, style="{style}", fillcolor="{fill}", '
            f'color="{border}", penwidth={width}, margin="0.12,0.06", '
            f'label=<{"<BR/>".join(lines)}>, tooltip={quote(tip)}, id={quote("node-" + n.id)}];')


def _copy_node(n: Node, state: StepView | None, lang: str = "en") -> str:
    """A further copy of a leaf read by many ops: its name in a dashed box."""
    fill = FILL[n.role]
    border, width = TEXT, 1
    if state is not None:
        if n.id in state.current:
            border, width = CURRENT, 3
        elif n.id in state.todo:
            fill = FUTURE_FILL
    name = esc(n.label or n.name or "?")
    label = f'<<B>{name}</B> <FONT POINT-SIZE="8">{esc(_uses(n, lang))}</FONT>>'
    return (f'  {quote(n.id)} [shape=box, style="filled,dashed,rounded", fillcolor="{fill}", '
            f'color="{border}", penwidth={width}, margin="0.06,0.02", label={label}, '
            f'tooltip={quote((n.label or "") + ": one tensor, drawn once per use")}, '
            f'id={quote("node-" + n.id)}];')


def _uses(n: Node, lang: str = "en") -> str:
    return tr("use {k}/{n}", lang, k=n.attrs.get("copy", 1), n=n.attrs.get("copies", 1))


def _count(p: Any) -> str:
    try:
        p = int(p)
    except (TypeError, ValueError):
        return str(p)
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if p >= size:
            return f"{p / size:.3g}{unit}"
    return str(p)


def _short(v: Any) -> str:
    if isinstance(v, list):
        return "(" + ",".join(_short(x) for x in v[:4]) + (",…" if len(v) > 4 else "") + ")"
    return fmt_number(v)


FAN = 8  # an op with this many inputs or outputs (an RNN's unbind or stack): see _fans


def _fans(edges: list, ops: set[str]) -> tuple[set[str], bool]:
    """Ops that split into FAN or more outputs, and whether any node has FAN edges on a side.

    An unrolled RNN unbinds its input into one slice per time step and stacks the
    outputs: 15 steps give 30 edges running the whole height of the picture. Each
    slice is placed beside the step that reads it (its edge from the split does not
    set its rank), and parallel edges are drawn as one trunk (concentrate): W7 is a
    third as wide and `dot` takes half the time (bench/bench_scale.py).
    """
    outs: dict[str, int] = {}
    ins: dict[str, int] = {}
    for e in edges:
        outs[e.src] = outs.get(e.src, 0) + 1
        ins[e.dst] = ins.get(e.dst, 0) + 1
    spread = {n for n, k in outs.items() if k >= FAN and n in ops}
    return spread, bool(spread) or any(k >= FAN for k in ins.values())


def _edge(src: str, dst: str, state: StepView | None, weight0: bool = False, lang: str = "en",
          free: bool = False) -> str:
    extra = (", weight=0" if weight0 else "") + (", constraint=false" if free else "")
    if state is not None and (src, dst) in state.edge_grads:
        g = localize(state.edge_grads[(src, dst)], lang)
        # the gradient flows backward, from the op to its input: the arrowhead sits on the input
        return (f'  {quote(src)} -> {quote(dst)} [color="{GRAD}", penwidth=2, dir=back, arrowtail=normal, '
                f'label=<<FONT COLOR="{GRAD}">∂ {esc(g)}</FONT>>{extra}];')
    return f"  {quote(src)} -> {quote(dst)}" + (f" [{extra[2:]}];" if extra else ";")


def _legend(lang: str, modules: bool = False) -> list[str]:
    rows = "".join(
        f'<TR><TD BGCOLOR="{FILL[r]}" WIDTH="14"> </TD>'
        f'<TD ALIGN="LEFT">{esc(tr(ROLE_TEXT[r], lang))}</TD></TR>'
        for r in LEGEND_ROLES
    )
    if modules:
        text = tr(_MODULE_TEXT["module"], lang)
        rows += (f'<TR><TD BGCOLOR="{MODULE_FILL}" WIDTH="14"> </TD>'
                 f'<TD ALIGN="LEFT">{esc(text)}</TD></TR>')
    return [
        '  subgraph cluster_legend { label=""; color="transparent";',
        f'    legend [shape=plain, fontsize=9, label=<<TABLE BORDER="0" CELLBORDER="0" '
        f'CELLSPACING="2" CELLPADDING="2" BGCOLOR="#ffffff" COLOR="{EDGE}">{rows}</TABLE>>];',
        "  }",
    ]


__all__ = ["graph_to_dot", "graph_dot", "view_to_dot", "esc"]
