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

import gc
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

JSON_VERSION = 1


class RecordingFormatError(ValueError):
    """Text that Recording.from_json cannot read as a recording (the one error it raises)."""


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


# --- training over time: one Iteration per backward() --------------------------------
# Thousands of these make a long run (20000 iterations of lesson 10): slotted classes,
# written as JSON key for key as the plain dicts they replaced (to_dict/from_dict).

@dataclass(slots=True)
class Formula:
    """A manual update written out for its first element (explain/updates.py)."""

    text: str  # w ← w − lr·grad = 10 − 0.05·20 = 9
    explanation: str = ""
    explanation_ko: str = ""

    def to_dict(self) -> dict:
        return {"text": self.text, "explanation": self.explanation, "explanation_ko": self.explanation_ko}

    @classmethod
    def from_dict(cls, d: dict) -> "Formula":
        return cls(d.get("text", ""), d.get("explanation", ""), d.get("explanation_ko", ""))


@dataclass(slots=True)
class ManualUpdate:
    """The numbers of an update the code made itself (no optimizer): its first element.

    Kept for the formula (ParamUpdate.formula, made by the explain layer); not in the JSON.
    """

    value: float | None  # before the update
    grad: float | None
    update: float | None  # the change: value after = value + update
    first_of_many: bool = False  # the parameter has more elements: the formula says name[0]
    lr: float | None = None  # the learning rate, when the step is -lr·grad and the code holds lr
    lr_name: str | None = None  # the code's variable that holds it (None: a literal in the code)


@dataclass(slots=True)
class ParamUpdate:
    """One parameter in one iteration: its value at the backward(), its .grad, the update after.

    Every iteration: value, grad and update are the numbers of a one-element
    parameter (nested as its shape: [] -> 3.0, [1] -> [3.0]), else None; `norm`
    has their 2-norms {"value", "grad", "update"} (absolute values for one element).
    A snapshot entry (`shape` set) adds the values under the size rule (every
    element up to 64, else None and a summary in value_summary, ...), dtype,
    device, how the update was made and, for a manual update, its formula.
    """

    value: Any = None
    grad: Any = None
    update: Any = None
    norm: dict[str, float | None] | None = None
    # snapshot iterations only (absent from the JSON elsewhere)
    shape: list[int] | None = None
    dtype: str | None = None
    device: str | None = None
    how: str | None = None  # "in-place", "rebinding", "SGD.step()", ... or "none"
    value_summary: dict | None = None  # min, max, mean, norm, first, numel (big tensors)
    grad_summary: dict | None = None
    update_summary: dict | None = None
    formula: Formula | None = None  # manual updates, when explained
    manual: ManualUpdate | None = None  # what the formula is made of (not in the JSON)

    def to_dict(self) -> dict:
        if self.shape is None:
            return {"value": self.value, "grad": self.grad, "update": self.update, "norm": self.norm}
        d = {"shape": self.shape, "dtype": self.dtype, "device": self.device, "how": self.how,
             "value": self.value, "value_summary": self.value_summary,
             "grad": self.grad, "grad_summary": self.grad_summary,
             "update": self.update, "update_summary": self.update_summary}
        if self.formula is not None:
            d["formula"] = self.formula.to_dict()
        d["norm"] = self.norm
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ParamUpdate":
        g = d.get
        if "shape" not in d:  # most iterations: the numbers and their norms
            return cls(g("value"), g("grad"), g("update"), g("norm"))
        formula = g("formula")
        return cls(value=g("value"), grad=g("grad"), update=g("update"), norm=g("norm"),
                   shape=g("shape"), dtype=g("dtype"), device=g("device"), how=g("how"),
                   value_summary=g("value_summary"), grad_summary=g("grad_summary"),
                   update_summary=g("update_summary"),
                   formula=Formula.from_dict(formula) if formula is not None else None)


