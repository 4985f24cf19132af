"""Labels for constants that were computed: `x**2`, `exp(c*2)`, never a bare "const".

The op log (capture/forward.py) keeps, for each tensor an op made without grad, the op
and its operands: weak references to tensor operands, each with how that operand was
made itself, so a label can still say what a temporary was after it was freed.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

import torch

_OPERATORS = {"pow": "**", "mul": "*", "add": "+", "sub": "-", "div": "/", "matmul": "@"}


def maker(made: dict, t: torch.Tensor) -> tuple | None:
    """How t was computed, if the log saw it (its entry outlives t: `exp(x*2)` once x*2 is freed)."""
    entry = made.get(id(t))
    return entry if entry is not None and entry[0]() is t else None


def computed_label(made: dict, t: torch.Tensor, name_of: Callable[[Any], str | None],
                   depth: int = 3) -> str | None:
    """What a no-grad tensor was computed from: `x**2`, `exp(x*2)` (its operands by name, or
    by how they were computed, freed or not; `…` for what is not known); None if the log
    never saw it computed."""
    entry = maker(made, t)
    return None if entry is None else _described(entry, name_of, depth)


def _described(entry: tuple, name_of: Callable[[Any], str | None], depth: int) -> str:
    _, op, operands = entry
    parts = []
    for a in operands:
        if type(a) is tuple and len(a) == 2 and type(a[0]) is weakref.ref:
            # (weakref to a tensor operand, how it was computed)
            ref, maker = a
            obj = ref()
            text = name_of(obj) if obj is not None else None
            if text is None:
                text = _described(maker, name_of, depth - 1) if maker and depth > 1 else "…"
            if op in _OPERATORS and any(c in text for c in "+-*/@ "):
                text = f"({text})"
            parts.append(text)
        elif isinstance(a, bool | int | float) or (
                type(a) is tuple and all(isinstance(v, int) for v in a)):
            parts.append(repr(a))
        else:
            parts.append("…")
    if op in _OPERATORS and len(parts) == 2:
        return f"{parts[0]}{_OPERATORS[op]}{parts[1]}"
    return f"{op}({', '.join(parts)})"
