"""The timeline as plain data: one recording.Iteration per backward(), and snapshot entries.

Kept apart from the timeline's bookkeeping (timeline.py) because this is the
one place that decides what the JSON of 20000 iterations holds: numbers only,
norms to 7 significant digits, big tensors as summaries made when first read.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import torch

from gradviz.capture.learning_rate import learning_rate
from gradviz.capture.tensor_numbers import first_element
from gradviz.capture.values import Deferred, device_name, dtype_name, plain
from gradviz.recording import Iteration, ManualUpdate, ParamUpdate

if TYPE_CHECKING:
    from gradviz.capture.timeline import Timeline

HOLD_BYTES = 64 * 1024 * 1024  # snapshot copies waiting for their summaries, at most


def entry(parts: tuple, deferred: Deferred) -> ParamUpdate:
    """A snapshot entry from what Timeline._snapshot kept (our own tensors)."""
    t, old, grad, upd, how, numbers = parts
    out = ParamUpdate(shape=list(t.shape), dtype=dtype_name(t.dtype),
                      device=device_name(t.device), how=how)
    for key, x in (("value", old), ("grad", grad), ("update", upd)):
        _put(deferred, out, key, x)
    if how in ("in-place", "rebinding") and grad is not None and upd is not None:
        lr = learning_rate(grad, upd, numbers)
        out.manual = ManualUpdate(first_element(old), first_element(grad), first_element(upd),
                                  first_of_many=t.numel() > 1,
                                  lr=lr[1] if lr else None, lr_name=lr[0] if lr else None)
    return out


def _put(deferred: Deferred, entry: ParamUpdate, key: str, t: torch.Tensor | None) -> None:
    """entry.key and entry.key_summary: a big tensor's summary is made when first read.

    Only our own copies go to the batch (nothing else changes them); held memory
    is bounded: past HOLD_BYTES the batch is summarised at once.
    """
    if t is None:
        return
    if t.layout != torch.strided:
        value, summary = plain(t)
        setattr(entry, key, value)
        setattr(entry, key + "_summary", summary)
        return
    deferred.add(t, None, entry, key + "_summary", value_key=key)
    if deferred.nbytes > HOLD_BYTES:
        deferred.resolve()


def to_iterations(tl: Timeline) -> list[Iteration]:
    """One Iteration per backward(), kept small: 20000 of them go through JSON.

    Always: index, loss, params {name: ParamUpdate(value, grad, update, norm)};
    for a one-element parameter value, grad and update are its numbers, else
    None; norm is {"value", "grad", "update"}: the three norms, to 7
    significant digits. Snapshot iterations have snapshot=True and line, and
    per parameter the values under the size rule (value or value_summary,
    ...), shape, dtype, device, how the update was made and the numbers of a
    manual update; graph and optimizer are set where there is one.
    """
    out = []
    cursor: dict[int, int] = {}  # id(Param) -> position in its columns
    for i, params in enumerate(tl.iter_params):
        k = tl.iter_ks[i]
        snap = tl.snaps.get(k)
        entries = {}
        for p in params:
            j = cursor.get(id(p), 0)
            cursor[id(p)] = j + 1
            v, g, u = p.vs[j], p.gs[j], p.us[j]
            e = snap.get(p.name) if snap else None
            if type(e) is tuple:
                e = snap[p.name] = entry(e, tl.deferred)
            if p.shape1 is not None:  # one element: its numbers in every iteration
                shape = p.shape1
                numbers = {"value": _shaped(v, shape), "grad": _shaped(g, shape),
                           "update": _shaped(u, shape),
                           "norm": {"value": _abs(v), "grad": _abs(g), "update": _abs(u)}}
                e = replace(e, **numbers) if e is not None else ParamUpdate(**numbers)
            elif e is not None:  # (the entry itself: its summaries may be filled in later)
                e.norm = {"value": _sig(v), "grad": _sig(g), "update": _sig(u)}
            else:
                e = ParamUpdate(norm={"value": _sig(v), "grad": _sig(g), "update": _sig(u)})
            entries[p.name] = e
        it = Iteration(index=k, loss=tl.losses[i], params=entries,
                       graph=tl.graph_of.get(k), optimizer=tl.optim.get(k))
        if snap is not None:
            it.snapshot = True
            it.line = tl.lines[i]
        out.append(it)
    return out

def _abs(x: float | None) -> float | None:
    return x if x is None else abs(x)


def _sig(x: float | None) -> float | None:
    """A norm to 7 significant digits: all a float32 sum of squares holds, and half the JSON."""
    return x if x is None else float(f"{x:.7g}")


def _shaped(x: float | None, shape: list[int]) -> Any:
    """A one-element value in the nesting its shape gives ([] -> 3.0, [1] -> [3.0])."""
    if x is None:
        return None
    for _ in shape:
        x = [x]
    return x