@dataclass(slots=True)
class ParamStep:
    """What one optimizer step() did to one parameter, in numbers for its first element."""

    name: str
    hyper: dict[str, Any] = field(default_factory=dict)  # its group's lr, momentum, betas, ...
    step: float | None = None  # the optimizer's step count for it, after the step
    state: dict[str, dict] = field(default_factory=dict)  # after: {key: {value, summary, shape}}
    value_before: float | None = None
    grad: float | None = None
    value_after: float | None = None
    state_before: dict[str, float | None] = field(default_factory=dict)  # exp_avg, momentum_buffer...
    state_after: dict[str, float | None] = field(default_factory=dict)
    # the words, when explained (explain/updates.py)
    formula: str | None = None
    explanation: str | None = None
    explanation_ko: str | None = None
    # for the formula only (not in the JSON)
    group: int | None = None  # index of its param group
    first_of_many: bool = False  # the parameter has more elements: the formula says name[0]

    @property
    def lr(self) -> Any:
        return self.hyper.get("lr")

    def to_dict(self) -> dict:
        d = {"name": self.name, "lr": self.hyper.get("lr"), "hyper": self.hyper, "step": self.step,
             "state": self.state}
        for key in ("formula", "explanation", "explanation_ko"):
            text = getattr(self, key)
            if text is not None:
                d[key] = text
        d["before"] = {"value": self.value_before, "grad": self.grad, **self.state_before}
        d["after"] = {"value": self.value_after, **self.state_after}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ParamStep":
        before, after = d.get("before") or {}, d.get("after") or {}
        return cls(name=d.get("name", ""), hyper=d.get("hyper") or {}, step=d.get("step"),
                   state=d.get("state") or {}, value_before=before.get("value"),
                   grad=before.get("grad"), value_after=after.get("value"),
                   state_before={k: v for k, v in before.items() if k not in ("value", "grad")},
                   state_after={k: v for k, v in after.items() if k != "value"},
                   formula=d.get("formula"), explanation=d.get("explanation"),
                   explanation_ko=d.get("explanation_ko"))


@dataclass(slots=True)
class OptimizerStep:
    """One optimizer step() in a snapshot iteration: its type and what it did per parameter."""

    type: str  # SGD, Adam, ...
    params: list[ParamStep] = field(default_factory=list)
    error: str | None = None  # why it could not be read or written out (then only this is shown)

    def to_dict(self) -> dict:
        if self.error is not None:
            return {"type": self.type, "error": self.error}
        return {"type": self.type, "params": [p.to_dict() for p in self.params]}

    @classmethod
    def from_dict(cls, d: dict) -> "OptimizerStep":
        return cls(type=d.get("type", ""), params=[ParamStep.from_dict(p) for p in d.get("params") or []],
                   error=d.get("error"))


@dataclass(slots=True)
class Iteration:
    """One backward() call, and what happened to the parameters until the next one."""

    index: int  # counts backward() calls from 1
    loss: float | None = None  # the number backward() started from
    params: dict[str, ParamUpdate] = field(default_factory=dict)  # by the user's names
    snapshot: bool = False  # the params carry values, shape, how, formula (not only norms)
    line: int | None = None  # the backward() line (snapshot iterations)
    graph: int | None = None  # index of the graph recorded in this iteration
    optimizer: list[OptimizerStep] | None = None  # its optimizer steps (snapshot iterations)

    def to_dict(self) -> dict:
        d = {"index": self.index, "loss": self.loss,
             "params": {name: p.to_dict() for name, p in self.params.items()}}
        if self.snapshot:
            d["snapshot"] = True
            d["line"] = self.line
        if self.graph is not None:
            d["graph"] = self.graph
        if self.optimizer is not None:
            d["optimizer"] = [o.to_dict() for o in self.optimizer]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Iteration":
        g = d.get
        param = ParamUpdate.from_dict
        opt = g("optimizer")
        return cls(g("index", 0), g("loss"), {name: param(p) for name, p in (g("params") or {}).items()},
                   bool(g("snapshot")), g("line"), g("graph"),
                   [OptimizerStep.from_dict(o) for o in opt] if opt is not None else None)


