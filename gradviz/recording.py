"""The data model: what a recording holds once capture is over.

Everything here is plain data (numbers, strings, lists, dicts), so a Recording
can be cached, pickled across processes, written as JSON and rendered without
importing torch. One exception keeps capture cheap: the summaries of big
tensors (min, max, mean, norm) are computed when first read, all of a graph's
at once (see `Deferred` in capture/values.py). Until then those objects hold
the tensors; reading any summary field, pickling, copying or writing JSON
fills them in and lets the tensors go.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

JSON_VERSION = 1


class _Later:
    """A dataclass field whose value may be filled in later, by a pending batch.

    Reading it first asks the object's batch (`_pending`, set by capture) to fill
    in every field it owes, in one go; without a batch it is a plain attribute.
    `factory`: what the field holds when set to None (its default), e.g. list.
    """

    def __init__(self, factory: Any = None):
        self.factory = factory

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return None  # the dataclass default
        batch = obj._pending
        if batch is not None:
            batch.resolve()
        return getattr(obj, self.slot)

    def __set__(self, obj: Any, value: Any) -> None:
        if value is None and self.factory is not None:
            value = self.factory()
        setattr(obj, self.slot, value)  # (not obj.__dict__: that would make a dict per object)


class _Settled:
    """getstate/copy for classes with _Later fields: pending values are filled in first."""

    _pending: Any = None  # an object whose resolve() fills in what is still owed

    def _settle(self) -> None:
        batch = self._pending
        if batch is not None:
            batch.resolve()

    def __getstate__(self) -> dict:
        self._settle()
        d = dict(self.__dict__)
        d.pop("_pending", None)
        return d


def _clean(x: Any) -> Any:
    """Make a value strict-JSON safe: NaN and infinities become strings."""
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(x, list):
        return [_clean(v) for v in x]
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    return x


def _unclean(x: Any) -> Any:
    if isinstance(x, str) and x in ("nan", "inf", "-inf"):
        return float(x)
    if isinstance(x, list):
        return [_unclean(v) for v in x]
    return x


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
    iteration: int | None = None
    line: int | None = None  # where backward() was called
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


@dataclass
class ErrorInfo:
    type: str
    message: str
    explanation: str = ""
    explanation_ko: str = ""
    line: int | None = None
    file: str | None = None
    hint: str = ""  # the fix, in English
    hint_ko: str = ""  # the fix, in Korean
    node: str | None = None  # culprit node in the last graph, when there is one


@dataclass
class Recording(_Settled):
    """Everything captured from one run: graphs, steps, iterations, an error."""

    graphs: list[Graph] = field(default_factory=list)
    script: str | None = None
    source: str | None = None  # the script's text, for the stepper's source panel
    device: str = "cpu"
    iterations: list[dict] = _Later(list)
    pitfalls: list[dict] = _Later(list)
    notes: list[str] = field(default_factory=list)
    error: ErrorInfo | None = None
    stdout: str = ""
    version: int = JSON_VERSION

    def settle(self) -> "Recording":
        """Compute every summary still owed now and let go of the tensors behind them.

        Nothing needs this: reading a field does the same for its batch. It is for
        timing the whole cost of a recording, or freeing the memory at once.
        """
        self._settle()
        for g in self.graphs:
            g._settle()
            for item in (*g.nodes, *g.steps):
                item._settle()
                for gi in getattr(item, "grad_inputs", ()):
                    gi._settle()
        return self

    def _plain_dict(self) -> dict:
        # asdict deep-copies every number (Python 3.11): too slow for a 20000-iteration timeline,
        # whose entries are plain dicts already.
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["graphs"] = [asdict(g) for g in self.graphs]
        d["error"] = asdict(self.error) if self.error is not None else None
        return d

    def to_dict(self) -> dict:
        return _clean(self._plain_dict())

    def to_json(self, indent: int | None = None) -> str:
        d = self._plain_dict()
        try:
            return json.dumps(d, indent=indent, ensure_ascii=False, allow_nan=False)
        except ValueError:  # NaN or inf somewhere: spelled as strings
            return json.dumps(_clean(d), indent=indent, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict) -> "Recording":
        d = dict(d)
        d["graphs"] = [Graph.from_dict(g) for g in d.get("graphs", [])]
        if d.get("error"):
            d["error"] = ErrorInfo(**_known(ErrorInfo, d["error"]))
        return cls(**_known(cls, d))

    @classmethod
    def from_json(cls, text: str) -> "Recording":
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> Path:
        """`.html`: the standalone stepper page; anything else: the JSON. Written atomically."""
        from gradviz import render

        return render.save_recording(self, Path(path))

    def to_tensorboard(self, logdir: str | Path, pictures: bool = True) -> Path:
        """Write the timeline (and the graph pictures) as TensorBoard events."""
        from gradviz import render

        return render.write_tensorboard(self, Path(logdir), pictures)

    @property
    def graph(self) -> Graph:
        """The first graph (most lessons have one)."""
        if not self.graphs:
            raise LookupError("nothing was recorded: the code never called backward()")
        return self.graphs[0]

    def _repr_html_(self) -> str:
        from gradviz import render

        return render.stepper_html(self, embed=True)


def _known(cls: type, d: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}


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
