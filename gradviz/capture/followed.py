"""A parameter the timeline follows across iterations, and how its name finds it again.

The name the user gave a parameter (`w`, `params[0]`) is also a path into the
namespaces of the code that calls backward(): when the code rebinds the name
(`r = r - lr * r.grad`), the path finds the new tensor, so the update is still
the new value minus the old one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import torch

from gradviz.names import namespaces_of

_PATH = re.compile(r"^([A-Za-z_]\w*)(?:\[(\d+)\])?$")


@dataclass(eq=False)
class Param:
    """A parameter followed across iterations, under the name the user gave it."""

    name: str
    tensor: torch.Tensor  # the live tensor used by the latest iteration
    path: tuple | None = None  # ("w",) or ("params", 0): where to look for a rebound tensor
    old: torch.Tensor | None = None  # its value at the latest backward (a copy)
    grad: torch.Tensor | None = None  # its .grad right after that backward (the tensor itself)
    grad_version: int = -1  # grad._version then: a later in-place zero_() shows as a change
    grad_copy: torch.Tensor | None = None  # a copy of that grad, on snapshot iterations
    stepped_by: str | None = None  # the optimizer that stepped it since that backward
    flagged: bool = False  # accumulation already reported
    suspect: bool = False  # updated, with an old .grad, at a backward's start: flagged if it adds to it
    grad_before: Any = None  # .grad at the latest backward's start, and its _version then
    grad_before_version: int = -1
    unused_at: int = 0  # an iteration whose backward did not reach it: no numbers for it there
    last_update_zero: bool = True
    rebinds: bool = False  # updated by rebinding last time: `old` can be the tensor itself
    old_version: int | None = None  # its _version when `old` is the tensor, not a copy
    # the array behind `old` when the loop's fast path (Timeline._next_in_loop) made that
    # copy and nothing else holds it: the next copy goes into the same memory
    old_np: Any = None
    # The timeline, one entry per iteration the parameter took part in: plain floats, so a
    # long run adds no objects for the garbage collector to walk (that costs more than the
    # numbers themselves). For a one-element parameter the numbers, else norms.
    shape1: list | None = None  # the shape, when it has one element
    ks: list = field(default_factory=list)
    vs: list = field(default_factory=list)
    gs: list = field(default_factory=list)
    us: list = field(default_factory=list)


def path_of(name: str) -> tuple | None:
    """("w",) for `w`, ("params", 0) for `params[0]`; None for a name no variable holds."""
    m = _PATH.match(name)
    if not m:
        return None
    return (m.group(1), int(m.group(2))) if m.group(2) is not None else (m.group(1),)


def lookup(path: tuple, namespaces: list[dict]) -> Any:
    """What `path` names in the first namespace that has it (None when it names nothing)."""
    for ns in namespaces:
        if path[0] in ns:
            obj = ns[path[0]]
            if len(path) == 2:
                try:
                    obj = obj[path[1]]
                except Exception:
                    return None
            return obj
    return None


def namespaces(frame: FrameType | None) -> list[dict]:
    """Where the user's names live at a backward() (locals, then globals)."""
    if frame is None:
        return []
    try:
        return namespaces_of((frame,))
    except Exception:  # (locals that cannot be read: the globals still can)
        return [frame.f_globals]


def resolve(p: Param, namespaces: list[dict]) -> torch.Tensor:
    """The tensor the user's name for p refers to now (p.tensor unless rebound)."""
    if p.path is None or not namespaces:
        return p.tensor
    obj = lookup(p.path, namespaces)
    if isinstance(obj, torch.Tensor) and obj is not p.tensor and obj.shape == p.tensor.shape:
        return obj
    return p.tensor
