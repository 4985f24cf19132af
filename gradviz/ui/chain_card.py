"""The chain-rule card: what one backward step received, did and sent on."""
from __future__ import annotations

import html
from typing import Any

import streamlit as st

from gradviz.numbers import flatten, fmt_value
from gradviz.recording import Graph, Step
from gradviz.words import pick, tr


def explanation(graph: Graph, step: Step, lang: str, element: int = 0) -> str:
    """The words for this step: explain_step when present, else what capture stored."""
    try:
        from gradviz.explain.chain_rule import explain_step
    except ImportError:
        explain_step = None
    if explain_step is not None:
        try:
            text = _as_text(explain_step(graph, step, lang, element))
            if text:
                return text
        except Exception:  # words are a bonus: the numbers below still teach
            pass
    text = pick(step.explanation, step.explanation_ko, lang)
    return text or ""


def _as_text(result: Any) -> str:
    if result is None:
        return ""
    if isinstance(result, str):
        return result
    if isinstance(result, dict):
        for k in ("markdown", "text", "summary"):
            if result.get(k):
                return str(result[k])
    for k in ("markdown", "text"):
        if getattr(result, k, None):
            return str(getattr(result, k))
    return str(result)


def label_of(graph: Graph, node_id: str) -> str:
    try:
        n = graph.node(node_id)
    except KeyError:
        return node_id
    return n.name or n.label or node_id


def flow_lines(graph: Graph, step: Step, lang: str) -> tuple[list[str], list[str]]:
    """Markdown lines: what arrived, what was sent where."""
    received = [f"`{fmt_value(g, s)}`" for g, s in
                zip(step.grad_outputs, step.grad_output_summaries + [None] * len(step.grad_outputs))]
    sent = []
    for gi in step.grad_inputs:
        if not gi.edge_to:
            sent.append(tr("(an input that needs no gradient)", lang))
            continue
        name = label_of(graph, gi.edge_to)
        sent.append(tr("to", lang) + f" **{name}**: `{fmt_value(gi.grad, gi.summary)}`")
    return received, sent


def elements(step: Step) -> int:
    """How many elements the learner may pick from at this step (1 for scalars)."""
    sizes = [1]
    for gi in step.grad_inputs:
        n = 1
        for s in gi.shape:
            n *= s
        sizes.append(n)
    for g in step.grad_outputs:
        sizes.append(len(flatten(g)))
    return max(sizes)




def words_html(text: str) -> str:
    """Explanation lines, escaped, formulas kept on one line each."""
    lines = [html.escape(x) for x in text.splitlines() if x.strip()]
    return '<div class="gv-words">' + "".join(f"<div>{x}</div>" for x in lines) + "</div>"


def show(graph: Graph, step: Step, lang: str, element: int = 0) -> None:
    """Draw the card for `step` into the current container."""
    with st.container(border=True):
        op_node = _node(graph, step.node)
        where = ""
        line = step.line or (op_node.line if op_node is not None else None)
        if line:
            where = " · " + tr("line {line}", lang, line=line)
        st.markdown("**" + tr("Chain rule at this step", lang) + f"** · `{step.op}`{where}")
        words = explanation(graph, step, lang, element)
        if words:
            st.html(words_html(words))
        if step.op == "AccumulateGrad":
            name = label_of(graph, step.node)
            before = fmt_value(step.grad_before) if step.grad_before is not None else "None"
            after = fmt_value(step.grad_after) if step.grad_after is not None else fmt_value(
                None, _leaf_summary(graph, step.node))
            if not words:
                st.markdown(tr("AccumulateGrad stores the arriving gradient in the leaf's .grad "
                               "(adding to what was there).", lang))
            st.markdown(f"**{name}**.grad: `{before}` → `{after}`")
            return
        if not words and op_node is not None and op_node.forward_op:
            op = f"`{step.op}`"
            st.markdown(tr("{op} is the backward of `{fwd}`.", lang, op=op, fwd=op_node.forward_op))
        received, sent = flow_lines(graph, step, lang)
        if received:
            st.markdown(tr("Gradient arriving", lang) + ": " + ", ".join(received))
        if sent:
            st.markdown(tr("Gradients sent on", lang) + ":\n" + "\n".join(f"- {s}" for s in sent))


def _node(graph: Graph, node_id: str):
    try:
        return graph.node(node_id)
    except KeyError:
        return None


def _leaf_summary(graph: Graph, node_id: str) -> dict | None:
    n = _node(graph, node_id)
    return n.grad_summary if n is not None else None
