"""What backward step k looks like: one model for the SVG, the HTML stepper and the app.

At step k of a graph's backward:

- current: the node the step runs (in a collapsed view, the drawn node standing for it);
- done / to come: nodes whose first step came before k / comes after k;
- the gradients sent so far, per drawn edge (the labels on the edges);
- the tensors whose `.grad` a learner can read (leaves that require grad and
  retain_grad tensors) and their `.grad` as it stands after step k: a leaf's from
  its AccumulateGrad step, a retained tensor's from the step of the op that made it
  (autograd stores a retained grad once the gradient reaching the tensor is
  complete, which is just before that op's backward runs).

Also the one rule for when a graph is shown as one overview picture with the step
highlighted instead of one picture per step, and the legend entries.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from gradviz.numbers import fmt_value
from gradviz.recording import Graph, Node

OVERVIEW_NODES = 200  # more nodes than this: one layout, the step highlighted
OVERVIEW_STEPS = 60  # more steps than this: likewise (a picture per step is too many)
OVERVIEW_FAN_OUT = 6  # a node feeding this many ops makes dot slow ...
OVERVIEW_FAN_NODES = 40  # ... once the graph is not tiny


def use_overview(graph: Graph) -> bool:
    """One overview picture (the step highlighted) instead of one picture per step."""
    n = len(graph.nodes)
    if n > OVERVIEW_NODES or len(graph.steps) > OVERVIEW_STEPS:
        return True
    return n > OVERVIEW_FAN_NODES and fan_out(graph) >= OVERVIEW_FAN_OUT


def fan_out(graph: Graph) -> int:
    """The most edges leaving one node: a weight reused by many steps makes dot slow."""
    count: dict[str, int] = {}
    for e in graph.edges:
        count[e.src] = count.get(e.src, 0) + 1
    return max(count.values(), default=0)


def tracked(graph: Graph) -> list[Node]:
    """Tensors whose .grad a learner can read: leaves that require grad, retain_grad tensors."""
    out = [n for n in graph.nodes if n.kind == "tensor" and not n.constant
           and ((n.is_leaf and n.requires_grad) or n.retains_grad)]
    return sorted(out, key=lambda n: (not n.is_leaf, n.label or n.name or n.id))


def first_steps(graph: Graph, visible: Callable[[str], list[str]] | None = None) -> dict[str, int]:
    """Drawn node id -> the index of the first step that runs it."""
    vis = visible or (lambda nid: [nid])
    first: dict[str, int] = {}
    for i, s in enumerate(graph.steps):
        for v in vis(s.node):
            first.setdefault(v, i)
    return first


def grad_steps(graph: Graph) -> dict[str, int]:
    """Tracked tensor id -> the step from which its .grad is set (see the module docstring)."""
    producer = {e.dst: e.src for e in graph.edges}
    step_of_op: dict[str, int] = {}
    for i, s in enumerate(graph.steps):
        if s.op != "AccumulateGrad":
            step_of_op.setdefault(s.node, i)
    out: dict[str, int] = {}
    for i, s in enumerate(graph.steps):
        if s.op == "AccumulateGrad":
            out.setdefault(s.node, i)
    for n in tracked(graph):
        if not n.is_leaf and producer.get(n.id) in step_of_op:
            out[n.id] = step_of_op[producer[n.id]]
    return out


def grad_after(graph: Graph, node: Node, k: int, since: dict[str, int]) -> tuple[Any, dict | None]:
    """(value, summary) of node.grad after step k: (None, None) before the step that sets it."""
    at = since.get(node.id)
    if at is None or at > k:
        return None, None
    if node.is_leaf:
        step = graph.steps[at]
        if step.grad_after is not None:
            return step.grad_after, None
    return node.grad, node.grad_summary


@dataclass
class StepView:
    """The state of the picture after step k (node ids are drawn ids)."""

    k: int
    current: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)
    todo: set[str] = field(default_factory=set)
    edge_grads: dict[tuple[str, str], str] = field(default_factory=dict)  # (src, dst) -> label
    grads: dict[str, tuple[Any, dict | None]] = field(default_factory=dict)  # tracked id -> .grad

    def grad_of(self, node: Node) -> tuple[Any, dict | None]:
        """The .grad a box shows at this step (a copy of a shared leaf shows its leaf's)."""
        nid = node.attrs.get("of", node.id) if node.attrs else node.id
        return self.grads.get(nid, (None, None))


def step_view(graph: Graph, k: int, visible: Callable[[str], list[str]] | None = None) -> StepView:
    """The picture's state after step k (clamped to the graph's steps)."""
    steps = graph.steps
    vis = visible or (lambda nid: [nid])
    k = max(0, min(k, len(steps) - 1))
    sv = StepView(k=k, current=set(vis(steps[k].node)) if steps else set())
    for v, i in first_steps(graph, vis).items():
        if i < k:
            sv.done.add(v)
        elif i > k and v not in sv.current:
            sv.todo.add(v)
    for s in steps[: k + 1]:
        for gi in s.grad_inputs:
            if not gi.edge_to:
                continue
            text = None
            for a in vis(gi.edge_to):
                for b in vis(s.node):
                    if a != b:
                        text = text or fmt_value(gi.grad, gi.summary, width=3)
                        sv.edge_grads[(a, b)] = text
    since = grad_steps(graph)
    for n in tracked(graph):
        g = grad_after(graph, n, k, since)
        if g != (None, None):
            sv.grads[n.id] = g
    return sv


# What the colours and marks mean, in the order every legend lists them.
LEGEND_ROLES = ("leaf", "intermediate", "constant", "output", "op")
LEGEND_MARKS = ("now", "flow_edge", "todo")


__all__ = ["StepView", "step_view", "tracked", "first_steps", "grad_steps", "grad_after",
           "use_overview", "fan_out", "LEGEND_ROLES", "LEGEND_MARKS"]
