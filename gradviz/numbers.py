"""How numbers, values and shapes print, everywhere: pictures, pages and explanations.

One home below both render and explain, so that an explanation and the picture next
to it print a number the same way. No torch and nothing of gradviz here: values
arrive as plain numbers and nested lists.
"""
from __future__ import annotations

import math
from typing import Any


def fmt_number(v: Any, digits: int = 4) -> str:
    """`digits` significant digits (4: pictures and chain-rule lines), integers without a .0."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        if v == int(v) and abs(v) < 1e6:
            return str(int(v))
        return format(v, f".{digits}g")
    return str(v)


def fmt_operand(x: float | None, digits: int = 6) -> str:
    """A number inside a formula: negative ones in parentheses, `?` for one not known.

    `w ← w − lr·grad = 9 − 0.05·(−2)`: the parentheses keep the signs readable.
    """
    if x is None:
        return "?"
    if x != x or x in (math.inf, -math.inf):
        return str(x)
    s = f"{x:.{digits}g}"
    return f"({s})" if s.startswith("-") else s


def fmt_exact(v: Any) -> str:
    """A constant as the code wrote it: every digit Python keeps (0.1, 3, 1e-06)."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v)) if abs(v) < 1e15 else repr(v)
    return str(v)


def as_signed(v: Any) -> Any:
    """An int64 read as unsigned (dim=-1 arrives as 2**64 - 1) back to its signed value."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v >= 2**63:
        return v - 2**64
    if isinstance(v, list):
        return [as_signed(x) for x in v]
    return v


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
    """(2, 3); no dimensions at all prints as "scalar"."""
    return "scalar" if not shape else "(" + ", ".join(str(s) for s in shape) + ")"
