"""Reading numbers back out of what gradviz prints, and judging them against the truth.

gradviz prints numbers to 4 significant digits. `close4(printed, true)` is that
promise: the printed number is the true one rounded to 4 significant digits.
`value_problem(text, true)` reads one printed value (a number, a list, a list's head
with its count, or a summary) and says what in it is false. `Arith` reads the
arithmetic of an explanation line (`6 · 3 + 2 · (-1)`) and bounds the error the
rounding of its printed factors allows.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import torch

NUM = r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?|nan|-?inf"
_NUM_RE = re.compile(rf"^(?:{NUM})$")
REL = 5e-4  # the most a number printed to 4 significant digits is off, relative to itself


def number(text: str) -> float | None:
    text = text.strip()
    return float(text) if _NUM_RE.match(text) else None


def close4(printed: float, true: float) -> bool:
    """`printed` is `true` to 4 significant digits."""
    if math.isnan(true) or math.isnan(printed):
        return math.isnan(true) and math.isnan(printed)
    if math.isinf(true) or math.isinf(printed):
        return printed == true
    if true == 0:
        return printed == 0
    half_unit = 0.5 * 10 ** (math.floor(math.log10(abs(true))) - 3)
    return abs(printed - true) <= half_unit * (1 + 1e-9)


def as_printed(text: str, true: float) -> bool:
    """`text` is `true` written to as many significant digits as `text` shows (a number
    printed with 6 digits claims 6: lr = 9.99998e-07 is not 1e-06)."""
    digits = text.strip().lower().split("e")[0].lstrip("-").replace(".", "").lstrip("0") or "0"
    return float(f"{true:.{len(digits)}g}") == float(text)


def flat(t: torch.Tensor) -> list[float]:
    t = t.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    return [float(v) for v in t.reshape(-1).double().tolist()]


def same(a, b) -> bool:
    """Exact equality of nested lists of numbers, NaN equal to NaN."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


# printed values (gradviz.numbers.fmt_value's forms) -----------------------------------------
_HEAD = re.compile(rf"^\[((?:(?:{NUM}), )+)… \] \((\d+) values\)$")
_SUMMARY = re.compile(rf"^mean ({NUM})  \[({NUM}), ({NUM})\]  ‖·‖ ({NUM})$")


def value_problem(text: str, true: torch.Tensor | float | None) -> str | None:
    """What is false in one printed value, or None when it is all true."""
    text = text.strip()
    if true is None:
        return None if text == "—" else f"{text!r} printed where there is no value"
    if text == "—":
        return None  # not shown is not false
    vals = flat(torch.as_tensor(true))
    m = _SUMMARY.match(text)
    if m:
        return _summary_problem(text, [float(x) for x in m.groups()], vals)
    m = _HEAD.match(text)
    if m:
        head = [float(x) for x in m.group(1).rstrip(", ").split(", ")]
        if int(m.group(2)) != len(vals):
            return f"{text!r}: says {m.group(2)} values, the tensor has {len(vals)}"
        return _each(text, head, vals[: len(head)])
    nums = re.findall(NUM, text.replace("[", " ").replace("]", " "))
    if number(text) is None and not text.startswith("["):
        return f"{text!r}: not a value this checker can read"
    if len(nums) != len(vals):
        return f"{text!r}: {len(nums)} numbers printed, the tensor has {len(vals)}"
    return _each(text, [float(x) for x in nums], vals)


def _each(text: str, printed: list[float], true: list[float]) -> str | None:
    for k, (p, t) in enumerate(zip(printed, true)):
        if not close4(p, t):
            return f"{text!r}: element {k} is {t:.7g}"
    return None


def _summary_problem(text: str, printed: list[float], vals: list[float]) -> str | None:
    t = torch.tensor(vals, dtype=torch.float64)
    true = [float(t.mean()), float(t.min()), float(t.max()), float(t.norm())]
    scale = float(t.abs().max()) if len(vals) else 0.0
    for name, p, v in zip(("mean", "min", "max", "norm"), printed, true):
        # the mean of float32 numbers summed in float32: off by up to n·eps·max|x| as well
        slack = len(vals) * 6e-8 * scale if name == "mean" else 0.0
        if not (close4(p, v) or abs(p - v) <= slack + 0.5e-3 * abs(v)):
            return f"{text!r}: {name} is {v:.7g}"
    return None


# arithmetic of an explanation line -------------------------------------------------------
def split_top(text: str, sep: str) -> list[str]:
    """Split on sep outside (), [] and {}."""
    out, depth, start, k = [], 0, 0, 0
    while k < len(text):
        c = text[k]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(sep, k):
            out.append(text[start:k])
            k += len(sep)
            start = k
            continue
        k += 1
    out.append(text[start:])
    return out


@dataclass
class Factor:
    value: float
    atoms: list[float]  # the numbers printed in it: one, or two for (a − b)
    error: float  # the most its printed form can be off


@dataclass
class Arith:
    """Σ over rows of ∏ factors, as printed; `elided`: some rows were left out (…)."""

    rows: list[list[Factor]] = field(default_factory=list)
    elided: bool = False

    @property
    def value(self) -> float:
        return sum(math.prod(f.value for f in row) for row in self.rows)

    @property
    def error(self) -> float:
        """How far the printed arithmetic may be from exact, from the rounding of its factors."""
        total = 0.0
        for row in self.rows:
            for k in range(len(row)):
                others = math.prod(abs(f.value) + f.error for j, f in enumerate(row) if j != k)
                total += row[k].error * others
        return total

    def factors(self) -> list[Factor]:
        return [f for row in self.rows for f in row]


def _printed_error(text: str, v: float) -> float:
    if re.fullmatch(r"-?\d+", text.strip()):
        return 0.0  # integers print exactly
    return REL * abs(v)


def _factor(text: str) -> Factor | None:
    text = text.strip()
    v = number(text)
    if v is not None:
        return Factor(v, [v], _printed_error(text, v))
    if text.startswith("(") and text.endswith(")"):
        inner = text[1:-1]
        v = number(inner)
        if v is not None:
            return Factor(v, [v], _printed_error(inner, v))
        parts = split_top(inner, " − ")
        if len(parts) == 2 and all(number(p) is not None for p in parts):
            a, b = (number(p) for p in parts)
            return Factor(a - b, [a, b], _printed_error(parts[0], a) + _printed_error(parts[1], b))
    return None


def parse_arith(text: str) -> Arith | None:
    """The printed arithmetic, or None when `text` is not all numbers (a rule, say)."""
    out = Arith()
    sign_parts: list[tuple[float, str]] = []
    for k, plus in enumerate(split_top(text, " + ")):
        for j, part in enumerate(split_top(plus, " − ")):
            sign_parts.append((1.0 if j == 0 else -1.0, part))
    for sign, part in sign_parts:
        if part.strip() == "…":
            out.elided = True
            continue
        row = [_factor(p) for p in split_top(part, " · ")]
        if not row or any(f is None for f in row):
            return None
        if sign < 0:
            row[0] = Factor(-row[0].value, [-a for a in row[0].atoms], row[0].error)
        out.rows.append(row)
    return out if out.rows else None
