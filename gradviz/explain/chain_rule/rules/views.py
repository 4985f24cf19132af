"""Rules for ops that move elements without arithmetic: the gradient moves back.

view/reshape/squeeze, t, transpose, permute, select, slice, cat, stack, index, and the ops
with several outputs that cut a tensor: split, chunk, unbind.
"""
from __future__ import annotations

import itertools

import numpy as np

from gradviz.explain.chain_rule.indices import _idx, _norm_dim
from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.rules import rule
from gradviz.explain.chain_rule.rules.shared import _moved
from gradviz.explain.chain_rule.terms import Term, _Unsupported
from gradviz.opnames import op_word


@rule("ViewBackward0", "ReshapeAliasBackward0", "UnsafeViewBackward0", "SqueezeBackward0",
      "SqueezeBackward1", "SqueezeBackward2", "SqueezeBackward3", "UnsqueezeBackward0",
      "UnsqueezeBackward1")
def _view(op: _Op, i: int, j: tuple) -> Term:
    shape = op.in_shape(i)
    flat = int(np.ravel_multi_index(j, shape)) if shape else 0
    o = tuple(np.unravel_index(flat, op.out_shape)) if op.out_shape else ()
    return _moved(op, i, j, o)


@rule("TBackward0")
def _t(op: _Op, i: int, j: tuple) -> Term:
    return _moved(op, i, j, tuple(reversed(j)))


@rule("TransposeBackward0", "TransposeBackward1")
def _transpose(op: _Op, i: int, j: tuple) -> Term:
    nd = len(j)
    d0 = _norm_dim(int(op.attrs.get("dim0", 0)), nd)
    d1 = _norm_dim(int(op.attrs.get("dim1", 1)), nd)
    o = list(j)
    o[d0], o[d1] = j[d1], j[d0]
    return _moved(op, i, j, tuple(o))


@rule("PermuteBackward0")
def _permute(op: _Op, i: int, j: tuple) -> Term:
    dims = [_norm_dim(int(d), len(j)) for d in op.attrs["dims"]]
    return _moved(op, i, j, tuple(j[d] for d in dims))


@rule("SelectBackward0")
def _select(op: _Op, i: int, j: tuple) -> Term:
    shape = op.in_shape(i)
    d = _norm_dim(int(op.attrs["dim"]), len(shape))
    k = int(op.attrs["index"]) % shape[d]
    o = tuple(v for n, v in enumerate(j) if n != d) if j[d] == k else None
    return _moved(op, i, j, o, "not_picked" if o is None else "moved")


@rule("SliceBackward0")
def _slice(op: _Op, i: int, j: tuple) -> Term:
    shape = op.in_shape(i)
    d = _norm_dim(int(op.attrs["dim"]), len(shape))
    size = shape[d]
    start, end, step = int(op.attrs.get("start", 0)), int(op.attrs.get("end", size)), \
        int(op.attrs.get("step", 1))
    start = min(max(start + size if start < 0 else start, 0), size)
    end = min(max(end + size if end < 0 else end, 0), size)
    x = j[d]
    o = None
    if start <= x < end and (x - start) % step == 0:
        o = tuple((x - start) // step if n == d else v for n, v in enumerate(j))
    return _moved(op, i, j, o)


@rule("CatBackward0")
def _cat(op: _Op, i: int, j: tuple) -> Term:
    d = _norm_dim(int(op.attrs.get("dim", 0)), len(op.out_shape))
    n_in = len(op.step.grad_inputs)
    sizes: list[int | None] = []
    for k in range(n_in):
        s = op.operand_shape(k)
        sizes.append(None if not s else (0 if s == [0] else s[d]))
    unknown = [k for k, v in enumerate(sizes) if v is None]
    if len(unknown) == 1:  # a constant in the list (torch.cat((zero, h))): the rest of the size
        sizes[unknown[0]] = op.out_shape[d] - sum(v for v in sizes if v is not None)
    elif unknown and any(k < i for k in unknown):
        raise _Unsupported("cat of several unknown constants")
    offset = sum(sizes[:i])
    o = tuple(v + offset if n == d else v for n, v in enumerate(j))
    return _moved(op, i, j, o)


@rule("StackBackward0")
def _stack(op: _Op, i: int, j: tuple) -> Term:
    d = _norm_dim(int(op.attrs.get("dim", 0)), len(op.out_shape))
    return _moved(op, i, j, tuple(j[:d]) + (i,) + tuple(j[d:]))


@rule("IndexBackward0")
def _index(op: _Op, i: int, j: tuple) -> Term:
    idx_nodes = [n for n in op.consts if n.dtype.startswith(("int", "uint", "bool", "long"))]
    if len(idx_nodes) != 1:
        raise _Unsupported("index pattern")
    I = op.raw(idx_nodes[0])
    shape = op.in_shape(i)
    word = op_word(op.node)
    if I.dtype == bool:
        k = I.ndim
        if tuple(I.shape) != tuple(shape[:k]):
            raise _Unsupported("mask shape")
        if not I[tuple(j[:k])]:
            return _moved(op, i, j, None)
        rank = int(I.reshape(-1)[: int(np.ravel_multi_index(j[:k], I.shape))].sum()) if k else 0
        return _moved(op, i, j, (rank,) + tuple(j[k:]))
    I = I.astype(np.int64) % shape[0]
    places = [p for p in itertools.product(*(range(s) for s in I.shape)) if int(I[p]) == j[0]]
    rows = [(tuple(p) + tuple(j[1:]), []) for p in places]
    if not rows:
        return _moved(op, i, j, None)
    if len(rows) == 1:
        return _moved(op, i, j, rows[0][0])
    return op.chain(i, j, [], [], [], rows, [("moved", {"op": word})])


def _split_sizes(op: _Op, size: int) -> list[int]:
    if "split_sizes" in op.attrs:
        return [int(v) for v in op.attrs["split_sizes"]]
    s = int(op.attrs.get("split_size", size)) or size
    return [min(s, size - k) for k in range(0, size, s)] or [0]


@rule("SplitBackward0", "SplitWithSizesBackward0", "UnsafeSplitBackward0",
      "UnsafeSplitWithSizesBackward0", "UnbindBackward0", many=True)
def _split(op: _Op, i: int, j: tuple) -> Term:
    """split/chunk/unbind: x[j] is element o of output q; its gradient is what reached there."""
    shape = op.in_shape(i)
    d = _norm_dim(int(op.attrs.get("dim", 0)), len(shape))
    if op.cls == "UnbindBackward0":
        q = j[d]
        o = tuple(v for n, v in enumerate(j) if n != d)
        out_shape = [s for n, s in enumerate(shape) if n != d]
    else:
        sizes = _split_sizes(op, shape[d])
        q, start = 0, 0
        while q < len(sizes) - 1 and j[d] >= start + sizes[q]:
            start += sizes[q]
            q += 1
        o = tuple(v - start if n == d else v for n, v in enumerate(j))
        out_shape = [sizes[q] if n == d else s for n, s in enumerate(shape)]
    if q >= len(op.step.grad_outputs):
        raise _Unsupported("more outputs than gradients")
    if op.Uq(q, out_shape) is None:
        return op.chain(i, j, [], [], [], [], [("unused_output", {
            "name": op.ix.label(op.target(i)), "idx": _idx(j), "out": op.qlabel(q)})])
    return op.chain(i, j, [str(v) for v in o], [], [], [(o, [])],
                    [("moved", {"op": op_word(op.node)})], q=q)
