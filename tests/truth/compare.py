"""gradviz's graph of one backward() call against the Reference's record of it.

`Match` pairs the two graphs by walking both from the root (op node <-> autograd
node, tensor node <-> (autograd node, output number), leaf <-> AccumulateGrad);
the check functions each return a list of problems, empty when gradviz showed the
truth. Nothing here reads gradviz's bookkeeping as truth: every expected number
comes from the Reference (values cloned at op time, hooks in the engine).
"""
from __future__ import annotations

import html
import re
from collections import defaultdict
from typing import Any

import torch

from gradviz.recording import Graph

from .reference import Call, Reference
from .texts import flat, same, value_problem


def _plain_value(t: torch.Tensor) -> Any:
    t = t.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    return t.tolist()


class Match:
    """gradviz's nodes paired with the autograd nodes of one call, walked from the root."""

    def __init__(self, call: Call, graph: Graph, ref: Reference):
        self.call, self.graph, self.ref = call, graph, ref
        self.nodes = {n.id: n for n in graph.nodes}
        self.op_of: dict[int, str] = {}  # node index -> op id (AccumulateGrad: the leaf's id)
        self.tensor_of: dict[tuple[int, int], str] = {}  # (node index, output nr) -> tensor id
        self.slots: dict[int, list[str | None]] = {}  # node index -> tensor id per input edge
        self.problems: list[str] = []
        self.inputs: dict[str, list[str]] = defaultdict(list)
        self.producer: dict[str, str] = {}
        for e in graph.edges:
            src = self.nodes.get(e.src)
            if src is not None and src.kind == "op":
                self.producer[e.dst] = e.src
            else:
                self.inputs[e.dst].append(e.src)
        self._walk()

    def _pair(self, k: int, gid: str) -> None:
        old = self.op_of.setdefault(k, gid)
        if old != gid:
            self.problems.append(f"{self.call.nodes[k].cls} drawn twice: {old} and {gid}")

    def _walk(self) -> None:
        call, root = self.call, self.call.roots[0]
        if root.grad_fn is None:
            return
        k0 = call.index(root.grad_fn)
        rid = self.graph.root
        if rid not in self.producer:
            self.problems.append(f"the root {rid} has no op that made it")
            return
        self._pair(k0, self.producer[rid])
        self.tensor_of[(k0, root.output_nr)] = rid
        queue = [k0]
        for k in queue:
            queue.extend(self._pair_inputs(k))
        for k, node in enumerate(call.nodes):
            if k not in self.op_of:
                self.problems.append(f"{node.cls} (autograd node {k}) is not in the graph")
        drawn = {v for v in self.op_of.values()}
        for n in self.graph.nodes:
            if n.kind == "op" and n.id not in drawn:
                self.problems.append(f"op {n.id} {n.op} matches no autograd node")

    def _pair_inputs(self, k: int) -> list[int]:
        node, gid = self.call.nodes[k], self.op_of[k]
        op = self.nodes[gid]
        if op.kind == "op" and op.op != node.cls:
            self.problems.append(f"{gid} is drawn as {op.op}, autograd ran {node.cls}")
        ins = [i for i in self.inputs.get(gid, []) if not self.nodes[i].constant]
        mine = [(i, nk, nr) for i, (nk, nr) in enumerate(node.nexts) if nk is not None]
        if len(ins) != len(mine):
            self.problems.append(f"{gid} {node.cls}: {len(ins)} inputs drawn, next_functions "
                                 f"has {len(mine)}")
        slots: list[str | None] = [None] * len(node.nexts)
        found = []
        for (i, nk, nr), tid in zip(mine, ins):
            slots[i] = tid
            nxt = self.call.nodes[nk]
            if nxt.cls == "AccumulateGrad":
                if not self.nodes[tid].is_leaf:
                    self.problems.append(f"{tid} feeds {gid} where a leaf does")
            elif tid not in self.producer:
                self.problems.append(f"{tid} (input {i} of {gid}) has no op that made it; "
                                     f"autograd has {nxt.cls}")
                continue
            before = self.tensor_of.setdefault((nk, nr), tid)
            if before != tid:
                self.problems.append(f"output {nr} of {nxt.cls} drawn twice: {before}, {tid}")
            if nk not in self.op_of:
                found.append(nk)
            self._pair(nk, tid if nxt.cls == "AccumulateGrad" else self.producer[tid])
        self.slots[k] = slots
        return found

    # the truth about a drawn tensor ------------------------------------------------------
    def true_tensor(self, tid: str) -> torch.Tensor | None:
        """The value of a drawn tensor: at op time, or the leaf's at the backward."""
        for (k, nr), t in self.tensor_of.items():
            if t == tid:
                node = self.call.nodes[k]
                if node.leaf is not None:
                    return self.call.leaf_value[k]
                return self.ref.value(node.fn, nr)
        return None

    def leaf_index(self, tid: str) -> int | None:
        for k, g in self.op_of.items():
            if g == tid and self.call.nodes[k].leaf is not None:
                return k
        return None

    def retained_tensor(self, tid: str) -> torch.Tensor | None:
        for t in self.call.retained:
            k = self.call.index(t.grad_fn)
            if self.tensor_of.get((k, t.output_nr)) == tid:
                return t
        return None


