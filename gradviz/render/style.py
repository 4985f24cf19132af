"""Colours, shapes and number formats shared by every picture and page.

Fills are light with dark text and the edges mid-grey, so a graph reads on a
light page and on a dark one alike (the SVG background stays transparent).
"""
from __future__ import annotations

import math
from typing import Any

FILL = {
    "leaf": "#ffd43b",  # a leaf that requires grad: what training changes
    "intermediate": "#a5d8ff",  # made by an op
    "constant": "#dee2e6",  # takes part, gets no gradient
    "output": "#b2f2bb",  # where backward() starts
    "op": "#ffc9c9",  # an autograd node
}
ROLE_TEXT = {
    "en": {
        "leaf": "leaf (requires grad)",
        "intermediate": "intermediate",
        "constant": "constant (no grad)",
        "output": "output (backward starts here)",
        "op": "autograd op",
    },
    "ko": {
        "leaf": "리프 (requires_grad)",
        "intermediate": "중간 텐서",
        "constant": "상수 (기울기 없음)",
        "output": "출력 (backward 시작점)",
        "op": "autograd 연산",
    },
}
TEXT = "#1a1a1a"
EDGE = "#868e96"
GRAD = "#e8590c"  # gradients flowing backward: readable on white and on dark grey
CURRENT = "#d6336c"
FUTURE_FILL = "#f1f3f5"
FONT = "Helvetica,Arial,Noto Sans CJK KR,sans-serif"

OP_SYMBOL = {
    "add": "+", "sub": "−", "rsub": "−", "mul": "×", "div": "÷", "neg": "−x", "pow": "xⁿ",
    "matmul": "@", "mm": "@", "bmm": "@", "addmm": "x@W+b", "linear": "x@Wᵀ+b",
    "sum": "Σ", "mean": "mean", "exp": "eˣ", "log": "log", "sqrt": "√",
}


def fmt_number(v: Any) -> str:
    """4 significant digits, integers without a trailing .0."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        if v == int(v) and abs(v) < 1e6:
            return str(int(v))
        return format(v, ".4g")
    return str(v)


def fmt_value(value: Any, summary: dict | None = None, width: int = 6) -> str:
    """A short text for a value: the number, a short list, or a summary."""
    if value is None:
        if summary:
            return (f"mean {fmt_number(summary['mean'])}  "
                    f"[{fmt_number(summary['min'])}, {fmt_number(summary['max'])}]  "
                    f"‖·‖ {fmt_number(summary['norm'])}")
        return "—"
    if not isinstance(value, list):
        return fmt_number(value)
    flat = flatten(value)
    if len(flat) <= width and (not value or not isinstance(value[0], list)):
        return "[" + ", ".join(fmt_number(x) for x in flat) + "]"
    if len(flat) <= width:
        return "[" + ", ".join(fmt_value(r) for r in value) + "]"
    head = ", ".join(fmt_number(x) for x in flat[:4])
    return f"[{head}, … ] ({len(flat)} values)"


def flatten(v: Any) -> list:
    """Nested lists of numbers -> one flat list."""
    if not isinstance(v, list):
        return [v]
    out: list = []
    for x in v:
        if isinstance(x, list):
            out.extend(flatten(x))
        else:
            out.append(x)
    return out


def fmt_shape(shape: list[int]) -> str:
    return "scalar" if not shape else "(" + ", ".join(str(s) for s in shape) + ")"
