"""Pitfall: a training pitfall seen in a recording, typed but written as the dicts it replaced."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from gradviz.recording.later import _Later


@dataclass
class Pitfall:
    """A training pitfall seen in a recording, with its words in English and Korean.

    Made by explain/pitfalls.py (grad_accumulation, diverging, nonfinite,
    plateau) and explain/errors.py (warnings, dead gradients). The fields after
    `kind` are in the order the JSON has them; the optional ones are written
    only when set.
    """

    kind: str
    id: str | None = None  # a warning's or a finding's id (nonleaf_grad, ...)
    iteration: int | None = None  # where it was first seen
    what: str | None = None  # nonfinite: "loss" or "grad"
    until: int | None = None  # plateau: its last iteration
    warning: str | None = None  # the warning's text
    name: str | None = None  # the tensor a warning is about
    graph: int | None = None  # the graph and node where it shows
    node: str | None = None
    op: str | None = None  # nonfinite: the forward op (or backward step) that made it
    line: int | None = None
    source: str | None = None  # the text of that line
    param: str | None = None
    cause: str | None = None  # nonfinite loss: "op" or "param"
    located_at: int | None = None  # nonfinite loss: the iteration where the op was seen
    step: int | None = None  # nonfinite grad: the backward step
    loss: float | None = None
    start_loss: float | None = None  # diverging
    dropped: float | None = None  # plateau: how far the loss fell before it
    title: str = ""
    title_ko: str = ""
    explanation: str = ""
    explanation_ko: str = ""
    hint: str | None = None  # the fix, in English
    extra: dict[str, Any] = field(default_factory=dict)  # other keys, as a producer gave them
    # The key order of the dict it was made from, when not the fields' own (warnings put
    # `kind` after the words): kept so that the JSON stays the same.
    key_order: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        if self.key_order is None:
            keys = self._keys()
        else:
            keys = [*self.key_order, *(k for k in self._keys() if k not in self.key_order
                                       and k not in _PITFALL_ALWAYS)]
        return {k: self.extra[k] if k in self.extra else getattr(self, k) for k in keys}

    def _keys(self) -> list[str]:
        keys = [k for k in _PITFALL_FIELDS if k in _PITFALL_ALWAYS or getattr(self, k) is not None]
        return keys + list(self.extra)

    @classmethod
    def from_dict(cls, d: dict) -> "Pitfall":
        known = {k: v for k, v in d.items() if k in _PITFALL_FIELDS}
        known.setdefault("kind", "")
        p = cls(**known, extra={k: v for k, v in d.items() if k not in _PITFALL_FIELDS})
        if list(d) != p._keys():
            p.key_order = tuple(d)
        return p


_PITFALL_FIELDS = tuple(f.name for f in fields(Pitfall) if f.name not in ("extra", "key_order"))
_PITFALL_ALWAYS = frozenset(("kind", "iteration", "title", "title_ko", "explanation", "explanation_ko"))


class _Pitfalls(_Later):
    """Recording.pitfalls: a _Later field whose dicts become Pitfalls when it is read.

    For now explain/errors.py appends plain dicts (warnings, dead gradients) after
    capture has made the list; this is the one place they are converted.
    """

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        items = _Later.__get__(self, obj, owner)
        if obj is not None:
            for i, p in enumerate(items):
                if type(p) is dict:
                    items[i] = Pitfall.from_dict(p)
        return items
