"""Turn live tensors into plain numbers, under one size rule everywhere."""
from __future__ import annotations

from typing import Any

import torch

SMALL = 64  # tensors with at most this many elements are kept whole
PREVIEW = 6  # elements shown in a summary


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
    f = t.detach().reshape(-1)
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
