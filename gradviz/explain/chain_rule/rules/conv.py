"""Rules for sliding windows: convolution (1-, 2-, 3-d, strided, padded, dilated, grouped),
max pooling and average pooling.

An output of a convolution adds up kernel × the window of the input under it, so
x[j] gets the gradient of every output whose window holds it, times the kernel weight
that met it; a weight gets Σ over the outputs of their gradient times the input under
it. Max pooling sends a window's gradient to its largest element (the first of equal
ones, as PyTorch's kernels scan the window); average pooling shares it out.
"""
from __future__ import annotations

import itertools

import numpy as np

from gradviz.explain.chain_rule.indices import _idx
from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.rules import rule
from gradviz.explain.chain_rule.terms import Term, _Unsupported
from gradviz.opnames import op_word

_SUB = "₁₂₃"


def _per_dim(v, nd: int, default: int) -> list[int]:
    if v is None:
        return [default] * nd
    v = [int(a) for a in (v if isinstance(v, (list, tuple)) else [v])]
    return v * nd if len(v) == 1 else v


def _letters(base: str, nd: int) -> list[str]:
    return [base] if nd == 1 else [base + _SUB[k] for k in range(nd)]


def _pos(o: str, s: int, off: int) -> str:
    """The input place o·s + off as text: o+1, 2·o−1."""
    text = o if s == 1 else f"{s}·{o}"
    return text if off == 0 else f"{text}{'+' if off > 0 else '−'}{abs(off)}"


