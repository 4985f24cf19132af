"""The backward stepper: controls, graph, chain-rule card, source and tensor table.

It runs as a Streamlit fragment, so a step click reruns only this part of the
page (no sidebar, no charts), and every picture comes from the SVG cache of
`gradviz.ui.graphs`.
"""
from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from gradviz.numbers import fmt_shape, fmt_value
from gradviz.recording import Graph, Recording
from gradviz.render import stepview
from gradviz.ui import chain_card, graphs
from gradviz.ui.graphs import DisplayOptions
from gradviz.words import N_, tr

SOURCE_WINDOW = 9  # lines shown above and below the highlighted one


def step_key(rec_key: str, gi: int) -> str:
    return f"gv_step|{rec_key}|{gi}"


def graph_key(rec_key: str) -> str:
    return f"gv_graph|{rec_key}"


def _move(key: str, n: int, to: int | None = None, delta: int = 0) -> None:
    cur = int(st.session_state.get(key, 1))
    st.session_state[key] = max(1, min(n, to if to is not None else cur + delta))


@st.fragment
def show(rec_key: str, rec: Recording, opts: DisplayOptions) -> None:
    """The whole stepper for one recording."""
    lang = opts.lang
    if not rec.graphs:
        if rec.error is None:
            st.info(tr("Nothing was recorded: the code never built a graph with a grad_fn.", lang))
        return
    gi = _pick_graph(rec_key, rec, lang)
    graph = rec.graphs[gi]
    n = len(graph.steps)
    if n == 0:
        if graph.title:
            st.caption(graph.title)
        st.info(tr("This graph has no backward steps to step through (backward() was not called on "
                   "it).", lang))
        svg = _picture(rec_key, gi, graph, None, opts)
        _graph_and_side(graph, None, svg, rec, opts)
        _export_svg(svg, rec_key, gi, None, lang)
        _tensors(graph, lang)
        return

    key = step_key(rec_key, gi)
    if key not in st.session_state or not 1 <= int(st.session_state[key]) <= n:
        st.session_state[key] = 1
    k = int(st.session_state[key])  # the buttons' callbacks ran before this rerun
    row = _controls(key, k, n, graph, lang)
    step = graph.steps[k - 1]
    svg = _picture(rec_key, gi, graph, k - 1, opts)
    with row:
        _export_svg(svg, rec_key, gi, k, lang)
    _graph_and_side(graph, step, svg, rec, opts)
    _results(graph, lang)
    _tensors(graph, lang)


def _pick_graph(rec_key: str, rec: Recording, lang: str) -> int:
    count = len(rec.graphs)
    if count == 1:
        return 0
    key = graph_key(rec_key)
    if key not in st.session_state or not 1 <= int(st.session_state[key]) <= count:
        st.session_state[key] = 1
    calls = len(rec.iterations) or count
    st.select_slider(tr("backward() call", lang), options=list(range(1, count + 1)), key=key,
                     format_func=lambda i: _call_label(rec.graphs[i - 1], lang),
                     help=tr("The script called backward() {n} times; the calls whose graph was "
                             "recorded can be picked here.", lang, n=calls))
    return int(st.session_state[key]) - 1


def _call_label(graph: Graph, lang: str) -> str:
    """`call 31` for a graph: which backward() call it is (counting from 1)."""
    return tr("call {i}", lang, i=graph.iteration) if graph.iteration else str(graph.index + 1)


def _controls(key: str, k: int, n: int, graph: Graph, lang: str):
    """Buttons, the step's name and the slider; returns the row (the export button joins it)."""
    buttons = [
        ("first", N_("First"), ":material/first_page:", "Home", dict(to=1), k <= 1),
        ("prev", N_("Previous"), ":material/chevron_left:", "Left", dict(delta=-1), k <= 1),
        ("next", N_("Next"), ":material/chevron_right:", "Right", dict(delta=1), k >= n),
        ("last", N_("Last"), ":material/last_page:", "End", dict(to=n), k >= n),
    ]
    row = st.container(horizontal=True, vertical_alignment="center", gap="small")
    with row:
        for name, word, icon, shortcut, move, disabled in buttons:
            st.button(tr(word, lang), icon=icon, key=f"gv_btn_{name}", on_click=_move,
                      args=(key, n), kwargs=move, disabled=disabled, shortcut=shortcut,
                      type="primary" if name == "next" else "secondary")
        cur = graph.steps[min(n, max(1, k)) - 1]
        st.markdown("**" + tr("Step {k} of {n}", lang, k=k, n=n) + f"** · `{cur.op}`  \n"
                    "<span style='opacity:.65;font-size:.85em'>" + tr("Keys: ← → step, Home / End jump.",
                                                                      lang)
                    + "</span>",
                    unsafe_allow_html=True, width="stretch")
    if n > 1:
        st.slider(tr("Backward step", lang), 1, n, key=key, label_visibility="collapsed")
    return row