@dataclass
class Pitfall:
    """A training pitfall seen in a recording, with its words in English and Korean.

    Made by explain/pitfalls.py (grad_accumulation, diverging, nonfinite,
    plateau) and explain/errors.py (warnings, dead gradients). The fields after
    `kind` are in the order the JSON has them; the optional ones are written
    only when set.
    """

    kind: str
    id: str | None = None  # a warning's or a finding's id (nonleaf_grad, ...)
    iteration: int | None = None  # where it was first seen
    what: str | None = None  # nonfinite: "loss" or "grad"
    until: int | None = None  # plateau: its last iteration
    warning: str | None = None  # the warning's text
    name: str | None = None  # the tensor a warning is about
    graph: int | None = None  # the graph and node where it shows
    node: str | None = None
    op: str | None = None  # nonfinite: the forward op (or backward step) that made it
    line: int | None = None
    source: str | None = None  # the text of that line
    param: str | None = None
    cause: str | None = None  # nonfinite loss: "op" or "param"
    located_at: int | None = None  # nonfinite loss: the iteration where the op was seen
    step: int | None = None  # nonfinite grad: the backward step
    loss: float | None = None
    start_loss: float | None = None  # diverging
    dropped: float | None = None  # plateau: how far the loss fell before it
    title: str = ""
    title_ko: str = ""
    explanation: str = ""
    explanation_ko: str = ""
    hint: str | None = None  # the fix, in English
    extra: dict[str, Any] = field(default_factory=dict)  # other keys, as a producer gave them
    # The key order of the dict it was made from, when not the fields' own (warnings put
    # `kind` after the words): kept so that the JSON stays the same.
    key_order: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        if self.key_order is None:
            keys = self._keys()
        else:
            keys = [*self.key_order, *(k for k in self._keys() if k not in self.key_order
                                       and k not in _PITFALL_ALWAYS)]
        return {k: self.extra[k] if k in self.extra else getattr(self, k) for k in keys}

    def _keys(self) -> list[str]:
        keys = [k for k in _PITFALL_FIELDS if k in _PITFALL_ALWAYS or getattr(self, k) is not None]
        return keys + list(self.extra)

    @classmethod
    def from_dict(cls, d: dict) -> "Pitfall":
        known = {k: v for k, v in d.items() if k in _PITFALL_FIELDS}
        known.setdefault("kind", "")
        p = cls(**known, extra={k: v for k, v in d.items() if k not in _PITFALL_FIELDS})
        if list(d) != p._keys():
            p.key_order = tuple(d)
        return p


_PITFALL_FIELDS = tuple(f.name for f in fields(Pitfall) if f.name not in ("extra", "key_order"))
_PITFALL_ALWAYS = frozenset(("kind", "iteration", "title", "title_ko", "explanation", "explanation_ko"))


class _Pitfalls(_Later):
    """Recording.pitfalls: a _Later field whose dicts become Pitfalls when it is read.

    For now explain/errors.py appends plain dicts (warnings, dead gradients) after
    capture has made the list; this is the one place they are converted.
    """

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        items = _Later.__get__(self, obj, owner)
        if obj is not None:
            for i, p in enumerate(items):
                if type(p) is dict:
                    items[i] = Pitfall.from_dict(p)
        return items


@dataclass
class TangentStep:
    """One op of a forward-mode (dual number) pass: the value it made and the tangent it
    carried forward, from the tangents its inputs carried (None: a constant, no tangent)."""

    index: int
    op: str  # the forward function: make_dual, sin, mul
    output: str  # the label of the tensor it made
    inputs: list[str] = field(default_factory=list)  # labels of its tensor inputs, in order
    input_values: list[Any] = field(default_factory=list)  # (None past 64 elements)
    input_tangents: list[Any] = field(default_factory=list)
    value: Any = None
    summary: dict | None = None
    tangent: Any = None
    tangent_summary: dict | None = None
    shape: list[int] = field(default_factory=list)
    line: int | None = None
    source: str | None = None
    explanation: str = ""
    explanation_ko: str = ""


