"""Training over time: one Iteration per backward(), with its parameter updates and optimizer steps.

Thousands of these make a long run (20000 iterations of lesson 10): slotted classes,
written as JSON key for key as the plain dicts they replaced (to_dict/from_dict).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
class TimelineFacts:
    """What capture saw along the timeline that the words about it are made from.

    events: plain dicts, one per thing noticed as it happened (a gradient that was
    never zeroed, the first NaN or inf: kind, iteration, what, ...); lines: the
    backward() line of each iteration (a second loop is a curve of its own).
    """

    events: list[dict]
    lines: list[int | None]
