"""Turn live tensors into plain numbers, under one size rule everywhere."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

SMALL = 64  # tensors with at most this many elements are kept whole
PREVIEW = 6  # elements shown in a summary

# dtypes numpy reads straight from a CPU tensor's memory, without a copy
_NUMPY_OK = {torch.float32, torch.float64, torch.float16, torch.int8, torch.int16, torch.int32,
             torch.int64, torch.uint8, torch.bool}


def plain(t: torch.Tensor | None) -> tuple[Any, dict | None]:
    """(value, summary): every element when small, else None and a summary."""
    if t is None:
        return None, None
    t = t.detach()
    if t.is_complex():
        t = t.abs()
    if t.numel() <= SMALL:
        return t.cpu().tolist(), None
    return None, summarize(t)


def summarize(t: torch.Tensor) -> dict:
    """min, max, mean, norm, the first few elements and the count.

    On the CPU the four statistics come from numpy on the tensor's own memory:
    no copy, no intra-op thread pool (whose start-up dominates for the
    medium-sized tensors of a real model), one Python call each.
    """
    t = t.detach()
    if t.device.type == "cpu" and t.dtype in _NUMPY_OK and not t.is_conj() and not t.is_neg():
        return _summarize_numpy(t)
    return _summarize_torch(t)


def _summarize_numpy(t: torch.Tensor) -> dict:
    a = t.numpy().reshape(-1)
    result_type = a.dtype if a.dtype.kind == "f" else np.float64  # what torch would report in
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    elif a.dtype == np.float16:
        a = a.astype(np.float32)
    lo, hi = float(a.min()), float(a.max())
    mean = float(a.mean(dtype=a.dtype))
    if math.isfinite(lo) and math.isfinite(hi):
        scale = max(abs(lo), abs(hi))
        if scale == 0.0:
            norm = 0.0
        elif 1e-15 < scale < 1e15:  # a plain dot cannot overflow or underflow here
            norm = math.sqrt(float(np.dot(a, a)))
        else:
            norm = float(np.linalg.norm(a / scale)) * scale
    else:
        norm = float(np.linalg.norm(a))
    if result_type != np.float64:  # round as a float32 / float16 reduction in torch would
        mean, norm = float(result_type.type(mean)), float(result_type.type(norm))
    return {
        "min": lo,
        "max": hi,
        "mean": mean,
        "norm": norm,
        "first": a[:PREVIEW].tolist(),
        "numel": int(a.size),
    }


def _summarize_torch(t: torch.Tensor) -> dict:
    f = t.reshape(-1)
    if not f.is_floating_point():
        f = f.double()
    stats = torch.stack([f.min(), f.max(), f.mean(), f.norm()]).double().cpu().tolist()
    return {
        "min": stats[0],
        "max": stats[1],
        "mean": stats[2],
        "norm": stats[3],
        "first": f[:PREVIEW].cpu().tolist(),
        "numel": f.numel(),
    }


def scalar(x: Any) -> Any:
    """A saved attribute as plain data, or None when it is not simple."""
    if isinstance(x, bool | int | float | str) or x is None:
        return x
    if isinstance(x, torch.Tensor):
        return x.item() if x.numel() == 1 else None
    if isinstance(x, torch.dtype | torch.device | torch.Size):
        return str(x) if not isinstance(x, torch.Size) else list(x)
    if isinstance(x, tuple | list) and len(x) <= 8:
        items = [scalar(v) for v in x]
        if all(v is not None and not isinstance(v, list | dict) for v in items):
            return items
    return None
