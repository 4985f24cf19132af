"""Rules for reductions: sum, mean, max/min (all, along a dim, amax/amin), vector norm, dist,
prod, and the running sum cumsum."""
from __future__ import annotations

import math

import numpy as np

from gradviz.explain.chain_rule.indices import _dims, _idx, _norm_dim, _numel, _reduce_index
from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.rules import rule
from gradviz.explain.chain_rule.terms import Term, _Unsupported
from gradviz.numbers import fmt_number
from gradviz.opnames import op_word


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


def _word(op: _Op) -> str:
    return "max" if op.cls.startswith(("Max", "Amax")) else "min"


@rule("MaxBackward1", "MinBackward1", "AmaxBackward0", "AminBackward0")
def _max_all(op: _Op, i: int, j: tuple) -> Term:
    """max()/amax: the gradient goes to the largest element; tied ones share it evenly."""
    x, y = op.val(0), op.y()
    word = _word(op)
    nd = x.ndim
    dims = _dims(op.attrs.get("dim"), nd) if op.cls.startswith("A") else list(range(nd))
    o = _reduce_index(j, dims, bool(op.attrs.get("keepdim")))
    yo = float(y[o] if y.ndim else y)
    group = tuple(slice(None) if d in dims else v for d, v in enumerate(j))
    mask = x[group] == yo
    count = int(mask.sum())
    sym = f"[{op.osym(0, [str(v) for v in j])} = {word}]" + (f"/{count}" if count > 1 else "")
    f = float(x[j] == yo) / max(count, 1)
    note = ("max_split", {"n": count, "op": word}) if count > 1 else (f"{word}_pick", {"op": word})
    return op.chain(i, j, [str(v) for v in o], [], [sym], [(o, [f])], [note])


@rule("MaxBackward0", "MinBackward0")
def _max_dim(op: _Op, i: int, j: tuple) -> Term:
    """max(dim): the gradient goes to the index max returned (the first of tied elements)."""
    x = op.val(0)
    d = _norm_dim(int(op.attrs.get("dim", 0)), x.ndim)
    word = _word(op)
    line = tuple(slice(None) if k == d else v for k, v in enumerate(j))
    row = x[line]
    best = np.nanmax(row) if word == "max" else np.nanmin(row)
    ties = np.flatnonzero(row == best) if not np.isnan(best) else np.array([], dtype=int)
    if np.isnan(row).any():
        raise _Unsupported("nan in the row")
    pick = int(ties[0])  # torch returns the first index of the max on the CPU
    o = _reduce_index(j, [d], bool(op.attrs.get("keepdim")))
    f = 1.0 if pick == j[d] else 0.0
    name = op.name(0)
    where = _idx([":" if k == d else str(v) for k, v in enumerate(j)])
    sym = f"[arg{word} {name}{where} = {j[d]}]"
    if len(ties) > 1:
        at = _idx([str(pick) if k == d else str(v) for k, v in enumerate(j)])
        note = ("max_index", {"n": len(ties), "op": word, "name": name, "row": where, "idx": at})
    else:
        note = (f"{word}_pick", {"op": word})
    return op.chain(i, j, [str(v) for v in o], [], [sym], [(o, [f])], [note])


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
    sym, f = _p_norm_slope(p, xj, yo, xs, ys, f"sign({xs})")
    return op.chain(i, j, [str(v) for v in o], [], [sym], [(o, [f])])


def _p_norm_slope(p: float, v: float, y: float, v_sym: str, y_sym: str, sign_sym: str) -> tuple[str, float]:
    """∂‖·‖ₚ/∂v for one element v of a vector whose p-norm is y, as (symbols, number):
    v/y for p = 2, sign(v) for p = 1, else sign(v)·|v|^(p−1)/y^(p−1). Shared by norm and dist."""
    if p == 2:
        return f"{v_sym}/{y_sym}", v / y
    if p == 1:
        return sign_sym, float(np.sign(v))
    return (f"{sign_sym}·|{v_sym}|^{fmt_number(p - 1)}/{y_sym}^{fmt_number(p - 1)}",
            float(np.sign(v)) * abs(v) ** (p - 1) / y ** (p - 1))


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
    sym, f = _p_norm_slope(p, d, y, diff, op.ylabel(), f"sign{diff}")
    syms = ([] if i == 0 else ["(−1)"]) + [sym]
    return op.chain(i, j, [], [], syms, [((), ([] if i == 0 else [sign]) + [f])])


@rule("CumsumBackward0")
def _cumsum(op: _Op, i: int, j: tuple) -> Term:
    """y[k] = Σ x[m ≤ k] along dim: x[j] is in y[k] for every k ≥ j, each with factor 1."""
    shape = op.in_shape(i)
    d = _norm_dim(int(op.attrs.get("dim", 0)), len(shape))
    rows = [(tuple(k if n == d else v for n, v in enumerate(j)), [])
            for k in range(j[d], shape[d])]
    if op.symbolic:
        rows = rows[:1]
    expr = ["k" if n == d else str(v) for n, v in enumerate(j)]
    t = op.chain(i, j, expr, [], [], rows, [("cumsum", {"op": op_word(op.node)})])
    t.rule = f"Σ[k ≥ {j[d]}] {op.up_sym(expr)}"
    return t


@rule("ProdBackward0", "ProdBackward1")
def _prod(op: _Op, i: int, j: tuple) -> Term:
    """y = Π x: ∂y/∂x[j] is the product of the other elements (no division: zeros are fine)."""
    x = op.val(0)
    if op.cls == "ProdBackward0":
        dims, keep = list(range(x.ndim)), False
    else:
        dims, keep = [_norm_dim(int(op.attrs.get("dim", 0)), x.ndim)], bool(op.attrs.get("keepdim"))
    o = _reduce_index(j, dims, keep)
    slab = x[tuple(slice(None) if d in dims else v for d, v in enumerate(j))]
    own = tuple(j[d] for d in range(x.ndim) if d in dims)
    others = [p for p in np.ndindex(*slab.shape) if p != own] if slab.size <= 7 else None
    if others is not None:
        full = [tuple(p[dims.index(d)] if d in dims else v for d, v in enumerate(j))
                for p in others]
        symbols = [op.osym(0, [str(v) for v in p]) for p in full] or ["1"]
        factors = [float(slab[p]) for p in others]
    else:
        k = _idx(["k" if d in dims else str(v) for d, v in enumerate(j)])
        skip = str(j[dims[0]]) if len(dims) == 1 else _idx([str(v) for v in j])
        symbols = [f"Π[k ≠ {skip}] {op.name(0)}{k}"]
        flat = np.delete(slab.reshape(-1), int(np.ravel_multi_index(own, slab.shape)))
        factors = [float(np.prod(flat))]
    return op.chain(i, j, [str(v) for v in o], [], symbols, [(o, factors)])
