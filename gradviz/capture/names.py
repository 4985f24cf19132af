"""Find the names a user gave to tensors and modules, by looking at their frames."""
from __future__ import annotations

import sys
from types import FrameType

import torch

from gradviz.user_code import is_user_file
from gradviz.user_code import user_frame as nearest_user_frame


def is_internal(filename: str) -> bool:
    """True for library code: torch, gradviz, the standard library, installed packages."""
    return not is_user_file(filename)


def user_frame(depth: int = 1) -> FrameType | None:
    """The innermost frame that belongs to the user's code."""
    return nearest_user_frame(sys._getframe(depth))


def user_frames(start: FrameType | None, limit: int = 8) -> list[FrameType]:
    out = []
    f = start
    while f is not None and len(out) < limit:
        if not is_internal(f.f_code.co_filename):
            out.append(f)
        f = f.f_back
    return out


class Names:
    """id(tensor) -> the user's name, from the frames' locals and globals.

    Parameters of modules found there get qualified names (`model.fc1.weight`).
    Inner frames win over outer ones; plain names win over `_private` ones.
    """

    def __init__(self, frames: list[FrameType]):
        self.by_id: dict[int, str] = {}
        self.tensors: dict[int, torch.Tensor] = {}
        self.modules: dict[int, str] = {}
        seen_ns: set[int] = set()
        for f in frames:
            for ns in (f.f_locals, f.f_globals):
                if id(ns) in seen_ns:
                    continue
                seen_ns.add(id(ns))
                self._scan(ns)

    def _scan(self, ns: dict) -> None:
        for key, obj in list(ns.items()):
            if not isinstance(key, str) or key.startswith("__"):
                continue
            if isinstance(obj, torch.Tensor):
                self._add(obj, key)
            elif isinstance(obj, torch.nn.Module):
                self._add_module(obj, key)
            elif isinstance(obj, list | tuple) and 0 < len(obj) <= 16:
                for i, item in enumerate(obj):
                    if isinstance(item, torch.Tensor):
                        self._add(item, f"{key}[{i}]", weak=True)

    def _add(self, t: torch.Tensor, name: str, weak: bool = False) -> None:
        old = self.by_id.get(id(t))
        if old is None or (old.startswith("_") and not name.startswith("_")):
            if weak and old is not None:
                return
            self.by_id[id(t)] = name
            self.tensors[id(t)] = t

    def _add_module(self, m: torch.nn.Module, name: str) -> None:
        if id(m) in self.modules:
            return
        try:
            for mod_name, sub in m.named_modules(prefix=name):
                self.modules.setdefault(id(sub), mod_name)
            for p_name, p in m.named_parameters(prefix=name):
                self._add(p, p_name, weak=True)
        except Exception:  # a half-built module: names are a nicety
            pass

    def name(self, t: torch.Tensor) -> str | None:
        return self.by_id.get(id(t))

    def by_grad_fn(self) -> dict[tuple[int, int], torch.Tensor]:
        """Named non-leaf tensors, keyed like the graph walk keys them."""
        out = {}
        for t in self.tensors.values():
            if t.grad_fn is not None:
                out[(id(t.grad_fn), t.output_nr)] = t
        return out
