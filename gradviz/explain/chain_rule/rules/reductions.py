"""Rules for reductions: sum, mean, max/min (all or along a dim), vector norm, dist."""
from __future__ import annotations

import math

import numpy as np

from gradviz.explain.chain_rule.indices import _dims, _norm_dim, _numel, _reduce_index
from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.rules import rule
from gradviz.explain.chain_rule.terms import Term, _Unsupported
from gradviz.numbers import fmt_number


@rule("SumBackward0")
def _sum(op: _Op, i: int, j: tuple) -> Term:
    return op.chain(i, j, [], [], [], [((), [])], [("sum_copy", {})])


@rule("SumBackward1")
def _sum_dim(op: _Op, i: int, j: tuple) -> Term:
    nd = len(op.in_shape(i))
    dims = _dims(op.attrs.get("dim"), nd)
    o = _reduce_index(j, dims, bool(op.attrs.get("keepdim")))
    return op.chain(i, j, [str(x) for x in o], [], [], [(o, [])], [("sum_copy", {})])


@rule("MeanBackward0")
def _mean(op: _Op, i: int, j: tuple) -> Term:
    n = _numel(op.in_shape(i))
    return op.chain(i, j, [], [], [f"1/{n}"], [((), [1.0 / n])], [("mean_split", {"n": n})])


@rule("MeanBackward1")
def _mean_dim(op: _Op, i: int, j: tuple) -> Term:
    shape = op.in_shape(i)
    dims = _dims(op.attrs.get("dim"), len(shape))
    n = _numel([shape[d] for d in dims])
    o = _reduce_index(j, dims, bool(op.attrs.get("keepdim")))
    return op.chain(i, j, [str(x) for x in o], [], [f"1/{n}"], [(o, [1.0 / n])],
                    [("mean_split", {"n": n})])


@rule("MaxBackward1", "MinBackward1")
def _max_all(op: _Op, i: int, j: tuple) -> Term:
    x, y = op.val(0), float(op.y())
    mask = x == y
    count = int(mask.sum())
    word = "max" if op.cls.startswith("Max") else "min"
    sym = f"[{op.osym(0, [str(v) for v in j])} = {word}]" + (f"/{count}" if count > 1 else "")
    f = float(mask[j]) / max(count, 1)
    return op.chain(i, j, [], [], [sym], [((), [f])], [(f"{word}_pick", {"op": word})])


@rule("MaxBackward0", "MinBackward0")
def _max_dim(op: _Op, i: int, j: tuple) -> Term:
    x = op.val(0)
    d = _norm_dim(int(op.attrs.get("dim", 0)), x.ndim)
    word = "max" if op.cls.startswith("Max") else "min"
    pick = np.argmax(x, axis=d) if word == "max" else np.argmin(x, axis=d)
    o = _reduce_index(j, [d], bool(op.attrs.get("keepdim")))
    rest = tuple(v for k, v in enumerate(j) if k != d)
    f = 1.0 if int(pick[rest]) == j[d] else 0.0
    sym = f"[{op.osym(0, [str(v) for v in j])} = {word}]"
    return op.chain(i, j, [str(v) for v in o], [], [sym], [(o, [f])],
                    [(f"{word}_pick", {"op": word})])


@rule("LinalgVectorNormBackward0")
def _norm(op: _Op, i: int, j: tuple) -> Term:
    p = float(op.attrs.get("ord", 2))
    if not (math.isfinite(p) and p > 0):
        raise _Unsupported("norm order")
    x = op.val(0)
    dims = _dims(op.attrs.get("dim"), x.ndim)
    o = _reduce_index(j, dims, bool(op.attrs.get("keepdim")))
    y = op.y()
    yo = float(y[o])
    xj = float(x[j])
    xs, ys = op.osym(0, [str(v) for v in j]), op.ysym([str(v) for v in o])
    if p == 2:
        sym, f = f"{xs}/{ys}", xj / yo
    elif p == 1:
        sym, f = f"sign({xs})", float(np.sign(xj))
    else:
        sym = f"sign({xs})·|{xs}|^{fmt_number(p - 1)}/{ys}^{fmt_number(p - 1)}"
        f = float(np.sign(xj)) * abs(xj) ** (p - 1) / yo ** (p - 1)
    return op.chain(i, j, [str(v) for v in o], [], [sym], [(o, [f])])


@rule("DistBackward0")
def _dist(op: _Op, i: int, j: tuple) -> Term:
    p = float(op.attrs.get("p", 2))
    a, b = op.val(0), op.val(1)
    if a.shape != b.shape or not (math.isfinite(p) and p > 0):
        raise _Unsupported("dist")
    d = float(a[j] - b[j])
    y = float(op.y())
    sign = 1.0 if i == 0 else -1.0
    ix = [str(v) for v in j]
    diff = f"({op.osym(0, ix)} − {op.osym(1, ix)})"
    if p == 2:
        sym, f = f"{diff}/{op.ylabel()}", d / y
    elif p == 1:
        sym, f = f"sign{diff}", float(np.sign(d))
    else:
        sym = f"sign{diff}·|{diff}|^{fmt_number(p - 1)}/{op.ylabel()}^{fmt_number(p - 1)}"
        f = float(np.sign(d)) * abs(d) ** (p - 1) / y ** (p - 1)
    syms = ([] if i == 0 else ["(−1)"]) + [sym]
    return op.chain(i, j, [], [], syms, [((), ([] if i == 0 else [sign]) + [f])])
