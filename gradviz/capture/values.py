"""Turn live tensors into plain numbers, under one size rule everywhere."""
from __future__ import annotations

import math
import threading
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch

from gradviz.recording.plain import paused_gc

SMALL = 64  # tensors with at most this many elements are kept whole
PREVIEW = 6  # elements shown in a summary
GRAD_PREVIEW = SMALL  # a big gradient's summary keeps its first 64: explanations quote any of them

# dtypes numpy reads straight from a CPU tensor's memory, without a copy
_NUMPY_OK = {torch.float32, torch.float64, torch.float16, torch.int8, torch.int16, torch.int32,
             torch.int64, torch.uint8, torch.bool}


def plain(t: torch.Tensor | None) -> tuple[Any, dict | None]:
    """(value, summary): every element when small, else None and a summary."""
    if t is None:
        return None, None
    if t.requires_grad:  # (a detached alias costs a tensor: only where it changes anything)
        t = t.detach()
    if t.layout != torch.strided:
        return _plain_sparse(t)
    if t.is_complex():
        t = t.abs()
    if t.numel() <= SMALL:
        return (t if t.is_cpu else t.cpu()).tolist(), None
    return None, summarize(t)


def sparse_counts(t: torch.Tensor) -> tuple[str, int, int] | None:
    """(layout, elements stored, elements in all) of a sparse tensor; None for a dense one."""
    if t.layout == torch.strided:
        return None
    values = _coalesced(t).values()
    return str(t.layout).replace("torch.", ""), int(values.numel()), int(t.numel())


def _coalesced(t: torch.Tensor) -> torch.Tensor:
    """A sparse COO copy with repeated indices summed (an embedding row hit twice)."""
    coo = t if t.layout == torch.sparse_coo else t.to_sparse_coo()
    return coo.coalesce()


def _plain_sparse(t: torch.Tensor) -> tuple[Any, dict | None]:
    """A sparse tensor's elements densified (small), or a summary from its stored values.

    The zeros it does not store count in min, max and mean, as they do in its dense form.
    """
    total = t.numel()
    if total <= SMALL:
        dense = t.to_dense().cpu()
        return (dense.abs() if dense.is_complex() else dense).tolist(), None
    values = _coalesced(t).values().detach().reshape(-1).cpu()
    if values.is_complex():
        values = values.abs()
    values = values.double()
    stored = values.numel()
    lo = float(values.min()) if stored else 0.0
    hi = float(values.max()) if stored else 0.0
    if stored < total:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    first = (t.to_dense().reshape(-1)[:PREVIEW].cpu().double().tolist()
             if total <= 1_000_000 else [])
    return None, {"min": lo, "max": hi, "mean": float(values.sum()) / total,
                  "norm": float(values.norm()), "first": first, "numel": total, "stored": stored}


def summarize(t: torch.Tensor) -> dict:
    """min, max, mean, norm, the first few elements and the count.

    On the CPU the four statistics come from numpy on the tensor's own memory:
    no copy, no intra-op thread pool (whose start-up dominates for the
    medium-sized tensors of a real model), one Python call each.
    """
    t = t.detach()
    if t.device.type == "cpu" and t.dtype in _NUMPY_OK and not t.is_conj() and not t.is_neg():
        return _summarize_numpy(t)
    return _summarize_torch(t)