def _picture(rec_key: str, gi: int, graph: Graph, step: int | None, opts: DisplayOptions) -> str:
    if graphs.ready(rec_key, gi, graph, step, opts):
        return graphs.step_svg(rec_key, gi, graph, step, opts)
    with st.spinner(tr("Drawing the graph…", opts.lang)):
        return graphs.step_svg(rec_key, gi, graph, step, opts)


def _graph_and_side(graph: Graph, step, svg: str, rec: Recording, opts: DisplayOptions) -> None:
    lang = opts.lang
    graphs.show(svg, fit=opts.fit)
    st.html(graphs.legend_html(lang))
    if step is not None and 'id="gv-o' in svg[:40]:
        st.caption(tr("A large graph: it is drawn once, the current step is outlined and the steps "
                      "still to come are faded; the chain-rule card below has this step's numbers.", lang))
    left, right = st.columns([5, 6], gap="medium")
    with left:
        if step is not None:
            count = chain_card.elements(step)
            element = 0
            if count > 1:
                element = int(st.number_input(tr("Element to follow", lang), 0, count - 1, 0,
                                              key="gv_element",
                                              help=tr("This step moves {n} numbers; pick which one "
                                                      "the chain rule spells out (flat index).",
                                                      lang, n=count)))
            chain_card.show(graph, step, lang, element)
    with right:
        line = _step_line(graph, step)
        if rec.source:
            st.html(source_html(rec.source, line, error_line=rec.error.line if rec.error else None,
                                title=tr("Source", lang),
                                caption=(tr("The highlighted line made the op of this step.", lang)
                                         if line else "")))


def _step_line(graph: Graph, step) -> int | None:
    if step is None:
        return graph.line
    if step.line:
        return step.line
    try:
        node = graph.node(step.node)
    except KeyError:
        return graph.line
    if node.line:
        return node.line
    return graph.line


def source_html(source: str, line: int | None, error_line: int | None = None,
                window: int = SOURCE_WINDOW, title: str = "", caption: str = "") -> str:
    """The source around `line` with that line marked (and an error line in red)."""
    lines = source.splitlines() or [""]
    focus = line or error_line
    if focus and len(lines) > 2 * window + 1:
        lo = max(1, focus - window)
        hi = min(len(lines), lo + 2 * window)
        lo = max(1, hi - 2 * window)
    else:
        lo, hi = 1, len(lines)
    rows = []
    if lo > 1:
        rows.append('<div class="gv-src-gap">⋮</div>')
    for no in range(lo, hi + 1):
        cls = "gv-src-line"
        if no == line:
            cls += " gv-src-now"
        if no == error_line:
            cls += " gv-src-err"
        text = html.escape(lines[no - 1]) or " "
        rows.append(f'<div class="{cls}"><span class="gv-src-no">{no}</span>{text}</div>')
    if hi < len(lines):
        rows.append('<div class="gv-src-gap">⋮</div>')
    head = f'<div class="gv-src-title">{html.escape(title)}</div>' if title else ""
    foot = f'<div class="gv-src-caption">{html.escape(caption)}</div>' if caption else ""
    return f'{head}<div class="gv-src">{"".join(rows)}</div>{foot}'


def _export_svg(svg: str, rec_key: str, gi: int, k: int | None, lang: str) -> None:
    name = rec_key.split("|")[0].replace(":", "-")
    suffix = f"-graph{gi + 1}" + (f"-step{k}" if k else "")
    st.download_button(tr("Graph (SVG)", lang), icon=":material/download:", data=svg.encode("utf-8"),
                       file_name=f"{name}{suffix}.svg", mime="image/svg+xml",
                       key="gv_dl_svg", on_click="ignore")


def _results(graph: Graph, lang: str) -> None:
    parts = []
    for n in stepview.tracked(graph):
        if n.grad is None and n.grad_summary is None:
            continue
        parts.append(f"`{n.name or n.label}.grad = {fmt_value(n.grad, n.grad_summary)}`")
    if parts:
        st.markdown("**" + tr("After backward():", lang) + "** " + " · ".join(parts))


def tensor_frame(graph: Graph, lang: str) -> pd.DataFrame:
    rows = []
    for n in graph.nodes:
        if n.kind != "tensor":
            continue
        rows.append({
            tr("name", lang): n.name or n.label or n.id,
            tr("shape", lang): fmt_shape(n.shape) if fmt_shape(n.shape) != "scalar" else tr("scalar", lang),
            "requires_grad": bool(n.requires_grad),
            "is_leaf": bool(n.is_leaf),
            "grad_fn": n.op or "",
            tr("value", lang): fmt_value(n.value, n.summary),
            tr("grad (after backward)", lang): (fmt_value(n.grad, n.grad_summary)
                                  if (n.grad is not None or n.grad_summary) else "None"),
        })
    return pd.DataFrame(rows)


def _tensors(graph: Graph, lang: str) -> None:
    st.markdown("**" + tr("Tensors in this graph", lang) + "**")
    frame = tensor_frame(graph, lang)
    st.dataframe(frame, hide_index=True, width="stretch")
    for note in graph.notes:
        st.caption(note)
