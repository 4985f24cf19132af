"""Index and dimension arithmetic shared by the look-ups and the rules; no graph here.

`_idx` prints an index ([0,2]), `_norm_dim`/`_dims` turn torch's dim arguments
(negative, a list, None for all) into dims, `_reduce_index` maps an input index to
the output of a reduction.
"""
from __future__ import annotations

import math
from typing import Any


def _idx(parts: list[str] | tuple) -> str:
    return "[" + ",".join(str(p) for p in parts) + "]" if len(parts) else ""


def _numel(shape: list[int]) -> int:
    return int(math.prod(shape)) if shape else 1


def _norm_dim(d: int, nd: int) -> int:
    nd = max(nd, 1)
    return d % nd if d < 0 or d >= nd else d


def _dims(v: Any, nd: int) -> list[int]:
    if v is None:
        return list(range(nd))
    if isinstance(v, (list, tuple)):
        return sorted({_norm_dim(int(d), nd) for d in v}) if len(v) else list(range(nd))
    return [_norm_dim(int(v), nd)]


def _reduce_index(j: tuple, dims: list[int], keepdim: bool) -> tuple:
    out = []
    for d, x in enumerate(j):
        if d in dims:
            if keepdim:
                out.append(0)
        else:
            out.append(x)
    return tuple(out)
