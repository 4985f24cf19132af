"""Why a leaf that requires grad ended with grad None or all zeros, read from a recorded Graph.

Pure: a Graph (and the script's text) in, findings out: a dead ReLU or another op
whose local derivative was 0, tensors made under torch.no_grad() or by .detach()
that feed the graph as constants, leaves detached on a line of the graph. The
runner's hook (gradviz.script_watch) adds them to the Recording. No torch.
"""
from __future__ import annotations

import re
from typing import Any

from gradviz.explain.source_reading import _grad_free_text, _requires_grad_names
from gradviz.recording import Graph
from gradviz.words import N_, both, pick
from gradviz.words import notes as said

__all__ = ["explain_dead_grads", "dead_grad_findings"]


def explain_dead_grads(graph: Graph, source: str | None = None, lang: str = "en") -> list[str]:
    """Why a leaf that requires grad got no gradient (None) or only zeros, from the graph.

    Looks for: a ReLU (or another op) whose local derivative was 0 everywhere on the
    way from the leaf, tensors made under torch.no_grad() or by .detach() that feed
    the graph as constants, and leaves used on a line of the graph but missing from it.
    `source` is the script's text (for no_grad blocks and detach calls).
    """
    return [pick(f["en"], f["ko"], lang) for f in dead_grad_findings(graph, source)]


def dead_grad_findings(graph: Graph, source: str | None = None) -> list[dict]:
    """The same as explain_dead_grads, as {"id", "node", "title", "title_ko", "en", "ko"} dicts."""
    out: list[dict] = []
    by_id = {n.id: n for n in graph.nodes}
    produced_by = {e.dst: e.src for e in graph.edges if e.src.startswith("op")}
    inputs_of: dict[str, list[str]] = {}
    consumers: dict[str, list[str]] = {}
    for e in graph.edges:
        if e.dst.startswith("op"):
            inputs_of.setdefault(e.dst, []).append(e.src)
            consumers.setdefault(e.src, []).append(e.dst)
    step_of = {s.node: s for s in graph.steps}
    outputs_of: dict[str, list[str]] = {}
    for t, op in produced_by.items():
        outputs_of.setdefault(op, []).append(t)
    ran = bool(graph.steps)

    # 1. leaves in the graph whose grad is all zeros: find where the gradient died
    for leaf in graph.nodes:
        if not (leaf.kind == "tensor" and leaf.is_leaf and leaf.requires_grad and not leaf.constant):
            continue
        if not ran or not _all_zero(leaf.grad, leaf.grad_summary):
            continue
        label = leaf.name or leaf.label or both(said.DEAD_A_LEAF)
        blocker = _blocker(leaf.id, consumers, outputs_of, step_of)
        if blocker is None:
            continue
        op = by_id[blocker]
        where = both(said.DEAD_ON_LINE, line=op.line) if op.line else ""
        if op.op in ("ReluBackward0", "ThresholdBackward0", "ReluBackward1"):
            inp = [by_id[i] for i in inputs_of.get(blocker, []) if i in by_id and not by_id[i].constant]
            shown = f" ({inp[0].name})" if inp and inp[0].name else ""
            if where and shown:  # one value, so a kept note is read back whole (words.notes.shown)
                where, shown = both(said.DEAD_ON_LINE_OF, line=op.line, name=inp[0].name), ""
            title = both(N_("Dead ReLU: {label}.grad is all zeros"), label=label)
            text = both(said.DEAD_RELU,
                        label=label, where=where, shown=shown)
            out.append(_finding("dead_relu", leaf.id, title, text, op=blocker))
        else:
            title = both(N_("{label}.grad is all zeros"), label=label)
            text = both(said.DEAD_ZERO,
                        label=label, fop=op.forward_op or op.op, where=where)
            out.append(_finding("zero_derivative", leaf.id, title, text, op=blocker))

    # 2. constants of the graph made under no_grad or by detach
    made = _grad_free_text(source) if source else {}
    in_graph = {n.name for n in graph.nodes if n.kind == "tensor" and n.name and not n.constant}
    leaves = _requires_grad_names(source) if source else frozenset()

    def wants_grad(var: str) -> bool:  # a leaf the user asked gradients for, or a model
        return var in leaves or any(m.startswith(var + ".") for m in in_graph)

    explained: set[str] = set()
    for n in graph.nodes:
        if not (n.kind == "tensor" and n.constant and n.name in made):
            continue
        kind, line, sources = made[n.name]
        sources = [s for s in sources if s != n.name]
        if not any(wants_grad(s) for s in sources):
            continue  # data prepared without gradients on purpose
        sources = [s for s in sources if wants_grad(s)]
        missing = [s for s in sources if s not in in_graph]
        explained.update(sources)
        src = ", ".join(sources) or both(said.DEAD_CAME_FROM)
        tail = ""
        if missing:
            tail = both(said.DEAD_STAYS_NONE, missing=", ".join(m + ".grad" for m in missing))
        values = dict(name=n.name, line=line, src=src, tail=tail)
        if kind == "no_grad":
            text = both(said.DEAD_NO_GRAD, **values)
        else:
            text = both(said.DEAD_DETACHED, **values)
        out.append(_finding(kind, n.id, both(N_("No gradient flows through {name}"), name=n.name), text))

    # 3. a leaf used on a line of this graph, detached there, and missing from the graph
    for n in graph.nodes:
        if n.kind != "op" or not n.source:
            continue
        for var in re.findall(r"([A-Za-z_]\w*)\s*\.\s*(?:detach\s*\(\s*\)|data\b)", n.source):
            if var in in_graph or var in explained or var not in leaves:
                continue
            explained.add(var)
            why = ".detach()" if re.search(rf"\b{var}\s*\.\s*detach", n.source) else ".data"
            text = both(said.DEAD_LINE_DETACH, line=n.line, var=var, why=why)
            title = both(N_("{var}.detach() cuts {var} out of the graph"), var=var)
            out.append(_finding("detach", n.id, title, text))
    return out


def _finding(kind: str, node: str, title: tuple[str, str], text: tuple[str, str], **more: str) -> dict:
    return {"id": kind, "node": node, **more, "title": title[0], "title_ko": title[1],
            "en": text[0], "ko": text[1]}


def _blocker(leaf: str, consumers: dict, outputs_of: dict, step_of: dict) -> str | None:
    """The op nearest the output, on a path from `leaf`, that got a gradient but passed on zeros."""
    # every op reachable forward from the leaf
    reach: list[str] = []
    stack, seen = [leaf], set()
    while stack:
        nid = stack.pop()
        for op in consumers.get(nid, []):
            if op in seen:
                continue
            seen.add(op)
            reach.append(op)
            stack.extend(outputs_of.get(op, []))
    best = None
    for op in reach:
        s = step_of.get(op)
        if s is None:
            continue
        got = any(not _all_zero(g, gs) for g, gs in zip(s.grad_outputs, s.grad_output_summaries or
                                                        [None] * len(s.grad_outputs)))
        sent = [gi for gi in s.grad_inputs if gi.edge_to]
        if got and sent and all(_all_zero(gi.grad, gi.summary) for gi in sent):
            if best is None or step_of[op].index < step_of[best].index:
                best = op  # the first such step in engine order: closest to the output
    return best


def _all_zero(value: Any, summary: dict | None) -> bool:
    if value is None:
        if summary:
            return summary.get("min") == 0 and summary.get("max") == 0
        return False
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
        elif v != 0:
            return False
    return True
