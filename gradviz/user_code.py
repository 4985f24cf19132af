"""Whose code is this file: the learner's, or a library's?

gradviz looks for the learner's frame to name tensors, to mark the line an op came
from and to explain an error on the line the learner wrote. Library frames are
skipped: torch, gradviz itself (but not its lesson scripts, which are a learner's
code that happens to ship inside the package), Python's standard library, and
installed packages (a Lightning loop calls the learner's `training_step`), except
packages installed under the current folder. No torch import: torch's folder is
read from `sys.modules` once torch is loaded.
"""
from __future__ import annotations

import os
import sys
from types import FrameType

_GRADVIZ_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_LESSONS_DIR = os.path.join(_GRADVIZ_DIR, "lessons") + os.sep
_STDLIB_DIR = os.path.dirname(os.__file__) + os.sep
_INSTALLED = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)
_cache: dict[str, bool] = {}


def _torch_dir() -> str | None:
    torch = sys.modules.get("torch")
    path = getattr(torch, "__file__", None)
    return os.path.dirname(path) + os.sep if path else None


def is_user_file(filename: str) -> bool:
    """True for the learner's own code (a script, a notebook cell, a lesson script)."""
    hit = _cache.get(filename)
    if hit is not None:
        return hit
    torch_dir = _torch_dir()
    if filename.startswith(_LESSONS_DIR):
        hit = True
    elif filename.startswith(("<frozen", _GRADVIZ_DIR, _STDLIB_DIR)) or (
            torch_dir is not None and filename.startswith(torch_dir)):
        hit = False
    elif any(part in filename for part in _INSTALLED):
        cwd = os.getcwd()
        hit = len(cwd) > 1 and filename.startswith(cwd + os.sep)
    else:
        hit = True
    if torch_dir is not None:  # before torch is loaded its files cannot be told apart yet
        _cache[filename] = hit
    return hit


def is_internal(filename: str) -> bool:
    """True for library code: torch, gradviz, the standard library, installed packages."""
    return not is_user_file(filename)


def nearest_user_frame(frame: FrameType | None) -> FrameType | None:
    """`frame` or the nearest caller of it that runs the learner's code."""
    while frame is not None and not is_user_file(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def user_frame(depth: int = 1) -> FrameType | None:
    """The learner's frame nearest to the caller (depth 1: whoever called user_frame)."""
    return nearest_user_frame(sys._getframe(depth))


def user_frames(start: FrameType | None, limit: int = 8) -> list[FrameType]:
    """Up to `limit` of the learner's frames from `start` outwards (inner first)."""
    out = []
    f = start
    while f is not None and len(out) < limit:
        if is_user_file(f.f_code.co_filename):
            out.append(f)
        f = f.f_back
    return out


__all__ = ["is_user_file", "is_internal", "nearest_user_frame", "user_frame", "user_frames"]
