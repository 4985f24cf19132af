"""One graph as backward() ran it: its nodes (tensors and ops), edges and steps."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gradviz.recording.later import _Later, _Settled
from gradviz.recording.plain import _clean, _known, _unclean


@dataclass
class Node(_Settled):
    """A tensor or an autograd op in the graph.

    For a tensor node, `op` is the name of the grad_fn that produced it (None for
    leaves and constants). For an op node, `op` is the autograd class
    (`MulBackward0`) and `forward_op` the forward function (`mul`).
    """

    id: str
    kind: str  # "tensor" | "op"
    name: str | None = None  # the user's variable name, when one was found
    label: str = ""  # what the picture shows: name, or a label derived from the op
    op: str | None = None
    forward_op: str | None = None
    shape: list[int] = field(default_factory=list)
    dtype: str = ""
    device: str = ""
    requires_grad: bool = False
    is_leaf: bool = False
    constant: bool = False
    output: bool = False  # the tensor backward() started from
    value: Any = None  # number or nested list when numel <= 64, else None
    summary: dict | None = _Later()  # min, max, mean, norm, first: when value is None
    grad: Any = None  # .grad after the backward (leaves, retain_grad tensors)
    grad_summary: dict | None = _Later()
    retains_grad: bool = False
    line: int | None = None
    source: str | None = None  # the text of that line
    file: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)  # saved non-tensor attributes
    module: str | None = None  # qualified nn.Module scope, "" for top level
    note: str | None = None  # a short remark, e.g. why .grad is None
    # hooks on this tensor when backward() ran: "register_hook" (they may change the gradient
    # arriving here), "post_accumulate_grad" (a leaf's: they may change .grad once it is stored)
    hooks: list[str] = field(default_factory=list)

    @property
    def role(self) -> str:
        """The colour class: leaf, intermediate, constant, output or op."""
        if self.kind == "op":
            return "op"
        if self.constant:
            return "constant"
        if self.output:
            return "output"
        if self.is_leaf:
            return "leaf"
        return "intermediate"

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n


@dataclass
class Edge:
    """Data flows from src to dst (input tensor -> op -> output tensor)."""

    src: str
    dst: str


@dataclass
class GradInput(_Settled):
    """The gradient one backward step sent toward one input edge."""

    edge_to: str  # id of the tensor node the gradient flows to
    grad: Any = None
    summary: dict | None = _Later()
    shape: list[int] = field(default_factory=list)


@dataclass
class Step(_Settled):
    """One autograd node execution, in engine order."""

    index: int
    node: str  # id of the op node, or of the leaf tensor for AccumulateGrad
    op: str  # autograd class name: MulBackward0, AccumulateGrad, ...
    grad_outputs: list[Any] = field(default_factory=list)  # what arrived
    grad_output_summaries: list[dict | None] = _Later(list)  # None where grad_outputs has the value
    grad_inputs: list[GradInput] = field(default_factory=list)  # what left, per edge
    grad_before: Any = None  # AccumulateGrad: the leaf's .grad before and after
    grad_after: Any = None
    explanation: str = ""
    explanation_ko: str = ""
    line: int | None = None


@dataclass
class Graph(_Settled):
    """One computation graph, as it was when backward() was called on it."""

    index: int
    # made from what capture kept when first read (see capture/graph.py, LiveGraph)
    nodes: list[Node] = _Later(list)
    edges: list[Edge] = _Later(list)
    steps: list[Step] = _Later(list)
    root: str | None = _Later()
    iteration: int | None = None  # the backward() call it is the graph of (None: a grad call)
    line: int | None = None  # where backward() (or torch.autograd.grad) was called
    call: str = "backward"  # "backward" | "grad" (torch.autograd.grad: fills no .grad)
    grad_call: int | None = None  # which torch.autograd.grad call, counting from 1
    # a grad call's result, one per input: {"node": tensor id, "value", "summary", "shape"}
    returned: list[dict] = _Later(list)
    title: str = ""
    notes: list[str] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)  # finite-difference results
    options: dict[str, Any] = field(default_factory=dict)  # render defaults
    modules: dict[str, dict] = _Later(dict)  # qualified nn.Module name -> info

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def by_name(self, name: str) -> Node:
        """The tensor node the user called `name`."""
        for n in self.nodes:
            if n.kind == "tensor" and n.name == name:
                return n
        raise KeyError(name)

    def to_dict(self) -> dict:
        return _clean(asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> "Graph":
        d = dict(d)
        d["nodes"] = [_node_from(n) for n in d.get("nodes", [])]
        d["edges"] = [Edge(**e) for e in d.get("edges", [])]
        d["steps"] = [_step_from(s) for s in d.get("steps", [])]
        d["returned"] = [dict(r, value=_unclean(r.get("value"))) for r in d.get("returned") or []]
        return cls(**_known(cls, d))

    # Conveniences for notebooks and scripts, through the render façade (gradviz.render).
    def dot(self, **options: Any) -> str:
        from gradviz import render

        return render.graph_dot(self, **options)

    def svg(self, **options: Any) -> str:
        from gradviz import render

        return render.graph_svg(self, **options)

    def save(self, path: str | Path, **options: Any) -> Path:
        from gradviz import render

        return render.save_graph(self, Path(path), **options)

    def _repr_svg_(self) -> str:
        return self.svg()


def _node_from(d: dict) -> Node:
    d = _known(Node, d)
    for k in ("value", "grad"):
        d[k] = _unclean(d.get(k))
    return Node(**d)


def _step_from(d: dict) -> Step:
    d = _known(Step, d)
    d["grad_inputs"] = [GradInput(**_known(GradInput, g)) for g in d.get("grad_inputs", [])]
    for k in ("grad_outputs", "grad_before", "grad_after"):
        d[k] = _unclean(d.get(k))
    return Step(**d)