def _windows(j: list[int], size: list[int], k: list[int], s: list[int], p: list[int],
             d: list[int]) -> list[tuple[tuple, tuple]]:
    """(output place o, kernel place k) of every window that holds input place j."""
    per = []
    for jd, n, kd, sd, pd, dd in zip(j, size, k, s, p, d):
        per.append([(o, kk) for kk in range(kd) for o in [(jd + pd - kk * dd) // sd]
                    if (jd + pd - kk * dd) % sd == 0 and 0 <= o < n])
    return [(tuple(a for a, _ in c), tuple(b for _, b in c)) for c in itertools.product(*per)]


class _Conv:
    """A convolution's shapes and settings, batched (an unbatched input reads as N = 1)."""

    def __init__(self, op: _Op):
        if op.attrs.get("transposed"):
            raise _Unsupported("transposed convolution")
        self.w_shape = op.operand_shape(1)
        self.nd = len(self.w_shape) - 2
        x_shape = op.operand_shape(0)
        self.batched = len(x_shape) == self.nd + 2
        self.out = list(op.out_shape) if self.batched else [1] + list(op.out_shape)
        a = op.attrs
        self.s = _per_dim(a.get("stride"), self.nd, 1)
        self.p = _per_dim(a.get("padding"), self.nd, 0)
        self.d = _per_dim(a.get("dilation"), self.nd, 1)
        self.groups = int(a.get("groups", 1) or 1)
        self.cg = self.w_shape[1]  # input channels per group
        self.og = self.w_shape[0] // self.groups  # output channels per group
        self.x_size = x_shape[-self.nd:]

    def batch(self, j: tuple) -> tuple:
        return tuple(j) if self.batched else (0,) + tuple(j)

    def unbatch(self, o: tuple) -> tuple:
        return tuple(o) if self.batched else tuple(o[1:])


@rule("ConvolutionBackward0", "ConvolutionBackward1")
def _conv(op: _Op, i: int, j: tuple) -> Term:
    c = _Conv(op)
    nd = c.nd
    os = _letters("o", nd)
    up = c.unbatch
    if i == 2:  # bias: every output of its channel
        rows = [(up((n,) + (j[0],) + o), []) for n in range(c.out[0])
                for o in np.ndindex(*c.out[2:])]
        expr = up(("n", str(j[0])) + tuple(os))
        return _capped(op, i, j, [str(v) for v in expr], ["n"] * c.batched + ["o"], [], rows)
    if i == 1:  # weight[co, cl, k]: Σ over n and o of ∂y[n,co,o] · x[n, ci, o·s + k·d − p]
        x = op.val(0)
        co, cl, k = j[0], j[1], j[2:]
        ci = (co // c.og) * c.cg + cl
        xb = x if c.batched else x[None]
        rows = []
        for n in range(c.out[0]):
            for o in np.ndindex(*c.out[2:]):
                at = [o[m] * c.s[m] + k[m] * c.d[m] - c.p[m] for m in range(nd)]
                if all(0 <= a < size for a, size in zip(at, c.x_size)):
                    rows.append((up((n, co) + o), [float(xb[(n, ci) + tuple(at)])]))
        where = [_pos(os[m], c.s[m], k[m] * c.d[m] - c.p[m]) for m in range(nd)]
        sym = op.osym(0, [str(v) for v in up(("n", str(ci)))] + where)
        expr = up(("n", str(co)) + tuple(os))
        return _capped(op, i, j, [str(v) for v in expr], ["n"] * c.batched + ["o"], [sym], rows)
    # input x[n, ci, pos]: Σ over output channels m of its group and windows o holding it
    w = op.val(1)
    jb = c.batch(j)
    n, ci, pos = jb[0], jb[1], list(jb[2:])
    g, cl = ci // c.cg, ci % c.cg
    rows = []
    wins = _windows(pos, c.out[2:], list(c.w_shape[2:]), c.s, c.p, c.d)
    for m in range(g * c.og, (g + 1) * c.og):
        for o, k in wins:
            rows.append((up((n, m) + o), [float(w[(m, cl) + k])]))
    kx = [f"({pos[m] + c.p[m]}−{_pos(os[m], c.s[m], 0)})" + (f"/{c.d[m]}" if c.d[m] != 1 else "")
          if (c.s[m], c.d[m], c.p[m]) != (1, 1, 0) else f"{pos[m]}−{os[m]}" for m in range(nd)]
    sym = op.osym(1, ["m", str(cl)] + kx)
    expr = up((str(n), "m") + tuple(os))
    note = ("conv", {"op": op_word(op.node), "name": op.ix.label(op.target(i)), "idx": _idx(j)})
    return _capped(op, i, j, [str(v) for v in expr], ["m", "o"], [sym], rows, [note])


def _capped(op: _Op, i: int, j: tuple, expr: list[str], letters: list[str], symbols: list[str],
            rows: list, notes: list | None = None) -> Term:
    """op.chain, with one row only when the values were not kept (the rule text is enough)."""
    return op.chain(i, j, expr, letters, symbols, rows[:1] if op.symbolic else rows, notes)


class _Pool:
    """A pooling op's window settings over the last nd dims of its input."""

    def __init__(self, op: _Op, i: int, nd: int):
        a = op.attrs
        self.nd = nd
        self.k = _per_dim(a.get("kernel_size"), nd, 1)
        self.s = _per_dim(a.get("stride") or a.get("kernel_size"), nd, 1)
        self.p = _per_dim(a.get("padding"), nd, 0)
        self.d = _per_dim(a.get("dilation"), nd, 1)
        self.size = op.in_shape(i)[-nd:]
        self.out = op.out_shape[-nd:]

    def places(self, o: tuple) -> list[tuple]:
        """The input places of window o, in the order PyTorch scans them (row by row)."""
        per = [[o[m] * self.s[m] - self.p[m] + kk * self.d[m] for kk in range(self.k[m])]
               for m in range(self.nd)]
        return [q for q in itertools.product(*per)
                if all(0 <= v < n for v, n in zip(q, self.size))]


def _pool_nd(op: _Op) -> int:
    return 3 if "3D" in op.cls else 2


@rule("MaxPool2DWithIndicesBackward0", "MaxPool3DWithIndicesBackward0")
def _max_pool(op: _Op, i: int, j: tuple) -> Term:
    """Each window's gradient goes to its largest element (the first of equal ones)."""
    x = op.val(0)
    nd = _pool_nd(op)
    pool = _Pool(op, i, nd)
    lead, pos = tuple(j[:-nd]), tuple(j[-nd:])
    rows = []
    for o, _ in _windows(list(pos), pool.out, pool.k, pool.s, pool.p, pool.d):
        vals = [x[lead + q] for q in pool.places(o)]
        nan = [k for k, v in enumerate(vals) if np.isnan(v)]
        best = nan[0] if nan else int(np.argmax(vals))
        if pool.places(o)[best] == pos:
            rows.append((lead + o, []))
    note = ("pool_max", {"op": op_word(op.node)})
    return op.chain(i, j, [], [], [], rows[:1] if op.symbolic else rows, [note])


@rule("AvgPool2DBackward0", "AvgPool3DBackward0")
def _avg_pool(op: _Op, i: int, j: tuple) -> Term:
    """Each window's gradient is shared out: 1/(its divisor) to each element in it."""
    nd = _pool_nd(op)
    pool = _Pool(op, i, nd)
    pool.d = [1] * nd
    a = op.attrs
    lead, pos = tuple(j[:-nd]), tuple(j[-nd:])
    rows, divs = [], set()
    for o, _ in _windows(list(pos), pool.out, pool.k, pool.s, pool.p, pool.d):
        div = a.get("divisor_override") or _divisor(pool, o, bool(a.get("count_include_pad", True)))
        divs.add(int(div))
        rows.append((lead + o, [1.0 / div]))
    syms = [f"1/{divs.pop()}"] if len(divs) == 1 else ["1/n"]
    notes = [("pool_avg", {"op": op_word(op.node), "n": syms[0][2:]})] if syms != ["1/n"] else []
    rows = rows[:1] if op.symbolic else rows
    letters = ["o"] if len(rows) > 1 else []
    expr = [str(v) for v in lead] + (_letters("o", nd) if letters else
                                     [str(v) for v in (rows[0][0][-nd:] if rows else pos)])
    return op.chain(i, j, expr, letters, syms, rows, notes)


def _divisor(pool: _Pool, o: tuple, include_pad: bool) -> int:
    """PyTorch's divisor of window o: its size within the padded input, or without padding."""
    total, inside = 1, 1
    for m in range(pool.nd):
        start = o[m] * pool.s[m] - pool.p[m]
        end = min(start + pool.k[m], pool.size[m] + pool.p[m])
        total *= end - start
        inside *= min(end, pool.size[m]) - max(start, 0)
    return total if include_pad else inside

