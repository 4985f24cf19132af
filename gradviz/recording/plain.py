"""Plain values in and out of JSON: NaN and infinities as strings, unknown keys dropped.

Shared by the graph and the Recording when they are written and read back.
"""
from __future__ import annotations

import gc
import math
from contextlib import contextmanager
from dataclasses import fields
from typing import Any, Iterator


def _clean(x: Any) -> Any:
    """Make a value strict-JSON safe: NaN and infinities become strings."""
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(x, list):
        return [_clean(v) for v in x]
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    return x


def _unclean(x: Any) -> Any:
    if isinstance(x, str) and x in ("nan", "inf", "-inf"):
        return float(x)
    if isinstance(x, list):
        return [_unclean(v) for v in x]
    return x


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while thousands of small objects are made (a long
    run's timeline, a big graph's capture, summaries and texts), none of them garbage.

    Each collection walks every live object in the process (a model's modules, the
    user's data, torch's own): set off again and again by allocation, the passes cost
    more than the objects. Nothing is leaked: collection resumes afterwards.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _known(cls: type, d: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}
