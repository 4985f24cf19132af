"""Rules for layer_norm and batch_norm: y = x̂·w + b with x̂ = (x − mean)·σ⁻¹ per group.

Every x in a group moves its mean and variance, so x[j] reaches every y[k] of its group:
∂y[k]/∂x[j] = w[k]·σ⁻¹·([k = j] − 1/n − x̂[k]·x̂[j]/n) (the variance divides by n, as
PyTorch normalizes). A group is the normalized trailing dims (layer_norm) or one channel
over the batch and its positions (batch_norm in training); batch_norm in eval mode uses
the running statistics, so there ∂y[j]/∂x[j] = w·σ⁻¹ alone. σ⁻¹ is 1/√(var + eps),
with eps read back from the output when it was kept (layer_norm saves no eps).
"""
from __future__ import annotations

import itertools

import numpy as np

from gradviz.explain.chain_rule.indices import _idx
from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.rules import rule
from gradviz.explain.chain_rule.rules.shared import _pointwise
from gradviz.explain.chain_rule.terms import Term, _Missing, _Unsupported
from gradviz.opnames import op_word

_SUB = "₁₂₃₄₅₆"


class _Norm:
    """One normalization step: which dims make a group, the affine weight and bias."""

    def __init__(self, op: _Op):
        self.op = op
        self.x = op.val(0)
        nd = self.x.ndim
        if op.cls.startswith("NativeLayerNorm"):
            n = len(op.attrs.get("normalized_shape") or [1])
            self.group_dims = list(range(nd - n, nd))
            self.param_dims = self.group_dims  # w and b have the normalized shape
            self.eps = None
        else:
            self.group_dims = [d for d in range(nd) if d != 1]
            self.param_dims = [1]
            self.eps = float(op.attrs.get("eps", 1e-5))
        self.w = self._param(1)
        self.b = self._param(2)

    def _param(self, k: int) -> np.ndarray | None:
        gi = self.op.step.grad_inputs
        if k < len(gi) and gi[k].edge_to:
            return self.op.val(k)
        return None

    def along(self, p: np.ndarray | None) -> np.ndarray:
        """A weight or bias laid along x (ones or zeros when absent)."""
        shape = [self.x.shape[d] if d in self.param_dims else 1 for d in range(self.x.ndim)]
        a = np.ones(shape) if p is None else np.asarray(p, dtype=float).reshape(shape)
        return np.broadcast_to(a, self.x.shape)

    def group(self, j: tuple) -> tuple:
        return tuple(slice(None) if d in self.group_dims else v for d, v in enumerate(j))

    def places(self, j: tuple) -> list[tuple]:
        ranges = [range(self.x.shape[d]) if d in self.group_dims else (v,) for d, v in enumerate(j)]
        return list(itertools.product(*ranges))

    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        """x̂ and σ⁻¹ (laid along x), σ⁻¹ read back from y where it was kept."""
        axes = tuple(self.group_dims)
        mean = self.x.mean(axis=axes, keepdims=True)
        centred = self.x - mean
        var = (centred ** 2).mean(axis=axes, keepdims=True)
        rstd = None
        if self.eps is None:
            rstd = self._rstd_from_y(centred, axes)
        if rstd is None:
            rstd = 1.0 / np.sqrt(var + (1e-5 if self.eps is None else self.eps))
        return centred * rstd, np.broadcast_to(rstd, self.x.shape)

    def _rstd_from_y(self, centred: np.ndarray, axes: tuple) -> np.ndarray | None:
        try:
            y = self.op.y()
        except _Missing:
            return None
        w = self.along(self.w)
        b = np.zeros(1) if self.b is None else self.along(self.b)
        with np.errstate(all="ignore"):
            xhat = (y - b) / w
            rstd = (xhat * centred).sum(axis=axes, keepdims=True) / \
                (centred ** 2).sum(axis=axes, keepdims=True)
        return rstd if np.all(np.isfinite(rstd)) else None

    def letters(self, j: tuple) -> list[str]:
        """j's index with the group's dims as letters: [0,k] or [k₁,1,k₂]."""
        g = self.group_dims
        return [("k" if len(g) == 1 else "k" + _SUB[g.index(d)]) if d in g else str(v)
                for d, v in enumerate(j)]


