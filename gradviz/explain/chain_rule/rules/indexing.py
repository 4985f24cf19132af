"""Rules for ops that pick elements by an index or a mask: the gradient goes back to them.

gather, scatter_add, index_select, embedding (a number copied to several places gets the
sum of their gradients), where and masked_fill (a mask lets the gradient through or not),
sort and topk (each element gets the gradient of the place it was put).
"""
from __future__ import annotations

import numpy as np

from gradviz.explain.chain_rule.indices import _idx, _norm_dim
from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.rules import rule
from gradviz.explain.chain_rule.rules.shared import _moved, _pointwise
from gradviz.explain.chain_rule.terms import Term, _Unsupported
from gradviz.opnames import op_word
from gradviz.recording import Node


def _consts(op: _Op, kinds: tuple[str, ...]) -> list[Node]:
    return [n for n in op.consts if n.dtype.startswith(kinds)]


def _index(op: _Op) -> np.ndarray:
    """The op's one integer index tensor."""
    found = _consts(op, ("int", "uint", "long"))
    if len(found) != 1:
        raise _Unsupported("index")
    return op.raw(found[0]).astype(np.int64)


def _gathered(op: _Op, i: int, j: tuple, rows: list[tuple]) -> Term:
    """x[j] was copied to the output places `rows`: their gradients add up (none: 0)."""
    if not rows:
        return _moved(op, i, j, None)
    if len(rows) == 1:
        return _moved(op, i, j, rows[0], "copied")
    return op.chain(i, j, [], [], [], [(o, []) for o in rows],
                    [("copied", {"op": op_word(op.node)})])


@rule("GatherBackward0")
def _gather(op: _Op, i: int, j: tuple) -> Term:
    """y[p] = x[p with p[d] = index[p]]: x[j] gets ∂y[p] for every p that read it."""
    I = _index(op)
    d = _norm_dim(int(op.attrs.get("dim", 0)), len(j))
    rows = [p for p in np.ndindex(*I.shape) if int(I[p]) % op.in_shape(i)[d] == j[d]
            and all(p[k] == j[k] for k in range(len(j)) if k != d)]
    return _gathered(op, i, j, rows)


@rule("IndexSelectBackward0")
def _index_select(op: _Op, i: int, j: tuple) -> Term:
    """y[..., q, ...] = x[..., index[q], ...] along dim."""
    I = _index(op).reshape(-1)
    d = _norm_dim(int(op.attrs.get("dim", 0)), len(j))
    size = op.in_shape(i)[d]
    rows = [tuple(q if k == d else v for k, v in enumerate(j))
            for q in range(I.size) if int(I[q]) % size == j[d]]
    return _gathered(op, i, j, rows)


@rule("EmbeddingBackward0")
def _embedding(op: _Op, i: int, j: tuple) -> Term:
    """y[p] = weight[index[p]]: row r of weight gets ∂y[p, c] for every p whose index is r."""
    I = _index(op)
    r, c = j[0], tuple(j[1:])
    pad = op.attrs.get("padding_idx")
    if op.attrs.get("scale_grad_by_freq"):
        raise _Unsupported("scale_grad_by_freq")
    if pad is not None and int(pad) % op.in_shape(i)[0] == r:
        return op.chain(i, j, [], [], [], [], [("padding", {
            "name": op.ix.label(op.target(i)), "row": r})])
    rows = [tuple(p) + c for p in np.ndindex(*I.shape) if int(I[p]) == r]
    return _gathered(op, i, j, rows)


@rule("ScatterAddBackward0")
def _scatter_add(op: _Op, i: int, j: tuple) -> Term:
    """y = self, then y[p with p[d] = index[p]] += src[p]: self passes on, src[p] moves there."""
    if i == 0:
        return op.chain(i, j, [str(v) for v in j], [], [], [(j, [])])
    I = _index(op)
    d = _norm_dim(int(op.attrs.get("dim", 0)), len(j))
    if any(v >= s for v, s in zip(j, I.shape)):
        return _moved(op, i, j, None)  # past the index's shape: not added anywhere
    o = tuple(int(I[j]) % op.out_shape[d] if k == d else v for k, v in enumerate(j))
    return _moved(op, i, j, o)


