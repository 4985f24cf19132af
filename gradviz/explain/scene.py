"""What is left of a failure: the user's frames, the failing torch call, the user's names.

`_Scene(exc, info)` walks an exception's traceback once: the innermost torch
function call (or, for a backward() no torch-function mode saw, Tensor.backward's
own frame), the frames of the user's code and the failing source line. The
exception explanations (exceptions.py) ask it for names and shapes of the live
tensors; gradviz.script_watch uses gradviz.user_code to find a warning's line.

torch is never imported at module level: live tensors are only met in a traceback,
and are recognised through `sys.modules.get("torch")`.
"""
from __future__ import annotations

import linecache
import sys
from typing import Any

from gradviz.names import Names
from gradviz.recording import ErrorInfo, Graph
from gradviz.user_code import is_user_file
from gradviz.words import N_, both


def _tensor_backward() -> Any:
    import torch

    return getattr(torch.Tensor.backward, "__wrapped__", torch.Tensor.backward)


class _Scene:
    """What is left of the failure: the user's frames, the torch call, the source line."""

    def __init__(self, exc: BaseException, info: ErrorInfo):
        self.info = info
        self.graph: Graph | None = None
        frames = []
        tb = exc.__traceback__
        while tb is not None:
            frames.append((tb.tb_frame, tb.tb_lineno))
            tb = tb.tb_next
        self.call: tuple[Any, tuple, dict] | None = None
        for f, _ in reversed(frames):  # the innermost torch function call
            if f.f_code.co_name == "__torch_function__" and "func" in f.f_locals:
                loc = f.f_locals
                self.call = (loc["func"], tuple(loc.get("args") or ()), dict(loc.get("kwargs") or {}))
                break
        if self.call is None:  # a backward() that no torch-function mode saw: Tensor.backward's frame
            for f, _ in reversed(frames):
                loc = f.f_locals if f.f_code.co_name == "backward" else {}
                if _is_tensor(loc.get("self")):
                    grad = loc.get("gradient")
                    self.call = (_tensor_backward(), (loc["self"],) + ((grad,) if _is_tensor(grad) else ()),
                                 {})
                    break
        self.user = [f for f, _ in reversed(frames) if is_user_file(f.f_code.co_filename)]
        self._names: Names | None = None
        self.text = ""
        if info.file and info.line:
            self.text = linecache.getline(info.file, info.line).strip()

    # the failing torch call
    @property
    def func_name(self) -> str:
        return getattr(self.call[0], "__name__", "") if self.call else ""

    def tensors(self) -> list[Any]:
        """Tensor arguments of the failing call, in order."""
        if self.call is None:
            return []
        out = []
        for a in list(self.call[1]) + list(self.call[2].values()):
            if _is_tensor(a):
                out.append(a)
            elif isinstance(a, list | tuple):
                out.extend(x for x in a[:16] if _is_tensor(x))
        return out

    # the user's names
    @property
    def names(self) -> Names:
        """The names in the user's frames (read once, when first asked)."""
        if self._names is None:
            self._names = Names.from_frames(self.user)
        return self._names

    def name_of(self, obj: Any) -> str | None:
        return self.names.name(obj) if obj is not None else None

    def module_name(self, pred) -> str | None:
        return self.names.module_name(pred)

    def user_tensors(self) -> list[tuple[str, Any]]:
        return list(self.names.plain())

    def where(self) -> tuple[str, str]:
        """` (`c = a + b`, line 4)` for the failing line, in English and Korean, or ('', '')."""
        if self.text and self.info.line:
            return both(N_(" (`{code}`, line {line})"), code=_short(self.text), line=self.info.line)
        return "", ""


def _short(text: str, n: int = 70) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _is_module(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.nn.Module)


def _is_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _shape(t: Any) -> list[int]:
    try:
        return [int(s) for s in t.shape]
    except Exception:
        return []


def _dtype(t: Any) -> str:
    return str(getattr(t, "dtype", "")).replace("torch.", "")