def _pidx(norm: _Norm, parts: list[str]) -> list[str]:
    return [p for d, p in enumerate(parts) if d in norm.param_dims]


@rule("NativeLayerNormBackward0", "NativeBatchNormBackward0", "CudnnBatchNormBackward0")
def _norm(op: _Op, i: int, j: tuple) -> Term:
    norm = _Norm(op)
    word = op_word(op.node)
    training = not op.cls.endswith("BatchNormBackward0") or bool(op.attrs.get("training", True))
    if not training:
        return _eval(op, norm, i, j)
    # symbolic: the rule's text only, whose numbers are stand-ins: one place is enough
    keep = 1 if op.symbolic else None
    xhat, rstd = (np.ones(norm.x.shape),) * 2 if op.symbolic else norm.stats()
    places = norm.places(j)
    letters = norm.letters(j)
    wsym = [op.osym(1, _pidx(norm, letters))] if norm.w is not None else []
    if i == 1:  # weight: Σ over the places it scales of ∂y · x̂
        rows = [(p, [float(xhat[p])]) for p in _param_places(norm, j)[:keep]]
        letters = _param_letters(norm, j)
        return op.chain(i, j, letters, ["n"], [f"x̂{_idx(letters)}"], rows)
    if i == 2:  # bias: Σ of ∂y over the places it shifts
        rows = [(p, []) for p in _param_places(norm, j)[:keep]]
        return op.chain(i, j, _param_letters(norm, j), ["n"], [], rows)
    w = norm.along(norm.w)
    n = len(places)
    rows = []
    for p in places[:keep]:
        inner = (1.0 if p == tuple(j) else 0.0) - 1.0 / n - float(xhat[p] * xhat[j]) / n
        rows.append((p, ([float(w[p])] if norm.w is not None else []) + [float(rstd[p]), inner]))
    jx = _idx([str(v) for v in j])
    at = "(" + ",".join(str(j[d]) for d in norm.group_dims) + ")" if len(norm.group_dims) > 1 \
        else str(j[norm.group_dims[0]])
    inner_sym = f"([k = {at}] − 1/{n} − x̂{_idx(letters)}·x̂{jx}/{n})"
    note = ("norm_defs", {"op": word, "n": n})
    return op.chain(i, j, letters, ["k"], wsym + ["σ⁻¹", inner_sym], rows, [note])


def _param_places(norm: _Norm, j: tuple) -> list[tuple]:
    """The places of x that weight/bias element j scales or shifts."""
    x = norm.x
    ranges = [(j[norm.param_dims.index(d)],) if d in norm.param_dims else range(x.shape[d])
              for d in range(x.ndim)]
    return list(itertools.product(*ranges))


def _param_letters(norm: _Norm, j: tuple) -> list[str]:
    return [str(j[norm.param_dims.index(d)]) if d in norm.param_dims else "n"
            for d in range(norm.x.ndim)]


def _eval(op: _Op, norm: _Norm, i: int, j: tuple) -> Term:
    """batch_norm in eval mode: fixed statistics, so each element is only scaled."""
    stats = [n for n in op.consts if n.dtype.startswith("float") and
             list(n.shape) == [norm.x.shape[1]]]
    if len(stats) < 2:
        raise _Unsupported("batch_norm eval: statistics")
    rm, rv = (op.raw(n).astype(float) for n in stats[:2])
    rstd = norm.along(1.0 / np.sqrt(rv + norm.eps))
    if i in (1, 2):  # weight: Σ ∂y · x̂ over its channel; bias: Σ ∂y
        xhat = (norm.x - norm.along(rm)) * rstd
        rows = [(p, [float(xhat[p])] if i == 1 else []) for p in _param_places(norm, j)]
        letters = _param_letters(norm, j)
        return op.chain(i, j, letters, ["n"], [f"x̂{_idx(letters)}"] if i == 1 else [], rows,
                        [("norm_eval", {"op": op_word(op.node)})])
    w = norm.along(norm.w)
    cx = [str(j[1])]
    factors = ([(op.osym(1, cx), w)] if norm.w is not None else []) + [("σ⁻¹" + _idx(cx), rstd)]
    return _pointwise(op, i, j, factors, [("norm_eval", {"op": op_word(op.node)})])