@dataclass
class TimelineFacts:
    """What capture saw along the timeline that the words about it are made from.

    events: plain dicts, one per thing noticed as it happened (a gradient that was
    never zeroed, the first NaN or inf: kind, iteration, what, ...); lines: the
    backward() line of each iteration (a second loop is a curve of its own).
    """

    events: list[dict]
    lines: list[int | None]


@dataclass
class Recording(_Settled):
    """Everything captured from one run: graphs, steps, iterations, an error."""

    graphs: list[Graph] = field(default_factory=list)
    script: str | None = None
    source: str | None = None  # the script's text, for the stepper's source panel
    device: str = "cpu"
    iterations: list[Iteration] = _Later(list)
    pitfalls: list[Pitfall] = _Pitfalls(list)
    notes: list[str] = field(default_factory=list)
    error: ErrorInfo | None = None
    stdout: str = ""
    tangents: list[TangentStep] = field(default_factory=list)  # forward-mode ops, in order
    metrics: list[dict] = field(default_factory=list)  # add_scalar calls: tag, step, value
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

    def on_iterations(self, fill: Callable[["Recording", "TimelineFacts | None"], None]) -> None:
        """Have `fill` complete the iterations (the explain layer's words) before they are read.

        Capture makes the iterations when they are first read (see _Later): then
        `fill(recording, facts)` runs right after they are made, with what capture saw
        along the way (TimelineFacts). Without iterations still owed it runs now, with None.
        """
        if self._pending is None:
            fill(self, None)
        else:
            self.__dict__.setdefault("_fills", []).append(fill)

    def iterations_made(self, facts: "TimelineFacts | None" = None) -> None:
        """Called by whoever made the iterations owed: runs what on_iterations() asked for."""
        for fill in self.__dict__.pop("_fills", ()):
            try:
                fill(self, facts)
            except Exception as e:  # words must never cost the user their numbers
                self.notes.append(f"explanations of the iterations unavailable: {type(e).__name__}: {e}")

    def _plain_dict(self) -> dict:
        # asdict deep-copies every number (Python 3.11): too slow for a 20000-iteration timeline,
        # whose entries make their own plain dicts (to_dict), sharing their values.
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["graphs"] = [asdict(g) for g in self.graphs]
        its = d["iterations"]
        d["iterations"] = _without_gc(lambda: [it.to_dict() for it in its])
        d["pitfalls"] = [p.to_dict() for p in d["pitfalls"]]
        d["tangents"] = [asdict(t) for t in self.tangents]
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
        its = d.get("iterations") or []
        d["iterations"] = _without_gc(lambda: [Iteration.from_dict(it) for it in its])
        d["pitfalls"] = [Pitfall.from_dict(p) for p in d.get("pitfalls") or []]
        d["tangents"] = [TangentStep(**_known(TangentStep, t)) for t in d.get("tangents") or []]
        if d.get("error"):
            d["error"] = ErrorInfo(**_known(ErrorInfo, d["error"]))
        return cls(**_known(cls, d))

    @classmethod
    def from_json(cls, text: str | bytes) -> "Recording":
        """Read what to_json() wrote. Raises RecordingFormatError (a ValueError), and only
        that, for anything else: bad JSON, nesting too deep, fields of the wrong type."""
        try:
            d = json.loads(text)
            if not isinstance(d, dict):
                raise TypeError(f"a recording is a JSON object, not {type(d).__name__}")
            return cls.from_dict(d)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError) as e:
            raise RecordingFormatError(f"not a gradviz recording: {type(e).__name__}: {e}"[:500]) from None

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


def _without_gc(make: Callable[[], Any]) -> Any:
    """make(), with the cyclic garbage collector paused.

    A long run's timeline makes tens of thousands of small acyclic objects at
    once: with the collector on they set off passes over every object in the
    process (torch's too), which cost more than making them.
    """
    if not gc.isenabled():
        return make()
    gc.disable()
    try:
        return make()
    finally:
        gc.enable()


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