def _summarize_numpy(t: torch.Tensor) -> dict:
    a = t.numpy().reshape(-1)
    rtype = a.dtype.type if a.dtype.kind == "f" else np.float64  # torch's result dtype
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    elif rtype is np.float16:
        a = a.astype(np.float32)
    lo, hi = float(_MIN(a)), float(_MAX(a))
    # sum / n in the tensor's dtype, as numpy's mean and torch's; a big tensor is summed by
    # einsum (SIMD, a third of the pairwise sum's time, float32 rounding noise apart)
    total = np.einsum("i->", a) if a.size >= ALONE else _ADD(a)
    mean = float(rtype(total / a.size))
    scale = max(abs(lo), abs(hi))
    if 1e-15 < scale < 1e15 and a.size >= ALONE:  # big: BLAS dot, no temporary array
        norm = math.sqrt(float(np.dot(a, a)))
    elif 1e-15 < scale < 1e15:  # the usual case, as _norms does it for a safe row
        norm = math.sqrt(float(_ADD(a * a)))
    else:
        norm = float(_norms(a.reshape(1, -1), np.array([scale]))[0])
    return {
        "min": lo,
        "max": hi,
        "mean": mean,
        "norm": float(rtype(norm)),
        "first": a[:PREVIEW].tolist(),
        "numel": int(a.size),
    }


_MIN, _MAX, _ADD = np.minimum.reduce, np.maximum.reduce, np.add.reduce


def _norms(a: np.ndarray, scale: np.ndarray, scratch: bool = False) -> np.ndarray:
    """The 2-norm of each row of `a` (float64), the same way for one tensor or a batch.

    scale = max |x| per row. Where squares could overflow or underflow (the tiny
    gradients deep in a 200-layer net), rows are divided by their scale first.
    scratch: `a` is ours to overwrite (its squares go there: no second array).
    """
    safe = (scale > 1e-15) & (scale < 1e15)
    if safe.all():
        return np.sqrt(_ADD(np.multiply(a, a, out=a if scratch else None), axis=1)
                       .astype(np.float64))
    out = np.zeros(a.shape[0])
    if safe.any():
        b = a[safe]  # (a copy: the squares go into it)
        out[safe] = np.sqrt(_ADD(np.multiply(b, b, out=b), axis=1).astype(np.float64))
    scaled = ~safe & np.isfinite(scale) & (scale > 0)
    if scaled.any():
        s = scale[scaled].astype(a.dtype)[:, None]
        b = a[scaled] / s
        out[scaled] = np.sqrt(_ADD(np.multiply(b, b, out=b), axis=1).astype(np.float64)) * s[:, 0]
    for k in np.flatnonzero(~np.isfinite(scale)):  # inf or nan inside
        out[k] = float(np.linalg.norm(a[k]))
    return out


def _summarize_torch(t: torch.Tensor) -> dict:
    f = t.reshape(-1)
    if not f.is_floating_point():
        f = f.double()
    stats = torch.stack([f.min(), f.max(), f.mean(), f.norm()]).double().cpu().tolist()
    return {
        "min": stats[0],
        "max": stats[1],
        "mean": stats[2],
        "norm": stats[3],
        "first": f[:PREVIEW].cpu().tolist(),
        "numel": f.numel(),
    }


