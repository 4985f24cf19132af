"""Rules for matrix products: mm, bmm, addmm (F.linear), mv, dot; `_matmul` is their Σₖ."""
from __future__ import annotations

from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.rules import rule
from gradviz.explain.chain_rule.rules.shared import _pointwise
from gradviz.explain.chain_rule.terms import Term
from gradviz.numbers import fmt_number


def _matmul(op: _Op, i: int, j: tuple, a: int, b: int, which: str,
            scale: tuple[str, float] | None = None) -> Term:
    """y = A @ B (batched when 3-d): ∂A[r,c] = Σₖ ∂y[r,k]·B[c,k]; ∂B[c,q] = Σₖ ∂y[k,q]·A[k,c]."""
    A, B = op.val(a), op.val(b)
    pre = [(scale[0], scale[1])] if scale else []
    batch = j[:-2] if A.ndim == 3 else ()
    bx = [str(x) for x in batch]
    factors = [f for _, f in pre]
    if which == "A":  # the row of B that meets A[r,c], as floats in one call
        r, c = j[-2], j[-1]
        m = B.shape[-1]
        col = B[batch + (c,)][:1 if op.symbolic else m].tolist()  # the rule text: one is enough
        rows = [(batch + (r, q), factors + [v]) for q, v in enumerate(col)]
        up_expr = bx + [str(r), "k"]
        symbols = [s for s, _ in pre] + [op.osym(b, bx + [str(c), "k"])]
    else:
        c, q = j[-2], j[-1]
        n = A.shape[-2]
        col = A[batch + (slice(None), c)][:1 if op.symbolic else n].tolist()
        rows = [(batch + (r, q), factors + [v]) for r, v in enumerate(col)]
        up_expr = bx + ["k", str(q)]
        symbols = [s for s, _ in pre] + [op.osym(a, bx + ["k", str(c)])]
    return op.chain(i, j, up_expr, ["k"], symbols, rows)


@rule("MmBackward0", "BmmBackward0")
def _mm(op: _Op, i: int, j: tuple) -> Term:
    return _matmul(op, i, j, 0, 1, "A" if i == 0 else "B")


@rule("AddmmBackward0")
def _addmm(op: _Op, i: int, j: tuple) -> Term:
    beta, alpha = op.attrs.get("beta", 1), op.attrs.get("alpha", 1)
    if i == 0:
        return _pointwise(op, i, j, [(fmt_number(beta), beta)] if beta != 1 else [])
    scale = (fmt_number(alpha), float(alpha)) if alpha != 1 else None
    return _matmul(op, i, j, 1, 2, "A" if i == 1 else "B", scale)


@rule("MvBackward0")
def _mv(op: _Op, i: int, j: tuple) -> Term:
    A, v = op.val(0), op.val(1)
    if i == 0:
        r, c = j
        return op.chain(i, j, [str(r)], [], [op.osym(1, [str(c)])], [((r,), [float(v[c])])])
    (c,) = j
    rows = [((r,), [float(A[r, c])]) for r in range(A.shape[0])]
    return op.chain(i, j, ["k"], ["k"], [op.osym(0, ["k", str(c)])], rows)


@rule("DotBackward0")
def _dot(op: _Op, i: int, j: tuple) -> Term:
    other = 1 - i
    v = op.val(other)
    return op.chain(i, j, [], [], [op.osym(other, [str(j[0])])], [((), [float(v[j])])])
