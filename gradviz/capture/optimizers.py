"""Optimizers: which parameters each step() moved, and what it did, in numbers.

torch's global optimizer step hooks (no patching): every step credits its
parameters' updates to `Adam.step()` and the like; on snapshot iterations the
hooks also read the state (momentum buffer, Adam's moments) before and after
the step, for the first element of each parameter. What capture keeps is
numbers only (recording.OptimizerStep); explain/updates.py writes them out
as a formula with its words.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from gradviz.capture.tensor_numbers import first_element
from gradviz.capture.timeline import Timeline
from gradviz.capture.values import no_torch_function, plain
from gradviz.recording import OptimizerStep, ParamStep

MAX_DESCRIBED = 8  # parameters per optimizer whose update is written out in numbers

_HYPER = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "betas", "eps",
          "amsgrad", "alpha", "centered", "lr_decay", "rho", "decoupled_weight_decay")


class OptimizerWatch:
    """Global optimizer step hooks: which parameters each step() moved, and how.

    Every step marks its parameters (so an update is credited to `Adam.step()`);
    on iterations that keep a snapshot it also reads the state (momentum buffer,
    Adam's moments) before and after, and keeps the update in numbers
    (timeline.optim: an OptimizerStep per step()).
    """

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._handles: list[Any] = []
        self._before: dict[int, list[dict]] = {}

    def __enter__(self) -> "OptimizerWatch":
        from torch.optim.optimizer import (register_optimizer_step_post_hook,
                                           register_optimizer_step_pre_hook)

        self._handles = [register_optimizer_step_pre_hook(self._pre),
                         register_optimizer_step_post_hook(self._post)]
        return self

    def __exit__(self, *exc: Any) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        self._before.clear()

    def _pre(self, opt: Any, args: Any, kwargs: Any) -> None:
        try:
            how = f"{type(opt).__name__}.step()"
            mark = self.timeline.mark_stepped
            for group in opt.param_groups:
                for p in group["params"]:
                    mark(p, how)
            if self.timeline.detail():
                with torch.no_grad(), no_torch_function():
                    self._before[id(opt)] = self._read(opt)
        except Exception:  # observing must never break the user's step
            self._before.pop(id(opt), None)

    def _post(self, opt: Any, args: Any, kwargs: Any) -> None:
        before = self._before.pop(id(opt), None)
        if before is None:
            return
        try:
            with torch.no_grad(), no_torch_function():
                after = self._read(opt, full_state=True)
            info = step_numbers(type(opt).__name__, before, after)
            self.timeline.optim.setdefault(self.timeline.k, []).append(info)
        except Exception as e:
            self.timeline.optim.setdefault(self.timeline.k, []).append(
                OptimizerStep(type=type(opt).__name__, error=f"{type(e).__name__}: {e}"))

    def _read(self, opt: Any, full_state: bool = False) -> list[dict]:
        return read_optimizer(opt, self.timeline.name_of, full_state)


def read_optimizer(opt: Any, name_of: Callable[[Any], str | None], full_state: bool = False) -> list[dict]:
    """Each described parameter's hyperparameters, value, gradient and state (first elements),
    as step_numbers reads them; `name_of` names a parameter (None: its place in the groups)."""
    out = []
    n = 0
    for gi, group in enumerate(opt.param_groups):
        hyper = {}
        for key in _HYPER:
            if key in group:
                v = group[key]
                if isinstance(v, torch.Tensor):
                    v = v.item() if v.numel() == 1 else None
                if isinstance(v, tuple):
                    v = [float(x.item()) if isinstance(x, torch.Tensor) else x for x in v]
                hyper[key] = v
        for i, p in enumerate(group["params"]):
            if p.grad is None or n >= MAX_DESCRIBED:
                continue
            n += 1
            st = opt.state.get(p, {})
            state = {}
            for key, v in st.items():
                if isinstance(v, torch.Tensor) and v.shape == p.shape and key != "step":
                    state[key] = first_element(v)
            step = st.get("step")
            entry = {"name": name_of(p) or f"param_groups[{gi}][{i}]", "group": gi,
                     "hyper": hyper, "w": first_element(p), "g": first_element(p.grad), "state": state,
                     "step": float(step.item() if isinstance(step, torch.Tensor) else step)
                     if step is not None else None, "element": p.numel() > 1}
            if full_state:
                entry["state_full"] = {}
                for key, v in st.items():
                    if isinstance(v, torch.Tensor) and key != "step":
                        val, summ = plain(v)
                        entry["state_full"][key] = {"value": val, "summary": summ,
                                                    "shape": list(v.shape)}
            out.append(entry)
    return out


def step_numbers(kind: str, before: list[dict], after: list[dict]) -> OptimizerStep:
    """The optimizer's update in numbers, for the first element of each parameter."""
    params = []
    prior = {(b["group"], b["name"]): b for b in before}
    for a in after:
        b = prior.get((a["group"], a["name"]))
        if b is None:
            continue
        params.append(ParamStep(
            name=a["name"], hyper=a["hyper"], step=a["step"], state=a.get("state_full", {}),
            value_before=b["w"], grad=b["g"], value_after=a["w"], state_before=b["state"],
            state_after=a["state"], group=a["group"], first_of_many=a["element"]))
    return OptimizerStep(type=kind, params=params)
