"""The names a learner gave to tensors and modules, read from the namespaces of their code.

One reading serves every part of gradviz: capture names the boxes of a graph
(`w`, `model.fc1.weight`), the error explanations name the tensors of a failing
call, gradcheck names its leaves. Namespaces are read in order (inner frames
first): the first name found for a tensor wins (a stale loop variable `p` does
not rename `model.fc1.weight`), except that a public variable beats a `_private`
one. No torch import: torch's classes are
taken from `sys.modules` once the learner's code has loaded it.
"""
from __future__ import annotations

import sys
from types import FrameType
from typing import Any, Callable, Iterable, Iterator

MAX_LISTED = 16  # tensors in a list or tuple named as `key[i]`, at most


def namespaces_of(frames: Iterable[FrameType]) -> list[dict]:
    """The locals and globals of `frames`, each namespace once, in order."""
    out, seen = [], set()
    for f in frames:
        for ns in (f.f_locals, f.f_globals):
            if id(ns) not in seen:
                seen.add(id(ns))
                out.append(ns)
    return out


def _torch() -> Any:
    return sys.modules.get("torch")


class Names:
    """id(tensor) -> the learner's name, and id(module) -> its qualified name."""

    def __init__(self, namespaces: Iterable[dict] = ()):
        self.by_id: dict[int, str] = {}
        self.tensors: dict[int, Any] = {}  # id -> the tensor named (kept alive while named)
        self.modules: dict[int, str] = {}
        self._module_of: dict[int, Any] = {}  # id -> the module named
        self._derived: set[int] = set()  # named through a module or a list, not a variable
        for ns in namespaces:
            self.scan(ns)

    @classmethod
    def from_frames(cls, frames: Iterable[FrameType]) -> "Names":
        return cls(namespaces_of(frames))

    def scan(self, ns: dict) -> None:
        """Read one namespace (a frame's locals or globals, a closure's cells)."""
        torch = _torch()
        if torch is None:
            return
        tensor, module = torch.Tensor, torch.nn.Module
        listed = []
        for key, obj in list(ns.items()):
            if not isinstance(key, str) or key.startswith("__"):
                continue
            if isinstance(obj, tensor):
                self._add(obj, key)
            elif isinstance(obj, module):
                self._add_module(obj, key)
            elif isinstance(obj, list | tuple) and 0 < len(obj) <= MAX_LISTED:
                listed.append((key, obj))
        for key, obj in listed:  # after the variables: `x, y = batch` names x, not batch[0]
            for i, item in enumerate(obj):
                if isinstance(item, tensor):
                    self._add(item, f"{key}[{i}]", derived=True)

    def scan_method(self, ns: dict) -> None:
        """Read a method's locals as its code reads them: `self.model` is `model`, so its
        parameters are `model.0.weight` (a library's loop called this method)."""
        torch = _torch()
        me = ns.get("self")
        if torch is not None and isinstance(me, torch.nn.Module):
            try:
                for name, sub in me.named_children():
                    self._add_module(sub, name)
                for name, p in me.named_parameters(recurse=False):
                    self._add(p, name, derived=True)
            except Exception:  # a half-built module: names are a nicety
                pass
        self.scan({k: v for k, v in ns.items() if k != "self"})

    def _add(self, t: Any, name: str, derived: bool = False) -> None:
        key = id(t)
        old = self.by_id.get(key)
        if old is not None and (derived or not old.startswith("_") or name.startswith("_")):
            return  # the first name found stays, unless it was _private and this one is not
        self.by_id[key] = name
        self.tensors[key] = t
        if derived:
            self._derived.add(key)
        else:
            self._derived.discard(key)

    def _add_module(self, m: Any, name: str) -> None:
        if id(m) in self.modules:
            return
        try:
            for mod_name, sub in m.named_modules(prefix=name):
                if id(sub) not in self.modules:
                    self.modules[id(sub)] = mod_name
                    self._module_of[id(sub)] = sub
            for p_name, p in m.named_parameters(prefix=name):
                self._add(p, p_name, derived=True)
        except Exception:  # a half-built module: names are a nicety
            pass

    def name(self, t: Any) -> str | None:
        return self.by_id.get(id(t))

    def plain(self) -> Iterator[tuple[str, Any]]:
        """(name, tensor) for tensors bound to a plain variable."""
        for key, t in self.tensors.items():
            if key not in self._derived:
                yield self.by_id[key], t

    def module_name(self, pred: Callable[[Any], bool]) -> str | None:
        """The qualified name of the first named module for which pred(module) holds."""
        for key, name in self.modules.items():
            try:
                if pred(self._module_of[key]):
                    return name
            except Exception:  # a predicate that cannot read this module: not it
                continue
        return None

    def by_grad_fn(self) -> dict[tuple[int, int], Any]:
        """Named non-leaf tensors, keyed like a graph walk keys them: (id(grad_fn), output_nr)."""
        out = {}
        for t in self.tensors.values():
            if t.grad_fn is not None:
                out[(id(t.grad_fn), t.output_nr)] = t
        return out


__all__ = ["Names", "namespaces_of"]