def plain_many(tensors: list[torch.Tensor | None], heads: dict[int, list[float]] | None = None,
               want: set[int] | None = None) -> list[tuple[Any, dict | None]]:
    """plain() of each tensor, the same results, with big CPU tensors summarised in batches.

    Tensors of one shape and dtype are stacked into one array (in chunks of at
    most BATCH_BYTES) and reduced row by row: numpy's pairwise sum runs along
    each row exactly as it runs over one flat tensor, so the numbers are those
    of summarize(), at a fraction of the per-call cost.
    heads: where given, heads[i] = the first GRAD_PREVIEW elements of each batched
    tensor i in `want` (all when None), read from the batch (what _head(tensors[i]) gives).
    """
    out: list[Any] = [None] * len(tensors)
    groups: dict[tuple, list[int]] = {}
    flat: list[Any] = [None] * len(tensors)
    for i, t in enumerate(tensors):
        if t is None:
            out[i] = (None, None)
            continue
        if t.requires_grad:  # a detached alias costs a tensor; numpy needs it only then
            t = t.detach()
        n = t.numel()
        if (n <= SMALL or n >= ALONE or not t.is_cpu or t.dtype not in _BATCH_OK
                or t.layout != torch.strided or t.is_conj() or t.is_neg()):
            out[i] = plain(t)
            continue
        flat[i] = t
        groups.setdefault((t.shape, t.dtype), []).append(i)
    for idx in groups.values():
        if len(idx) == 1:
            out[idx[0]] = (None, _summarize_numpy(flat[idx[0]]))
            continue
        per = max(1, BATCH_BYTES // (flat[idx[0]].numel() * flat[idx[0]].element_size()))
        for start in range(0, len(idx), per):
            chunk = idx[start:start + per]
            long = [heads is not None and (want is None or i in want) for i in chunk]
            for i, (summary, head) in zip(chunk, _summarize_rows([flat[i] for i in chunk], long)):
                out[i] = (None, summary)
                if head is not None:
                    heads[i] = head
    return out


BATCH_BYTES = 1024 * 1024  # a batch that stays in the cache through its five passes (16 MB: 1.7x slower)
ALONE = 8192  # elements: a tensor this big is summarised alone (measured: batching only pays below)
_BATCH_OK = {torch.float32, torch.float64}


def _summarize_rows(ts: list[torch.Tensor], long: list[bool]) -> list[tuple[dict, list | None]]:
    """(summary, its first GRAD_PREVIEW elements where `long` says so, else None) of each
    tensor of one batch (one shape and dtype)."""
    # one copy in C (torch.stack: a third of np.stack's time), rows in the tensors' element order
    a = torch.stack(ts).numpy().reshape(len(ts), -1)
    rtype = a.dtype.type
    n = a.shape[1]
    lo = _MIN(a, axis=1)
    hi = _MAX(a, axis=1)
    mean = (_ADD(a, axis=1) / rtype(n)).astype(rtype)
    firsts = a[:, :PREVIEW].tolist()
    heads = [a[k, :GRAD_PREVIEW].tolist() if want else None for k, want in enumerate(long)]
    norm = _norms(a, np.maximum(np.abs(lo), np.abs(hi)), scratch=True).astype(rtype)  # (a is a copy)
    return [({"min": l, "max": h, "mean": m, "norm": nm, "first": first, "numel": n}, head)
            for l, h, m, nm, first, head in zip(lo.tolist(), hi.tolist(), mean.tolist(),
                                                norm.tolist(), firsts, heads)]


def scalar(x: Any) -> Any:
    """A saved attribute as plain data, or None when it is not simple."""
    if isinstance(x, bool | int | float | str) or x is None:
        return x
    if isinstance(x, torch.Tensor):
        return x.item() if x.numel() == 1 else None
    if isinstance(x, torch.dtype | torch.device | torch.Size):
        return str(x) if not isinstance(x, torch.Size) else list(x)
    if isinstance(x, tuple | list) and len(x) <= 8:
        items = [scalar(v) for v in x]
        if all(v is not None and not isinstance(v, list | dict) for v in items):
            return items
    return None


# Reading values is not user code: it must not pass through a TorchFunctionMode (ours or theirs).
no_torch_function = getattr(torch._C, "DisableTorchFunction", None) or (lambda: nullcontext())


class Deferred:
    """Summaries of big tensors, computed when one of them is first read.

    Capture hands over each big tensor with the field its summary goes to
    (`add`) instead of summarising it on the spot: the user's code pays for a
    reference, not for min/max/mean/norm. The first read of any such field
    (see recording._Later), pickling or writing JSON resolves the whole batch
    with plain_many, each tensor once, and the tensors are let go.

    Only tensors nobody changes later are handed over: gradients the backward
    hooks received (the engine does not write into a buffer someone else holds)
    and op outputs; should an op output be changed in place after all, its node
    says so. Leaf values and .grad, which optimizers change, are copied first.
    """

    __slots__ = ("items", "nbytes", "_lock")

    def __init__(self) -> None:
        self.items: list[tuple] = []  # (tensor, version, owner, container, key, value_key)
        self.nbytes = 0
        self._lock = threading.Lock()

    def take(self, t: torch.Tensor, owner: Any, container: Any, key: Any) -> Any:
        """t's elements now when it is small (a sparse one's summary into container[key] too);
        a big one's summary into container[key] later (add), and None."""
        if t.numel() <= SMALL or t.layout != torch.strided:
            value, summary = plain(t)
            if summary is not None:
                put(container, key, summary)
            return value
        self.add(t, owner, container, key)
        return None

    def add(self, t: torch.Tensor, owner: Any, container: Any, key: Any,
            value_key: Any = None, version: int | None = None) -> None:
        """container[key] (or its attribute key) = the summary of t, later; owner is marked.

        owner None: whoever hands out `container` resolves the batch before it is read.
        value_key: also container[value_key] = its elements, for a tensor that may be small.
        version: t._version when it was recorded, if that was before now (a change since
        then is noted on the owner).
        """
        self.items.append((t, t._version if version is None else version, owner, container, key,
                           value_key))
        self.nbytes += t.numel() * t.element_size()
        if owner is not None:
            owner._pending = self

    def resolve(self) -> None:
        with self._lock:
            items, self.items, self.nbytes = self.items, [], 0
            if items:  # a dict or two per item, none of them garbage: no collector passes
                with paused_gc():
                    _fill(items)


def _fill(items: list[tuple]) -> None:
    """Summarise each tensor of `items` once (see Deferred) and put the results in place."""
    where: dict[int, int] = {}
    tensors: list[torch.Tensor] = []
    ks: list[int] = []  # each item's tensor, as an index into tensors
    grads: set[int] = set()  # tensors some gradient's summary is owed for (not a node's)
    for t, _, owner, *_ in items:
        k = where.get(id(t))
        if k is None:
            k = where[id(t)] = len(tensors)
            tensors.append(t)
        ks.append(k)
        if not hasattr(owner, "note"):
            grads.add(k)
    with no_torch_function():
        heads: dict[int, list[float]] = {}  # k -> a gradient's first GRAD_PREVIEW
        results = plain_many(tensors, heads, grads)  # (batched ones read with the batch)
        for k in grads:
            if k not in heads:
                heads[k] = _head(tensors[k])
    for (t, version, owner, container, key, value_key), k in zip(items, ks):
        value, summary = results[k]
        noted = hasattr(owner, "note")
        if summary is not None and not noted:
            summary = dict(summary, first=heads[k])
        put(container, key, summary)
        if value_key is not None:
            put(container, value_key, value)
        if owner is None:
            continue
        owner._pending = None
        if noted and t._version != version:
            owner.note = (f"changed in place after it was recorded (version {version} -> "
                          f"{t._version}): these numbers show it after that change")


def _head(t: torch.Tensor) -> list[float]:
    """The first GRAD_PREVIEW elements as Python floats: through numpy's view of a CPU
    float tensor (the same numbers, without torch's four calls per tensor), else torch."""
    if t.requires_grad:
        t = t.detach()
    if t.dtype in _BATCH_OK and t.device.type == "cpu" and t.layout == torch.strided \
            and not t.is_conj() and not t.is_neg():
        return t.numpy().reshape(-1)[:GRAD_PREVIEW].tolist()
    return t.reshape(-1)[:GRAD_PREVIEW].double().cpu().tolist()


def put(container: Any, key: Any, value: Any) -> None:
    """container[key] = value for a list or dict, else the attribute `key`."""
    if type(container) is list or type(container) is dict:
        container[key] = value
    else:
        setattr(container, key, value)


_DTYPES: dict[Any, str] = {}
_DEVICES: dict[Any, str] = {}


def dtype_name(dtype: Any) -> str:
    """float32 for torch.float32 (cached: str() of a dtype costs a microsecond)."""
    s = _DTYPES.get(dtype)
    if s is None:
        s = _DTYPES[dtype] = str(dtype).replace("torch.", "")
    return s


def device_name(device: Any) -> str:
    s = _DEVICES.get(device)
    if s is None:
        s = _DEVICES[device] = str(device)
    return s
