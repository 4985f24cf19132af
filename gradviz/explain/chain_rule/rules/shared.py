"""Rule shapes that several families share.

`_pointwise`: an elementwise rule, summed (Σⱼ) over the places broadcasting copied an
element to; `_masked`: the gradient passes (1) or stops (0), as in relu and clamp;
`_moved`: a view-like op only moves the gradient to another place.
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from gradviz.explain.chain_rule.indices import _idx
from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.terms import Term, _Unsupported
from gradviz.numbers import fmt_shape
from gradviz.opnames import op_word

_LETTERS = "jkmnp"


def _pointwise(op: _Op, i: int, j: tuple, factors: list[tuple[Any, Any]],
               notes: list | None = None) -> Term:
    """An elementwise rule: ∂R/∂x[j] = Σ over the output places x[j] reached of ∂R/∂y · factors.

    A factor is (symbol, values): the symbol a template ("1/{a1}") or a function of the
    output place's index text; the values broadcast to the output."""
    out_shape = op.out_shape
    in_shape = op.in_shape(i)
    nd = len(out_shape)
    off = nd - len(in_shape)
    if off < 0:
        raise _Unsupported("input larger than output")
    out_expr: list[str] = []
    ranges: list = []
    letters: list[str] = []
    bdims: list[int] = []
    pool = iter(_LETTERS)
    for D in range(nd):
        d = D - off
        if d < 0 or (in_shape[d] == 1 and out_shape[D] != 1):
            letter = next(pool, "q")
            letters.append(letter)
            out_expr.append(letter)
            ranges.append(range(out_shape[D]))
            bdims.append(D)
        else:
            if in_shape[d] != out_shape[D]:
                raise _Unsupported("shapes do not broadcast")
            out_expr.append(str(j[d]))
            ranges.append((j[d],))
    arrays = [np.broadcast_to(np.asarray(a, dtype=float), out_shape) for _, a in factors]
    if op.symbolic:  # the rule text only: one place is enough
        ranges = [r[:1] for r in ranges]
    symbols = [t(out_expr) if callable(t) else op.fill(t, out_expr) for t, _ in factors]
    notes = list(notes or [])
    if bdims:
        notes.append(("broadcast", {"name": op.ix.label(op.target(i)), "src": fmt_shape(in_shape),
                                    "dst": fmt_shape(out_shape), "dims": bdims}))
    if not op.symbolic and not op.omit_up and all(ranges):
        op.U()  # the gradient that arrived, which chain() reads: not kept? (_Missing) before the rows
    rows = [(o, [float(a[o]) for a in arrays]) for o in itertools.product(*ranges)]
    return op.chain(i, j, out_expr, letters, symbols, rows, notes)


def _masked(op: _Op, i: int, j: tuple, template: str, mask: np.ndarray) -> Term:
    """relu, clamp, threshold: the gradient passes (1) or stops (0)."""
    mask = np.broadcast_to(np.asarray(mask, dtype=float), op.out_shape)
    notes = []
    if mask.size and float(mask[j if len(j) == mask.ndim else ()]) == 0.0:
        notes.append(("stopped", {"op": op_word(op.node),
                                  "name": op.ix.label(op.target(i)), "idx": _idx(j)}))
    return _pointwise(op, i, j, [(template, mask)], notes)


def _moved(op: _Op, i: int, j: tuple, o: tuple | None, note: str = "moved") -> Term:
    """View-like ops: the gradient of x[j] is the upstream at the place it moved to."""
    if o is None:
        return op.chain(i, j, [], [], [], [], [("not_picked", {
            "name": op.ix.label(op.target(i)), "idx": _idx(j), "op": op_word(op.node),
            "expr": op.ylabel()})])
    o = tuple(int(x) for x in o)
    return op.chain(i, j, [str(x) for x in o], [], [], [(o, [])],
                    [(note, {"op": op_word(op.node)})])
