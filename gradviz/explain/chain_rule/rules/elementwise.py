"""Rules for one-input elementwise functions.

exp, log, sqrt, sigmoid, tanh; the masks relu, threshold, clamp; leaky relu, abs,
sin, cos, reciprocal (at exactly 0, relu and abs say which derivative PyTorch takes);
and the copies with no factor at all: expand (a sum over the places it stretched to),
clone, to, alias.
"""
from __future__ import annotations

import numpy as np

from gradviz.explain.chain_rule.indices import _idx
from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.rules import rule
from gradviz.explain.chain_rule.rules.shared import _masked, _pointwise
from gradviz.explain.chain_rule.terms import Term, _Missing
from gradviz.numbers import fmt_number


@rule("ExpBackward0")
def _exp(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [("exp({a0})", op.y())])


@rule("LogBackward0")
def _log(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [("1/{a0}", 1.0 / op.val(0))])


@rule("SqrtBackward0")
def _sqrt(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [("1/(2√{a0})", 1.0 / (2.0 * op.y()))])


@rule("SigmoidBackward0")
def _sigmoid(op: _Op, i: int, j: tuple) -> Term:
    y = op.y()
    return _pointwise(op, i, j, [("σ({a0})", y), ("(1 − σ({a0}))", 1.0 - y)])


@rule("TanhBackward0")
def _tanh(op: _Op, i: int, j: tuple) -> Term:
    y = op.y()
    return _pointwise(op, i, j, [("(1 − tanh²({a0}))", 1.0 - y * y)])


def _at_zero(op: _Op, i: int, j: tuple, key: str) -> list:
    """A note where x[j] is exactly 0, the point where PyTorch picks the derivative."""
    try:
        x = op.val(0)
    except _Missing:
        return []
    if op.symbolic or x.shape != tuple(op.in_shape(i)) or float(x[j]) != 0.0:
        return []
    return [(key, {"name": op.ix.label(op.target(i)), "idx": _idx(j)})]


@rule("ReluBackward0")
def _relu(op: _Op, i: int, j: tuple) -> Term:
    t = _masked(op, i, j, "[{a0} > 0]", op.y() > 0)
    zero = _at_zero(op, i, j, "relu_zero")
    if zero:  # not flat there: a kink, where PyTorch takes relu'(0) = 0
        t.notes = [n for n in t.notes if n[0] != "stopped"] + zero
    return t


@rule("ThresholdBackward0")
def _threshold(op: _Op, i: int, j: tuple) -> Term:
    th = op.attrs.get("threshold", 0)
    return _masked(op, i, j, f"[{{a0}} > {fmt_number(th)}]", op.val(0) > th)


@rule("ClampBackward1")
def _clamp(op: _Op, i: int, j: tuple) -> Term:
    x = op.val(0)
    lo, hi = op.attrs.get("min"), op.attrs.get("max")
    mask = np.ones_like(x, dtype=bool)
    if lo is not None:
        mask &= x >= lo
    if hi is not None:
        mask &= x <= hi
    parts = ([fmt_number(lo), "≤"] if lo is not None else []) + ["{a0}"] + \
        (["≤", fmt_number(hi)] if hi is not None else [])
    return _masked(op, i, j, "[" + " ".join(parts) + "]", mask)


@rule("ClampMinBackward0")
def _clamp_min(op: _Op, i: int, j: tuple) -> Term:
    lo = op.attrs["min"]
    return _masked(op, i, j, f"[{{a0}} ≥ {fmt_number(lo)}]", op.val(0) >= lo)


@rule("ClampMaxBackward0")
def _clamp_max(op: _Op, i: int, j: tuple) -> Term:
    hi = op.attrs["max"]
    return _masked(op, i, j, f"[{{a0}} ≤ {fmt_number(hi)}]", op.val(0) <= hi)


@rule("LeakyReluBackward0")
def _leaky(op: _Op, i: int, j: tuple) -> Term:
    s = op.attrs.get("negative_slope", 0.01)
    x = op.val(0)
    return _pointwise(op, i, j, [(f"({{a0}} > 0 ? 1 : {fmt_number(s)})", np.where(x > 0, 1.0, s))])


@rule("AbsBackward0")
def _abs(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [("sign({a0})", np.sign(op.val(0)))],
                      _at_zero(op, i, j, "abs_zero"))


@rule("SinBackward0")
def _sin(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [("cos({a0})", np.cos(op.val(0)))])


@rule("CosBackward0")
def _cos(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [("(−sin({a0}))", -np.sin(op.val(0)))])


@rule("ReciprocalBackward0")
def _reciprocal(op: _Op, i: int, j: tuple) -> Term:
    y = op.y()
    return _pointwise(op, i, j, [("(−1/{a0}²)", -y * y)])


@rule("ExpandBackward0", "CloneBackward0", "ToCopyBackward0", "AliasBackward0")
def _expand(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [])
