"""The learning rate of a hand-written update, only when the learner's code holds it.

`w -= lr * w.grad` leaves no record of `lr`: the ratio of the update to the
gradient gives it, and the numbers the code holds at its backward() (variables,
then literals) say whether the learner wrote that number and under which name.
"""
from __future__ import annotations

import math
from types import FrameType
from typing import Any, Sequence

import torch

LR_REL_TOL = 1e-3  # a step is lr times the gradient when they agree this closely, all elements
MAX_NUMBERS = 500  # numbers read from the code's namespaces, at most


def known_numbers(frame: FrameType | None, namespaces: list[dict]) -> list[tuple[str | None, float]]:
    """Positive numbers the learner's code holds where it calls backward(): its variables
    (name, value), then the literals written in that code (None, value)."""
    out: list[tuple[str | None, float]] = []
    for ns in namespaces:
        for name, v in list(ns.items())[:MAX_NUMBERS]:
            if isinstance(name, str) and not name.startswith("_"):
                x = _number(v)
                if x is not None:
                    out.append((name, x))
    code = frame.f_code if frame is not None else None
    for c in (code.co_consts if code is not None else ()):
        x = _number(c)
        if x is not None:
            out.append((None, x))
    return out


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v) if v > 0 else None
    if isinstance(v, torch.Tensor) and v.dim() == 0 and v.is_floating_point():
        x = v.item()
        return x if x > 0 else None
    return None


def learning_rate(grad: torch.Tensor | None, update: torch.Tensor | None,
                  numbers: Sequence[tuple[str | None, float]]) -> tuple[str | None, float] | None:
    """(name, lr) when the update is -lr times the gradient and the code holds that lr.

    The ratio is fitted over every element in float64 (one element of a float32 step
    can be off by a percent: 0.805 for 0.8), checked against every element, and only
    a number the code itself holds is returned: gradviz never states an lr it guessed.
    """
    if grad is None or update is None or not numbers or grad.shape != update.shape:
        return None
    if grad.layout != torch.strided or update.layout != torch.strided:
        return None
    g = grad.detach().reshape(-1).double()
    d = update.detach().reshape(-1).double()
    gg = float(g.dot(g))
    if not gg or not math.isfinite(gg):
        return None
    rate = -float(d.dot(g)) / gg
    if rate <= 0 or float((d + rate * g).norm()) > LR_REL_TOL * float(d.norm()):
        return None  # not a plain gradient step (momentum, clipping, a second term)
    for name, x in numbers:
        if abs(x - rate) <= LR_REL_TOL * x:
            return name, x
    return None


