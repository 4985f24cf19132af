"""Term, the structured form of one gradient an explanation prints, and how it prints.

A rule returns Terms (steps.py checks their arithmetic against what autograd sent,
text.py prints them); `_Missing` and `_Unsupported` are how a rule says it cannot
show the arithmetic. `_fmt_products` prints Σ ∏ factors: 6 · 3 + 2 · (−1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from gradviz.numbers import fmt_number


class Num(float):
    """A number that prints its own way, e.g. (0.5 − 0.2), while staying a float."""

    shown: str

    def __new__(cls, value: float, shown: str) -> "Num":
        obj = float.__new__(cls, value)
        obj.shown = shown
        return obj


@dataclass
class Term:
    """One number an explanation prints, and how it was computed.

    kind: "chain" (a gradient computed by the op's rule), "accumulate" (a leaf's
    .grad), "fan_in" (gradients from several uses of a tensor added up), "rule"
    (the rule only: the values were too large to keep), "recorded" (the number
    autograd sent, with no arithmetic shown).
    `products`: result = Σ over products of ∏ factors (None for "rule"/"recorded");
    for "chain" terms `result` is the recorded gradient element and Σ∏ equals it.
    """

    kind: str
    edge: int  # index into step.grad_inputs; -1 for accumulate and fan_in
    target: str  # id of the tensor node the gradient belongs to
    label: str  # that tensor's name as printed
    element: int  # flat index into that gradient
    index: list[int]
    lhs: str  # "∂l/∂w", "x.grad"
    rule: str = ""  # "∂l/∂a · 3"
    products: list[list[float]] | None = None
    result: float | None = None
    notes: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def value(self) -> float | None:
        """Σ ∏ products: what the printed arithmetic adds up to."""
        if self.products is None:
            return None
        return float(sum(math.prod(p) for p in self.products))


KEPT = 64  # tensors with at most this many elements keep their values (capture's rule)


class _Missing(Exception):
    """A value the rule needs was not kept: `big` when it has more than KEPT elements,
    else it was made where capture could not see it (inside one of torch's C++ functions)."""

    def __init__(self, what: str, big: bool = False):
        super().__init__(what)
        self.big = big


class _Unsupported(Exception):
    """The op was used in a way these rules do not model."""


def _fmt_factor(f: float, first: bool) -> str:
    if isinstance(f, Num):
        return f.shown
    s = fmt_number(float(f))
    return s if first or not s.startswith("-") else f"({s})"


def _fmt_product(p: list[float], first: bool) -> str:
    return " · ".join(_fmt_factor(f, first and k == 0) for k, f in enumerate(p))


def _fmt_products(products: list[list[float]], limit: int = 4) -> str:
    shown = products if len(products) <= limit else products[: limit - 1] + [products[-1]]
    out = ""
    for k, p in enumerate(shown):
        if k == 0:
            out = _fmt_product(p, True)
            continue
        if k == limit - 1 and len(products) > limit:
            out += " + …"
        neg = p and not isinstance(p[0], Num) and float(p[0]) < 0
        if neg:
            out += " − " + _fmt_product([abs(float(p[0]))] + list(p[1:]), True)
        else:
            out += " + " + _fmt_product(p, True)
    return out