# the checks ----------------------------------------------------------------------------------
def value_mismatch(shown: Any, summary: dict | None, true: torch.Tensor, what: str) -> str | None:
    """A drawn value against the true one: every element when kept, else the summary."""
    if shown is not None:
        if not same(shown, _plain_value(true)):
            return f"{what}: shows {shown}, true {_plain_value(true)}"
        return None
    if summary:
        vals = flat(true)
        t = torch.tensor(vals, dtype=torch.float64)
        if summary.get("numel") != len(vals):
            return f"{what}: summary says {summary.get('numel')} elements, true {len(vals)}"
        if summary.get("first") != vals[: len(summary.get("first") or [])]:
            return f"{what}: first elements {summary.get('first')}, true {vals[:6]}"
        if summary["min"] != min(vals) or summary["max"] != max(vals):
            return f"{what}: min/max {summary['min']}/{summary['max']}, true {min(vals)}/{max(vals)}"
        scale = float(t.abs().max())
        for key, v in (("mean", float(t.mean())), ("norm", float(t.norm()))):
            if abs(summary[key] - v) > 1e-5 * abs(v) + len(vals) * 1.2e-7 * scale:
                return f"{what}: {key} {summary[key]}, true {v}"
    return None


def _tensors(m: Match) -> list:
    """The drawn tensors that are not constants."""
    return [n for n in m.graph.nodes if n.kind == "tensor" and not n.constant]


def check_values(m: Match) -> list[str]:
    """Every drawn tensor's value (and shape) is its value at op time."""
    out = [f"{t}: shows a value the reference has no record of" for t in unverified(m)]
    for n in _tensors(m):
        true = m.true_tensor(n.id)
        if true is None:
            continue
        if list(true.shape) != list(n.shape):
            out.append(f"{n.id} {n.label}: shape {n.shape}, true {list(true.shape)}")
        p = value_mismatch(n.value, n.summary, true, f"{n.id} {n.label} value")
        if p:
            out.append(p)
    return out


def check_grads(m: Match) -> list[str]:
    """Every leaf's .grad and every retain_grad tensor's .grad, as after the call."""
    out = []
    for n in _tensors(m):
        k = m.leaf_index(n.id)
        if k is not None and m.call.kind == "backward":
            true = m.call.grad_after.get(k)
        else:
            t = m.retained_tensor(n.id)
            if t is None:
                if n.retains_grad:
                    out.append(f"{n.id} {n.label} marked retain_grad, the tensor does not retain")
                continue
            if not n.retains_grad:
                out.append(f"{n.id} {n.label} retains its grad: not marked")
            true = m.call.retained_after.get(id(t))
        if true is None:
            if n.grad is not None:
                out.append(f"{n.id} {n.label}: grad {n.grad} shown, .grad is None")
            continue
        p = value_mismatch(n.grad, n.grad_summary, true, f"{n.id} {n.label} grad")
        if p or (n.grad is None and not n.grad_summary):
            out.append(p or f"{n.id} {n.label}: no grad shown, true {flat(true)[:6]}")
    return out


