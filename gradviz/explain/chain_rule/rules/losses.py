"""Rules for softmax, log_softmax and the losses: mse, bce, bce with logits, nll.

cross_entropy records as log_softmax then nll, so it is explained by those two.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.explain.chain_rule.indices import _idx, _norm_dim
from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.rules import rule
from gradviz.explain.chain_rule.rules.shared import _pointwise
from gradviz.explain.chain_rule.terms import Num, Term, _Missing, _Unsupported
from gradviz.numbers import fmt_number


def _defs(op: _Op, Y: str) -> str:
    expr = op.ylabel()
    return "" if expr == Y else f"{Y} = {expr}, "


@rule("SoftmaxBackward0")
def _softmax(op: _Op, i: int, j: tuple) -> Term:
    """y = softmax(x): ∂x[j] = y[j]·(g[j] − Σₖ g[k]·y[k]) with g = ∂R/∂y."""
    y, U = op.y(), op.U()
    d = _norm_dim(int(op.attrs.get("dim", -1)), y.ndim)
    line = tuple(slice(None) if n == d else v for n, v in enumerate(j))
    s = float((U[line] * y[line]).sum())
    yj, uj = float(y[j]), float(U[j])
    jx, kx = _idx([str(v) for v in j]), _idx(["k" if n == d else str(v) for n, v in enumerate(j)])
    Y = op.ylabel() if op.out is not None and op.out.name else "y"
    symbols = [f"{Y}{jx}", f"(g{jx} − Σₖ g{kx}·{Y}{kx})"]
    diff = Num(uj - s, f"({fmt_number(uj)} − {fmt_number(s)})")
    notes = [("softmax_sum", {"y": Y, "defs": _defs(op, Y), "root": op.root, "k": kx,
                              "value": fmt_number(s)})]
    return op.chain(i, j, [], [], symbols, [((), [yj, diff])], notes, upstream=False)


@rule("LogSoftmaxBackward0")
def _log_softmax(op: _Op, i: int, j: tuple) -> Term:
    """y = log_softmax(x): ∂x[j] = g[j] − exp(y[j])·Σₖ g[k] with g = ∂R/∂y."""
    y, U = op.y(), op.U()
    d = _norm_dim(int(op.attrs.get("dim", -1)), y.ndim)
    line = tuple(slice(None) if n == d else v for n, v in enumerate(j))
    S = float(U[line].sum())
    p = float(np.exp(y[j]))
    jx, kx = _idx([str(v) for v in j]), _idx(["k" if n == d else str(v) for n, v in enumerate(j)])
    Y = op.ylabel() if op.out is not None and op.out.name else "y"
    t = op.chain(i, j, [], [], [], [((), [])], upstream=False)
    t.rule = f"g{jx} − exp({Y}{jx}) · Σₖ g{kx}"
    t.products = [[float(U[j])], [-p, S]]
    t.result = t.value
    t.notes.append(("log_softmax_sum", {"y": Y, "defs": _defs(op, Y), "root": op.root, "k": kx,
                                        "value": fmt_number(S)}))
    return t


_REDUCTION = {"none": 0, "mean": 1, "sum": 2}


def reduction(attrs: dict) -> int:
    """0 none, 1 mean, 2 sum: from the name capture writes, or torch's number (older JSON)."""
    red = attrs.get("reduction", "mean")
    return _REDUCTION.get(red, 1) if isinstance(red, str) else int(red)


def _loss_rows(op: _Op, i: int, j: tuple, factors: list[tuple[str, Any]], n: int) -> Term:
    """A loss over elements: reduction none is elementwise, mean adds 1/n, sum nothing."""
    red = reduction(op.attrs)
    if red == 0:
        return _pointwise(op, i, j, factors)
    if red == 1:
        factors = factors + [(f"1/{n}", 1.0 / n)]
    ix = [str(v) for v in j]
    shape = op.in_shape(i)
    vals = [float(np.broadcast_to(np.asarray(a, dtype=float), shape)[j]) for _, a in factors]
    return op.chain(i, j, [], [], [op.fill(t, ix, shape) for t, _ in factors], [((), vals)])


def _input_and_target(op: _Op, loss: str) -> tuple[np.ndarray, np.ndarray]:
    """An elementwise loss's input and target: these rules model them of one shape (no broadcast)."""
    x, t = op.val(0), op.val(1)
    if x.shape != t.shape:
        raise _Unsupported(f"{loss} broadcast")
    return x, t


@rule("MseLossBackward0")
def _mse(op: _Op, i: int, j: tuple) -> Term:
    x, t = _input_and_target(op, "mse")
    two = ("2", 2.0) if i == 0 else ("(−2)", -2.0)
    return _loss_rows(op, i, j, [two, ("({a0} − {a1})", x - t)], x.size)


@rule("BinaryCrossEntropyBackward0")
def _bce(op: _Op, i: int, j: tuple) -> Term:
    p, t = _input_and_target(op, "bce")
    if i == 0:
        f = [("({a0} − {a1})", p - t),
             ("1/({a0}·(1 − {a0}))", 1.0 / np.maximum(p * (1 - p), 1e-12))]
    else:
        f = [("(ln(1 − {a0}) − ln {a0})", np.log1p(-p) - np.log(p))]
    return _loss_rows(op, i, j, f, p.size)


@rule("BinaryCrossEntropyWithLogitsBackward0")
def _bce_logits(op: _Op, i: int, j: tuple) -> Term:
    x, t = _input_and_target(op, "bce")
    if i == 0:
        f = [("(σ({a0}) − {a1})", 1.0 / (1.0 + np.exp(-x)) - t)]
    else:
        f = [("(−{a0})", -x)]
    return _loss_rows(op, i, j, f, x.size)


@rule("NllLossBackward0")
def _nll(op: _Op, i: int, j: tuple) -> Term:
    shape = op.in_shape(i)
    if len(shape) not in (1, 2):
        raise _Unsupported("nll over extra dims")
    tnodes = [n for n in op.consts if n.dtype.startswith(("int", "long", "uint"))]
    if tnodes and tnodes[0].value is not None:
        T = np.asarray(tnodes[0].value, dtype=np.int64).reshape(-1)
    elif "target" in op.attrs:
        T = np.asarray([int(op.attrs["target"])])
    else:
        raise _Missing("target")
    ignore = int(op.attrs.get("ignore_index", -100))
    red = reduction(op.attrs)
    row, c = (j[0], j[1]) if len(shape) == 2 else (0, j[0])
    counted = int((T != ignore).sum())
    tw = float(op.attrs.get("total_weight", counted))
    if red == 1 and not math.isclose(tw, counted):
        raise _Unsupported("class weights")
    tgt = int(T[row])
    up_expr = [str(row)] if red == 0 and len(shape) == 2 else []
    o = (row,) if red == 0 and len(shape) == 2 else ()
    if tgt != c or tgt == ignore:
        t = op.chain(i, j, up_expr, [], [], [], [("not_target", {
            "name": op.ix.label(op.target(i)), "idx": _idx(j)})])
        return t
    factors = [("(−1)", -1.0)] + ([(f"1/{fmt_number(tw)}", 1.0 / tw)] if red == 1 else [])
    return op.chain(i, j, up_expr, [], [s for s, _ in factors], [(o, [f for _, f in factors])])
