"""Numbers read from live tensors for the timeline: first elements, norms, distances.

The timeline reads a few numbers per parameter in every iteration of a run
that may have 20000 of them, so these take the cheapest road to a Python
float: numpy on the tensor's own memory where it can (a third to a half of a
torch call's cost), torch otherwise.
"""
from __future__ import annotations

import math

import numpy as np
import torch


def first_element(t: torch.Tensor | None) -> float | None:
    """The first element as a Python number (the only one, for one-element tensors)."""
    if t is None:
        return None
    n = t.numel()
    if n == 0:
        return None
    if t.layout != torch.strided:  # a sparse gradient (nn.Embedding(sparse=True)): its dense [0]
        t = _dense_start(t)
    v = t if n == 1 else t.detach().reshape(-1)[0]
    return float(v.real.item() if v.is_complex() else v.item())


_NUMPY_NORM = (torch.float32, torch.float64)


def norm(t: torch.Tensor | None) -> float | None:
    """The 2-norm as a Python float (numpy on the CPU: a third of a torch call's cost)."""
    if t is None:
        return None
    if t.layout != torch.strided:  # sparse: the norm of what it stores (the rest is zeros)
        t = _stored(t)
    if t.is_cpu and t.dtype in _NUMPY_NORM:
        try:
            a = t.numpy().reshape(-1)  # no copy; raises for views numpy cannot read
        except (RuntimeError, TypeError, ValueError):
            pass
        else:
            return math.sqrt(float(a.dot(a)))
    t = t.detach()
    if not (t.is_floating_point() or t.is_complex()):
        t = t.double()
    return torch.linalg.vector_norm(t).item()


def distance(new: torch.Tensor, old: torch.Tensor) -> float:
    """The 2-norm of new - old (numpy on the CPU: half a torch call's cost)."""
    if new.is_cpu and old.is_cpu and new.dtype in _NUMPY_NORM and old.dtype == new.dtype:
        try:
            d = new.detach().numpy() - old.numpy()
        except (RuntimeError, TypeError, ValueError):
            pass
        else:
            d = d.reshape(-1)
            return math.sqrt(float(d.dot(d)))
    return torch.dist(new.detach(), old).item()


def numbers_of(t: torch.Tensor) -> np.ndarray | None:
    """numpy's view of a CPU float tensor's numbers (no copy; it sees in-place changes),
    None where numpy cannot read it: the timeline's reads of one parameter go through it."""
    if not (t.is_cpu and t.dtype in _NUMPY_NORM and t.layout == torch.strided):
        return None
    try:
        return t.detach().numpy()
    except (RuntimeError, TypeError, ValueError):
        return None


def all_finite(t: torch.Tensor | None) -> bool:
    """No NaN or inf in t (None and integer tensors have none)."""
    if t is not None and t.layout != torch.strided:
        t = _stored(t)
    return t is None or not (t.is_floating_point() or t.is_complex()) or bool(
        torch.isfinite(t.detach()).all())


def _stored(t: torch.Tensor) -> torch.Tensor:
    """The values a sparse tensor stores (repeated indices summed)."""
    coo = t if t.layout == torch.sparse_coo else t.to_sparse_coo()
    return coo.detach().coalesce().values()


def _dense_start(t: torch.Tensor) -> torch.Tensor:
    """The first row of a sparse tensor, dense (enough for its first element)."""
    coo = t if t.layout == torch.sparse_coo else t.to_sparse_coo()
    return coo.detach()[0].to_dense() if t.dim() else coo.detach().to_dense()

