"""Rules for arithmetic: add, sub, rsub, mul, div, neg, pow (by a number, a tensor, of a number)."""
from __future__ import annotations

import math

import numpy as np

from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.reading import _pow_text
from gradviz.explain.chain_rule.rules import rule
from gradviz.explain.chain_rule.rules.shared import _pointwise
from gradviz.explain.chain_rule.terms import Term
from gradviz.numbers import fmt_number


@rule("AddBackward0")
def _add(op: _Op, i: int, j: tuple) -> Term:
    alpha = op.attrs.get("alpha", 1)
    f = [(fmt_number(alpha), alpha)] if i == 1 and alpha != 1 else []
    return _pointwise(op, i, j, f)


@rule("SubBackward0")
def _sub(op: _Op, i: int, j: tuple) -> Term:
    alpha = op.attrs.get("alpha", 1)
    f = [(f"(−{fmt_number(alpha)})", -alpha)] if i == 1 else []
    return _pointwise(op, i, j, f)


@rule("RsubBackward0", "RsubBackward1")
def _rsub(op: _Op, i: int, j: tuple) -> Term:
    alpha = op.attrs.get("alpha", 1)
    f = [(f"(−{fmt_number(alpha)})", -alpha)] if i == 0 else []
    return _pointwise(op, i, j, f)


@rule("MulBackward0")
def _mul(op: _Op, i: int, j: tuple) -> Term:
    other = 1 - i
    return _pointwise(op, i, j, [("{a%d}" % other, op.val(other))])


@rule("MulBackward1")
def _mul_scalar(op: _Op, i: int, j: tuple) -> Term:
    o = op.attrs["other"]
    return _pointwise(op, i, j, [(fmt_number(o), o)])


@rule("DivBackward0")
def _div(op: _Op, i: int, j: tuple) -> Term:
    a, b = op.val(0), op.val(1)
    if i == 0:
        return _pointwise(op, i, j, [("1/{a1}", 1.0 / b)])
    return _pointwise(op, i, j, [("(−{a0}/{a1}²)", -a / b**2)])


@rule("DivBackward1")
def _div_scalar(op: _Op, i: int, j: tuple) -> Term:
    o = op.attrs["other"]
    return _pointwise(op, i, j, [(f"1/{fmt_number(o)}", 1.0 / o)])


@rule("NegBackward0")
def _neg(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [("(−1)", -1.0)])


@rule("PowBackward0")
def _pow(op: _Op, i: int, j: tuple) -> Term:
    n = op.attrs["exponent"]
    x = op.val(0)
    m = n - 1
    sym = "1" if m == 0 else ("{a0}" if m == 1 else _pow_text("{a0}", m))
    return _pointwise(op, i, j, [(fmt_number(n), n), (sym, x**m if m != 0 else np.ones_like(x))])


@rule("PowBackward1")
def _pow_tensor(op: _Op, i: int, j: tuple) -> Term:
    a, b = op.val(0), op.val(1)
    if i == 0:
        return _pointwise(op, i, j, [("{a1}", b), ("{a0}^({a1}−1)", a ** (b - 1))])
    return _pointwise(op, i, j, [("{y}", op.y()), ("ln {a0}", np.log(a))])


@rule("PowBackward2")
def _pow_base(op: _Op, i: int, j: tuple) -> Term:
    s = op.attrs["self"]
    return _pointwise(op, i, j, [("{y}", op.y()), (f"ln {fmt_number(s)}", math.log(s))])