def _grad_problem(shown: Any, summary: dict | None, true: torch.Tensor | None, what: str) -> str | None:
    if true is None:
        return None if shown is None and not summary else f"{what}: {shown} shown, autograd sent None"
    if shown is None and not summary:
        return f"{what}: nothing shown, autograd sent {flat(true)[:6]}"
    return value_mismatch(shown, summary, true, what)


def check_steps(m: Match) -> list[str]:
    """Every step: node, op class, what arrived and what left per edge, in engine order."""
    steps, hooked = m.graph.steps, m.call.steps
    out = []
    if len(steps) != len(hooked):
        out.append(f"{len(steps)} steps shown, the engine ran {len(hooked)} nodes: "
                   f"{[s.op for s in steps]} vs {[h.cls for h in hooked]}")
    for s, h in zip(steps, hooked):
        where = f"step {s.index} ({s.op})"
        if s.op != h.cls or s.node != m.op_of.get(h.node):
            out.append(f"{where}: node {s.node}, the engine ran {h.cls} = {m.op_of.get(h.node)}")
            continue
        sums = s.grad_output_summaries or []
        for q, g in enumerate(h.grad_outputs):
            shown = s.grad_outputs[q] if q < len(s.grad_outputs) else None
            p = _grad_problem(shown, sums[q] if q < len(sums) else None, g, f"{where} grad_output {q}")
            if p:
                out.append(p)
        if len(s.grad_inputs) != len(h.grad_inputs):
            out.append(f"{where}: {len(s.grad_inputs)} grad_inputs, autograd sent {len(h.grad_inputs)}")
        slots = m.slots.get(h.node, [])
        for i, (gi, g) in enumerate(zip(s.grad_inputs, h.grad_inputs)):
            want = slots[i] if i < len(slots) else None
            if (gi.edge_to or None) != want:
                out.append(f"{where} edge {i}: to {gi.edge_to!r}, next_functions says {want!r}")
            if want is None:
                continue
            p = _grad_problem(gi.grad, gi.summary, g, f"{where} grad_input {i}")
            if p:
                out.append(p)
        if s.op == "AccumulateGrad":
            for key, true in (("before", m.call.grad_before.get(h.node)),
                              ("after", m.call.grad_after.get(h.node))):
                shown = getattr(s, f"grad_{key}")
                if true is not None and true.numel() > 64:
                    continue  # kept only for small leaves
                if (shown is None) != (true is None) or (true is not None and not same(shown, _plain_value(true))):
                    out.append(f"{where}: grad_{key} {shown}, true {None if true is None else _plain_value(true)}")
    return out


def _drawn(m: Match, t: torch.Tensor) -> str | None:
    """The tensor node drawn for t (a leaf, or an output of an autograd node)."""
    if t.grad_fn is None:
        k = next((k for k, n in enumerate(m.call.nodes) if n.leaf is t), None)
        return m.op_of.get(k) if k is not None else None
    k = m.call.index(t.grad_fn)
    return m.tensor_of.get((k, t.output_nr)) if k is not None else None


def check_returned(m: Match) -> list[str]:
    """A torch.autograd.grad call: what it returned for each input, on that input's node."""
    if m.call.kind != "grad":
        return [f"a backward() graph shows a result: {m.graph.returned}"] if m.graph.returned else []
    shown = m.graph.returned
    out = []
    if len(shown) != len(m.call.inputs):
        out.append(f"{len(shown)} results shown for {len(m.call.inputs)} inputs")
    for i, (t, r, s) in enumerate(zip(m.call.inputs, m.call.returned, shown)):
        want = _drawn(m, t)
        if s.get("node") != want:
            out.append(f"result {i} shown on {s.get('node')!r}, its input is {want!r}")
        p = _grad_problem(s.get("value"), s.get("summary"), r, f"result {i}")
        if p:
            out.append(p)
    return out


