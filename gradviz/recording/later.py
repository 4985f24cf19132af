"""Fields whose values capture fills in later, all of a batch at once.

The summaries of big tensors (min, max, mean, norm) are computed when first
read, all of a graph's at once (see `Deferred` in capture/values.py). Until
then the objects hold the tensors; reading any such field, pickling or copying
fills them in and lets the tensors go.
"""
from __future__ import annotations

from typing import Any


class _Later:
    """A dataclass field whose value may be filled in later, by a pending batch.

    Reading it first asks the object's batch (`_pending`, set by capture) to fill
    in every field it owes, in one go; without a batch it is a plain attribute.
    `factory`: what the field holds when set to None (its default), e.g. list.
    """

    def __init__(self, factory: Any = None):
        self.factory = factory

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return None  # the dataclass default
        batch = obj._pending
        if batch is not None:
            batch.resolve()
        return getattr(obj, self.slot)

    def __set__(self, obj: Any, value: Any) -> None:
        if value is None and self.factory is not None:
            value = self.factory()
        setattr(obj, self.slot, value)  # (not obj.__dict__: that would make a dict per object)


class _Settled:
    """getstate/copy for classes with _Later fields: pending values are filled in first."""

    _pending: Any = None  # an object whose resolve() fills in what is still owed

    def _settle(self) -> None:
        batch = self._pending
        if batch is not None:
            batch.resolve()

    def __getstate__(self) -> dict:
        self._settle()
        d = dict(self.__dict__)
        d.pop("_pending", None)
        return d
