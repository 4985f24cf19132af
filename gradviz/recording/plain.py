"""Plain values in and out of JSON: NaN and infinities as strings, unknown keys dropped.

Shared by the graph and the Recording when they are written and read back.
"""
from __future__ import annotations

import gc
import math
from dataclasses import fields
from typing import Any, Callable


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


def _without_gc(make: Callable[[], Any]) -> Any:
    """make(), with the cyclic garbage collector paused.

    A long run's timeline makes tens of thousands of small acyclic objects at
    once: with the collector on they set off passes over every object in the
    process (torch's too), which cost more than making them.
    """
    if not gc.isenabled():
        return make()
    gc.disable()
    try:
        return make()
    finally:
        gc.enable()


def _known(cls: type, d: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}