# the step pictures ---------------------------------------------------------------------------
_EDGE = re.compile(r'^\s*"([^"]+)" -> "([^"]+)" \[.*label=<<FONT [^>]*>∂ (.*)</FONT>>')
_GRAD_CELL = re.compile(r'^\s*"([^"]+)" \[.*<TD>grad (.*?)</TD>')


def picture_labels(dot: str) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    """(edge -> its ∂ label, tensor -> its grad cell) of one DOT picture, unescaped."""
    edges, cells = {}, {}
    for line in dot.splitlines():
        e = _EDGE.match(line)
        if e:
            edges[(e.group(1), e.group(2))] = html.unescape(e.group(3))
            continue
        c = _GRAD_CELL.match(line)
        if c:
            cells[c.group(1)] = html.unescape(c.group(2)).replace(" (not a leaf)", "")
    return edges, cells


def filled_at(m: Match) -> dict[str, tuple[int, torch.Tensor | None]]:
    """Tensor id -> (the engine step from which its .grad holds its final value, that value)."""
    out = {}
    for s, h in enumerate(m.call.steps):
        node = m.call.nodes[h.node]
        if node.leaf is not None and m.call.kind == "backward":
            out[m.op_of[h.node]] = (s, m.call.grad_after.get(h.node))
    for t in m.call.retained:
        k = m.call.index(t.grad_fn)
        s = next((i for i, h in enumerate(m.call.steps) if h.node == k), None)
        tid = m.tensor_of.get((k, t.output_nr))
        if s is not None and tid is not None:
            out[tid] = (s, m.call.retained_after.get(id(t)))
    return out


def check_pictures(m: Match, **options: Any) -> list[str]:
    """Each step picture: every ∂ label is what autograd sent along that edge so far, and
    every .grad box shows the true .grad from the step that fills it (— before, and — for a
    tensor whose .grad no step fills)."""
    out = []
    sent: dict[tuple[str, str], list[torch.Tensor]] = {}
    filled = filled_at(m)
    for k, h in enumerate(m.call.steps[: len(m.graph.steps)]):
        gid = m.op_of.get(h.node)
        for i, g in enumerate(h.grad_inputs):
            slots = m.slots.get(h.node, [])
            if i < len(slots) and slots[i] is not None:
                sent.setdefault((slots[i], gid), []).append(g)
        edges, cells = picture_labels(m.graph.dot(step=k, **options))
        for (a, b), label in edges.items():
            grads = sent.get((a, b))
            if grads is None:
                if a in m.nodes and b in m.nodes:
                    out.append(f"picture {k}: edge {a}->{b} labelled ∂ {label}, no gradient went there")
                continue
            problems = [value_problem(label, g) for g in grads]
            if all(problems):
                out.append(f"picture {k}: edge {a}->{b}: {problems[0]}")
        for edge, grads in sent.items():
            if edge not in edges and all(x in m.nodes for x in edge) and \
                    any(g is not None for g in grads):
                out.append(f"picture {k}: edge {edge[0]}->{edge[1]} carried a gradient, no label")
        for tid, cell in cells.items():
            s, true = filled.get(tid, (len(m.call.steps), None))  # never filled: — throughout
            p = value_problem(cell, true if k >= s else None)
            if p is None and k >= s and cell == "—" and true is not None:
                p = f"shows — although its .grad was filled at step {s}"
            if p:
                out.append(f"picture {k}: {tid} {m.nodes[tid].label} grad box: {p}")
    return out


def unverified(m: Match) -> list[str]:
    """Drawn tensors that show a value the Reference has no truth for (not checked)."""
    return [f"{n.id} {n.label}" for n in _tensors(m)
            if (n.value is not None or n.summary) and m.true_tensor(n.id) is None]