def _bool_operand(op: _Op, word: str) -> tuple[int, np.ndarray, str]:
    """The op's one boolean constant: its place among the operands, its value, its name
    (the learner's, else `word`)."""
    found = _consts(op, ("bool",))
    if len(found) != 1:
        raise _Unsupported(word)
    k = op.ops.index(found[0])
    return k, op.val(k).astype(bool), found[0].name or word


@rule("WhereBackward0")
def _where(op: _Op, i: int, j: tuple) -> Term:
    """y = where(cond, a, b): a's gradient passes where cond holds, b's where it does not."""
    k, cond, name = _bool_operand(op, "cond")
    mask = cond if i == 0 else ~cond
    neg = "" if i == 0 else "¬"
    return _passes(op, i, j, mask, lambda e: f"[{neg}{op.bsym(k, e, name=name)}]")


def _passes(op: _Op, i: int, j: tuple, mask: np.ndarray, sym) -> Term:
    """A mask lets ∂y through (1) or not (0); an unbroadcast x[j] it stops is not in y."""
    full = np.broadcast_to(mask, op.out_shape)
    notes = []
    if list(op.in_shape(i)) == list(op.out_shape) and not full[j]:
        notes.append(("not_picked", {"name": op.ix.label(op.target(i)), "idx": _idx(j),
                                     "expr": op.ylabel()}))
    return _pointwise(op, i, j, [(sym, full.astype(float))], notes)


@rule("MaskedFillBackward0", "MaskedFillBackward1")
def _masked_fill(op: _Op, i: int, j: tuple) -> Term:
    """y = x.masked_fill(mask, v): x's gradient passes where mask is False; a tensor v gets
    the sum of the gradients of the places it filled."""
    k, mask, name = _bool_operand(op, "mask")
    if i == 0:
        return _passes(op, i, j, ~mask, lambda e: f"[¬{op.bsym(k, e, name=name)}]")
    full = np.broadcast_to(mask, op.out_shape)
    rows = [(p, []) for p in np.ndindex(*full.shape) if full[p]]
    return op.chain(i, j, [], [], [], rows)


def _order(op: _Op, x: np.ndarray, y: np.ndarray, d: int) -> np.ndarray:
    """Where each place of y took its element of x from, along d (the order sort or topk
    returned: ties in their first-come order, as PyTorch's CPU kernels give them)."""
    k = y.shape[d]
    for key in (x, -x):
        order = np.argsort(key, axis=d, kind="stable")
        order = np.take(order, range(k), axis=d)
        if np.array_equal(np.take_along_axis(x, order, d), y):
            return order
    raise _Unsupported("order not found")


@rule("SortBackward0", "TopkBackward0")
def _sort(op: _Op, i: int, j: tuple) -> Term:
    """y = sort(x) (or its first k): x[j] gets the gradient of the place it was put."""
    x, y = op.val(0), op.y()
    d = _norm_dim(int(op.attrs.get("dim", -1)), x.ndim)
    order = _order(op, x, y, d)
    line = tuple(slice(None) if k == d else v for k, v in enumerate(j))
    places = np.flatnonzero(order[line] == j[d])
    if not places.size:
        return _moved(op, i, j, None)
    o = tuple(int(places[0]) if k == d else v for k, v in enumerate(j))
    t = _moved(op, i, j, o)
    ties = int((x[line] == x[j]).sum())
    if ties > 1:
        t.notes.append(("ties", {"n": ties, "name": op.ix.label(op.target(i)), "idx": _idx(j),
                                 "op": op_word(op.node)}))
    return t
