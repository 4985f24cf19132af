"""Training over time: every backward() starts an iteration.

What each iteration keeps, cheap enough for all of 20000: the loss, and per
parameter the norms of its value, of its .grad and of the update applied after
the backward (the numbers themselves for one-element parameters). Every
`every` iterations (doubling so that at most `max_snapshots` stay) and at the
first, the last and every iteration with a graph, a snapshot: values, grads and
updates under the usual size rule, how the update was made, and what the
optimizer did, with its formula in numbers for one element.

How updates are caught, whichever way the code makes them: at each backward we
copy the value of every parameter of that graph; at the next backward (or when
the recording ends) the update is the new value minus that copy. The new value
is the same tensor when the code changed it in place (optimizer.step(),
`w -= lr * w.grad`, `w.data -= ...`), or the tensor the user's variable names
now when the code rebinds it (`r = r - lr * r.grad; r.requires_grad_(True)`).

BackwardTrap catches backward() without a TorchFunctionMode, so the forward op
log can stay off in the iterations that keep no graph (it costs microseconds
per op); OptimizerWatch uses torch's global optimizer step hooks. Both are
removed when the recording ends.
"""
from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Callable, Iterable

import torch

from gradviz.user_code import is_internal
from gradviz.capture.values import Deferred, device_name, dtype_name, no_torch_function, plain

MAX_SNAPSHOTS = 256  # parameter snapshots kept in one recording, at most (plus graphs, first, last)
MAX_DESCRIBED = 8  # parameters per optimizer whose update is written out in numbers
HOLD_BYTES = 64 * 1024 * 1024  # snapshot copies waiting for their summaries, at most

Site = tuple  # (file, line) of a backward() call


def parse_at(spec: Any) -> tuple[frozenset[int], bool]:
    """`"1,100,last"` or `[1, 100, "last"]` -> ({1, 100}, True). Iterations count from 1."""
    if spec is None:
        return frozenset(), False
    items: Iterable[Any] = spec.split(",") if isinstance(spec, str) else (
        [spec] if isinstance(spec, int) else spec)
    numbers, last = set(), False
    for item in items:
        text = str(item).strip().lower()
        if not text:
            continue
        if text in ("last", "end", "-1"):
            last = True
        elif text == "first":
            numbers.add(1)
        elif text.isdigit() and int(text) >= 1:
            numbers.add(int(text))
        else:
            raise ValueError(f"--at takes iteration numbers from 1 and 'last', not {item!r}")
    return frozenset(numbers), last


# --- catching backward() ------------------------------------------------------------

class BackwardTrap:
    """Wraps torch.Tensor.backward and torch.autograd.backward while active.

    `handler(run, roots, retain, frame)` is called instead of each outermost
    backward; `run()` does the real backward. The originals come back on exit.
    """

    def __init__(self, handler: Callable[..., Any]):
        self.handler = handler
        self._originals: tuple | None = None
        self._busy = False
        self.partial = False  # the backward being caught was given inputs=: only some leaves

    def __enter__(self) -> "BackwardTrap":
        tensor_backward, autograd_backward = torch.Tensor.backward, torch.autograd.backward
        self._originals = (tensor_backward, autograd_backward)
        trap = self

        def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
            def run():
                return tensor_backward(self, gradient, retain_graph, create_graph, inputs=inputs)

            if trap._busy:
                return run()
            trap.partial = inputs is not None
            return trap._catch(run, [self], bool(retain_graph or create_graph))

        def autograd_backward_(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
                               grad_variables=None, inputs=None):
            def run():
                return autograd_backward(tensors, grad_tensors, retain_graph, create_graph,
                                         grad_variables, inputs=inputs)

            if trap._busy:
                return run()
            roots = [tensors] if isinstance(tensors, torch.Tensor) else [
                t for t in (tensors or ()) if isinstance(t, torch.Tensor)]
            trap.partial = inputs is not None
            return trap._catch(run, roots, bool(retain_graph or create_graph))

        for new, old in ((backward, tensor_backward), (autograd_backward_, autograd_backward)):
            new.__doc__, new.__name__, new.__qualname__ = old.__doc__, old.__name__, old.__qualname__
            new.__wrapped__ = old
            new.__gradviz__ = True
        torch.Tensor.backward = backward
        torch.autograd.backward = autograd_backward_
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._originals is not None:
            torch.Tensor.backward, torch.autograd.backward = self._originals
            self._originals = None

    def _catch(self, run: Callable[[], Any], roots: list, retain: bool) -> Any:
        frame = sys._getframe(2)
        while frame is not None and is_internal(frame.f_code.co_filename):
            frame = frame.f_back
        self._busy = True
        try:
            return self.handler(run, roots, retain, frame)
        finally:
            self._busy = False


def is_patched() -> bool:
    """True while some recorder has torch's backward functions wrapped."""
    return bool(getattr(torch.Tensor.backward, "__gradviz__", False)
                or getattr(torch.autograd.backward, "__gradviz__", False))


# --- parameters and the timeline ---------------------------------------------------

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
    last_update_zero: bool = True
    rebinds: bool = False  # updated by rebinding last time: `old` can be the tensor itself
    old_version: int | None = None  # its _version when `old` is the tensor, not a copy
    # The timeline, one entry per iteration the parameter took part in: plain floats, so a
    # long run adds no objects for the garbage collector to walk (that costs more than the
    # numbers themselves). For a one-element parameter the numbers, else norms.
    shape1: list | None = None  # the shape, when it has one element
    ks: list = field(default_factory=list)
    vs: list = field(default_factory=list)
    gs: list = field(default_factory=list)
    us: list = field(default_factory=list)


def _path_of(name: str) -> tuple | None:
    m = _PATH.match(name)
    if not m:
        return None
    return (m.group(1), int(m.group(2))) if m.group(2) is not None else (m.group(1),)


def _lookup(path: tuple, namespaces: list[dict]) -> Any:
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


def _namespaces(frame: FrameType | None) -> list[dict]:
    if frame is None:
        return []
    try:
        loc = frame.f_locals
    except Exception:
        loc = {}
    return [loc] if loc is frame.f_globals else [loc, frame.f_globals]


def _first(t: torch.Tensor | None) -> float | None:
    """The first element as a Python number (the only one, for one-element tensors)."""
    if t is None:
        return None
    n = t.numel()
    if n == 0:
        return None
    v = t if n == 1 else t.detach().reshape(-1)[0]
    return float(v.real.item() if v.is_complex() else v.item())


def _num(x: float | None) -> str:
    if x is None:
        return "?"
    if x != x or x in (math.inf, -math.inf):
        return str(x)
    s = f"{x:.6g}"
    return f"({s})" if s.startswith("-") else s


_NUMPY_NORM = (torch.float32, torch.float64)


def _norm(t: torch.Tensor | None) -> float | None:
    """The 2-norm as a Python float (numpy on the CPU: a third of a torch call's cost)."""
    if t is None:
        return None
    if t.is_cpu and t.dtype in _NUMPY_NORM:
        try:
            a = t.numpy().reshape(-1)  # no copy; raises for views numpy cannot read
        except (RuntimeError, TypeError, ValueError):
            pass
        else:
            return math.sqrt(float(a.dot(a)))
    t = t.detach()
    if not (t.is_floating_point() or t.is_complex()):
        t = t.double()
    return torch.linalg.vector_norm(t).item()


def _dist(new: torch.Tensor, old: torch.Tensor) -> float:
    """The 2-norm of new - old (numpy on the CPU: half a torch call's cost)."""
    if new.is_cpu and old.is_cpu and new.dtype in _NUMPY_NORM and old.dtype == new.dtype:
        try:
            d = new.detach().numpy() - old.numpy()
        except (RuntimeError, TypeError, ValueError):
            pass
        else:
            d = d.reshape(-1)
            return math.sqrt(float(d.dot(d)))
    return torch.dist(new.detach(), old).item()


def _all_finite(t: torch.Tensor | None) -> bool:
    return t is None or not (t.is_floating_point() or t.is_complex()) or bool(
        torch.isfinite(t.detach()).all())


class Timeline:
    """The iteration log of one recording. Holds live tensors only while recording."""

    def __init__(self, max_snapshots: int = MAX_SNAPSHOTS, total: int | None = None):
        self.max_snapshots = max(4, int(max_snapshots))
        self.every = 1  # a snapshot every `every` iterations (a power of 2)
        while total and total / self.every > self.max_snapshots - 8:
            self.every *= 2
        self.k = 0
        self.losses: list[float | None] = []
        self.lines: list[int | None] = []
        self.iter_params: list[tuple[Param, ...]] = []  # per iteration (shared tuples)
        self.snaps: dict[int, dict[str, dict]] = {}
        self.keep: set[int] = {1}  # iterations whose snapshot is never thinned out
        self.graph_of: dict[int, int] = {}  # iteration -> graph index
        self.optim: dict[int, list[dict]] = {}
        self.events: list[dict] = []
        self.params: dict[str, Param] = {}
        self.by_id: dict[int, Param] = {}  # id(live tensor) -> Param
        self.site_params: dict[Site, tuple[Param, ...]] = {}
        self.current: tuple[Param, ...] = ()
        self.frame: FrameType | None = None  # of the latest backward: where rebound names live
        self.site: Site | None = None  # the latest backward() line
        self.roots: list[torch.Tensor] = []  # of the latest backward
        self._snap_now = False
        self.deferred = Deferred()  # summaries of the snapshots' big tensors, made when read
        # norms of our own copies, made when the timeline is read: (list, index, tensor,
        # the parameter's name for a gradient's NaN check, iteration)
        self.late: list[tuple] = []

    # the iteration boundary, in order: close(), begin(), backward, after_backward() -----
    @staticmethod
    def namespaces(frame: FrameType | None) -> list[dict]:
        """Where the user's names live at a backward() (locals, then globals)."""
        return _namespaces(frame)

    def step(self, k: int, roots: list[torch.Tensor], site: Site, frame: FrameType | None,
             loss: float | None) -> None:
        """close() then begin(), for an iteration that keeps no graph (the fast path)."""
        cur = self.current
        if (cur and site == self.site and not self._snap_now and k % self.every
                and k not in self.keep and self.site_params.get(site, cur) is cur):
            self._next_in_loop(k, roots, site, frame, loss)
            return
        namespaces = _namespaces(frame)
        same = site == self.site and bool(self.current)
        self.close(frame, site, namespaces)
        self.begin(k, roots, site, frame, None, loss, namespaces, resolved=same)

    def _next_in_loop(self, k: int, roots: list[torch.Tensor], site: Site,
                      frame: FrameType | None, loss: float | None) -> None:
        """close() and begin() in one pass: one more turn of the same loop, no snapshot.

        What a 20000-iteration run does 20000 times, so it is written out flat; it
        must agree with close() and begin() (the tests run both paths).
        """
        cur, ns = self.current, None
        for p in cur:
            t = new = p.tensor
            if p.path is not None:  # rebound by the code? (r = r - lr * r.grad)
                if ns is None:
                    ns = _namespaces(frame)
                obj = _lookup(p.path, ns)
                if obj is not t and isinstance(obj, torch.Tensor) and obj.shape == t.shape:
                    new = obj
                    self._rebind(p, new)
            rebound = new is not t
            old = p.old
            if p.old_version is not None and old._version != p.old_version:
                u, rebound = None, False  # the old tensor was changed in place too
            elif old is None or new.shape != old.shape:
                u = None
            elif p.shape1 is not None:
                u = (new.detach() - old).item()
            else:  # the norm of the difference
                u = _dist(new, old)
            p.us[-1] = u
            p.last_update_zero = not u
            p.rebinds = rebound
            p.stepped_by = None
            # iteration k begins
            if not (p.last_update_zero or p.flagged):
                self._check_accumulation(p, k)
            if rebound:
                old = p.old = new.detach()
                p.old_version = new._version
            else:
                old = p.old = new.detach().clone()
                p.old_version = None
            p.grad = p.grad_copy = None
            p.ks.append(k)
            p.vs.append(old.item() if p.shape1 is not None else _norm(old))
            p.gs.append(None)
            p.us.append(None)
        self.k, self.frame, self.roots = k, frame, roots
        self.losses.append(loss)
        self.lines.append(site[1])
        self.iter_params.append(cur)

    def close(self, frame: FrameType | None, site: Site | None = None,
              namespaces: list[dict] | None = None, final: bool = False) -> None:
        """Finish iteration k: read each parameter's new value and the update.

        A rebound name is followed only from the same backward() line (the same
        loop) or at the end: a new `w = torch.tensor(10.0)` before a different
        loop is a fresh start, not an update of the old w.
        """
        if self.k == 0 or not self.current:
            return
        k = self.k
        if not (final or site == self.site):
            namespaces = []
        elif namespaces is None:
            namespaces = _namespaces(frame)
        snap = final or self._snap_now
        entries = self.snaps.setdefault(k, {}) if snap else None
        for p in self.current:
            new = self._resolve(p, namespaces)
            how = p.stepped_by
            rebound = new is not p.tensor
            if rebound:
                how = how or "rebinding"
                self._rebind(p, new)
            upd = None
            old = p.old
            u = None
            if p.old_version is not None and old._version != p.old_version:
                rebound = False  # the old tensor was changed in place too: its old value is gone
            elif old is None or new.shape != old.shape:
                pass
            elif p.shape1 is not None:
                upd = new.detach() - old
                u = upd.item()
            else:  # the norm of the difference
                u = _dist(new, old)
                if entries is not None and u != 0:  # (no update: no update to show)
                    upd = new.detach() - old
            if p.ks and p.ks[-1] == k:
                p.us[-1] = u
            p.rebinds = rebound
            p.last_update_zero = not u
            if entries is not None:
                if how is None:
                    how = "in-place" if not p.last_update_zero else "none"
                parts = self._snapshot(p, upd, how)
                # the last iteration's entries are made when the timeline is read
                entries[p.name] = parts if final else self._entry(parts)
            p.stepped_by = None
        if snap and len(self.snaps) > self.max_snapshots:
            self._thin()

    def begin(self, k: int, roots: list[torch.Tensor], site: Site, frame: FrameType | None,
              leaves: list[tuple[str, torch.Tensor]] | None, loss: float | None,
              namespaces: list[dict] | None = None, resolved: bool = False,
              copies: dict[int, Any] | None = None) -> None:
        """Start iteration k at a backward(): remember parameters and their values.

        `resolved`: close() has just followed the same parameters' names.
        `copies`: id(tensor) -> a copy of it made just now (by the graph's capture), to share.
        """
        self.k = k
        self.frame = frame
        self.site = site
        self.roots = roots
        self.losses.append(loss)
        self.lines.append(site[1] if site else None)
        self._snap_now = k in self.keep or k % self.every == 0
        if leaves is not None:
            self.site_params[site] = tuple(self._track(name, t) for name, t in leaves)
        params = self.site_params.get(site, self.current)
        resolved = resolved and params is self.current
        if namespaces is None and not resolved:
            namespaces = _namespaces(frame)
        for p in params:
            if resolved:
                new = p.tensor
            else:
                new = self._resolve(p, namespaces)
                if new is not p.tensor:
                    self._rebind(p, new)
            if not (p.last_update_zero or p.flagged):
                self._check_accumulation(p, k)
            c = None
            if p.rebinds:  # the code makes a new tensor each step: this one stays as it is
                old = p.old = new.detach()
                p.old_version = new._version
            else:
                c = copies.get(id(new)) if copies else None
                old = p.old = c if isinstance(c, torch.Tensor) else new.detach().clone()
                p.old_version = None
            p.grad = p.grad_copy = None
            p.shape1 = list(old.shape) if old.numel() == 1 else None  # numbers, not norms
            p.ks.append(k)
            if p.shape1 is not None:
                p.vs.append(old.item())
            elif old is c:  # our own copy: its norm can wait until the timeline is read
                p.vs.append(None)
                self.late.append((p.vs, len(p.vs) - 1, old, None, k))
            else:
                p.vs.append(_norm(old))
            p.gs.append(None)
            p.us.append(None)
        self.current = params
        self.iter_params.append(params)

    def after_backward(self, copies: dict[int, Any] | None = None) -> None:
        """Read each parameter's gradient now, before the code zeroes or changes it.

        `copies`: id(parameter) -> a copy of its .grad made just now, to share.
        """
        for p in self.current:
            g = p.tensor.grad
            p.grad = g
            if g is None:
                continue
            p.grad_version = g._version
            c = copies.get(id(p.tensor)) if copies else None
            if not isinstance(c, torch.Tensor):
                c = None
            if self._snap_now:  # the code zeroes or changes .grad next: a copy for the snapshot
                p.grad_copy = c if c is not None else g.detach().clone()
            if c is not None and p.shape1 is None:  # our own copy: its norm can wait
                self.late.append((p.gs, len(p.gs) - 1, c, p.name, self.k))
                continue
            x = p.gs[-1] = g.item() if p.shape1 is not None else _norm(g)
            if not math.isfinite(x) and not _all_finite(g):
                self._event_once("grad", self.k, p.name)

    def grad_of(self, p: Param) -> torch.Tensor | None:
        """The gradient of the latest iteration, if nothing has changed it since."""
        g = p.grad
        return g if g is not None and g._version == p.grad_version else None

    def finish(self, frame: FrameType | None) -> None:
        if self.k:
            self.keep.add(self.k)
        self.close(frame or self.frame, final=True)
        # let go of every live tensor
        for p in self.params.values():
            p.tensor = p.old = p.grad = None  # type: ignore[assignment]
        self.params.clear()
        self.by_id.clear()
        self.site_params.clear()
        self.current = ()
        self.frame = None
        self.roots = []

    # what the optimizer hooks and the recorder ask --------------------------------
    def detail(self) -> bool:
        """Does the current iteration keep a snapshot (so optimizer details too)?"""
        return self._snap_now

    def name_of(self, t: torch.Tensor) -> str | None:
        p = self.by_id.get(id(t))
        return p.name if p is not None and p.tensor is t else None

    def mark_stepped(self, t: torch.Tensor, optimizer: str) -> None:
        p = self.by_id.get(id(t))
        if p is not None and p.tensor is t:
            p.stepped_by = optimizer

    # internals ------------------------------------------------------------------------
    def _track(self, name: str, t: torch.Tensor) -> Param:
        p = self.params.get(name)
        if p is None:
            p = self.params[name] = Param(name=name, tensor=t, path=_path_of(name))
        elif p.tensor is not t:
            self._rebind(p, t)
        self.by_id[id(t)] = p
        return p

    def _rebind(self, p: Param, new: torch.Tensor) -> None:
        if self.by_id.get(id(p.tensor)) is p:
            del self.by_id[id(p.tensor)]
        p.tensor = new
        self.by_id[id(new)] = p

    @staticmethod
    def _resolve(p: Param, namespaces: list[dict]) -> torch.Tensor:
        """The tensor the user's name for p refers to now (p.tensor unless rebound)."""
        if p.path is None or not namespaces:
            return p.tensor
        obj = _lookup(p.path, namespaces)
        if isinstance(obj, torch.Tensor) and obj is not p.tensor and obj.shape == p.tensor.shape:
            return obj
        return p.tensor

    def _check_accumulation(self, p: Param, k: int) -> None:
        """.grad still holds the last iteration's gradient although the parameter was updated."""
        if p.flagged or k == 1:
            return
        g = p.tensor.grad
        if g is None or p.last_update_zero:
            return
        if bool(g.detach().any()):
            p.flagged = True
            self.events.append({"kind": "grad_accumulation", "iteration": k, "param": p.name})

    def _event_once(self, what: str, k: int, name: str) -> None:
        """The first iteration where a NaN or inf showed (norms made late can find an earlier one)."""
        for e in self.events:
            if e["kind"] == "nonfinite" and e.get("what") == what:
                if k < e["iteration"]:
                    e.update(iteration=k, param=name)
                return
        self.events.append({"kind": "nonfinite", "what": what, "iteration": k, "param": name})

    def settle_late(self) -> None:
        """The norms left for later (of our own copies), and the NaN checks that go with them."""
        late, self.late = self.late, []
        for values, i, t, name, k in late:
            x = values[i] = _norm(t)
            if name is not None and x is not None and not math.isfinite(x) and not _all_finite(t):
                self._event_once("grad", k, name)

    def _snapshot(self, p: Param, upd: torch.Tensor | None, how: str) -> tuple:
        """What a snapshot entry is made of (our own tensors): _entry() makes it, maybe later."""
        # the last iteration, when it was not planned as a snapshot, has no copy of its grad
        grad = p.grad_copy if p.grad_copy is not None else self.grad_of(p)
        t = p.old if p.old is not None else p.tensor
        old = p.old if p.old_version is None else p.old.clone()  # (a user's tensor: copied)
        return (p.name, t, old, grad, upd, how)

    def _entry(self, parts: tuple) -> dict:
        name, t, old, grad, upd, how = parts
        entry = {"shape": list(t.shape), "dtype": dtype_name(t.dtype),
                 "device": device_name(t.device), "how": how}
        for key, x in (("value", old), ("grad", grad), ("update", upd)):
            self._put(entry, key, x)
        if how in ("in-place", "rebinding") and grad is not None and upd is not None:
            entry["formula"] = _manual_formula(name, _first(old), _first(grad), _first(upd),
                                               t.numel() > 1)
        return entry

    def _put(self, entry: dict, key: str, t: torch.Tensor | None) -> None:
        """entry[key] and entry[key_summary]: a big tensor's summary is made when first read.

        Only our own copies go to the batch (nothing else changes them); held memory
        is bounded: past HOLD_BYTES the batch is summarised at once.
        """
        entry[key] = entry[key + "_summary"] = None
        if t is None:
            return
        if t.layout != torch.strided:
            entry[key], entry[key + "_summary"] = plain(t)
            return
        self.deferred.add(t, None, entry, key + "_summary", value_key=key)
        if self.deferred.nbytes > HOLD_BYTES:
            self.deferred.resolve()

    def _thin(self) -> None:
        while len(self.snaps) > self.max_snapshots:
            self.every *= 2
            for k in [k for k in self.snaps if k % self.every and k not in self.keep]:
                del self.snaps[k]
                self.optim.pop(k, None)
            if self.every > 1 << 40:
                break

    # the plain-data result -----------------------------------------------------------
    def to_dicts(self) -> list[dict]:
        """One dict per iteration, kept small: 20000 of them go through JSON.

        Always: index, loss, params {name: {value, grad, update}}; for a
        one-element parameter those are its numbers, else None plus "norm"
        {value, grad, update}. Snapshot iterations add "snapshot": true and
        "line", and per parameter the values under the size rule (value or
        value_summary, ...), shape, dtype, device, how the update was made and
        its formula; "graph" and "optimizer" appear where there is one.
        ("norm" is {"value", "grad", "update"}: the three norms, to 7 significant digits.)
        """
        out = []
        cursor: dict[int, int] = {}  # id(Param) -> position in its columns
        for i, params in enumerate(self.iter_params):
            k = i + 1
            snap = self.snaps.get(k)
            entries = {}
            for p in params:
                j = cursor.get(id(p), 0)
                cursor[id(p)] = j + 1
                v, g, u = p.vs[j], p.gs[j], p.us[j]
                e = snap.get(p.name) if snap else None
                if type(e) is tuple:
                    e = snap[p.name] = self._entry(e)
                if p.shape1 is not None:  # one element: its numbers in every iteration
                    e = dict(e) if e is not None else {}
                    shape = p.shape1
                    e["value"], e["grad"], e["update"] = _shaped(v, shape), _shaped(g, shape), _shaped(u, shape)
                    e["norm"] = {"value": _abs(v), "grad": _abs(g), "update": _abs(u)}
                elif e is not None:  # (the entry itself: its summaries may be filled in later)
                    e["norm"] = {"value": _sig(v), "grad": _sig(g), "update": _sig(u)}
                else:
                    e = {"value": None, "grad": None, "update": None,
                         "norm": {"value": _sig(v), "grad": _sig(g), "update": _sig(u)}}
                entries[p.name] = e
            it = {"index": k, "loss": self.losses[i], "params": entries}
            if snap is not None:
                it["snapshot"] = True
                it["line"] = self.lines[i]
            if k in self.graph_of:
                it["graph"] = self.graph_of[k]
            if k in self.optim:
                it["optimizer"] = self.optim[k]
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


def _manual_formula(name: str, w: float | None, g: float | None, d: float | None,
                    element: bool) -> dict:
    """`w ← w + Δ`, and the learning rate it implies when Δ is a multiple of -grad."""
    sym = f"{name}[0]" if element else name
    after = None if w is None or d is None else w + d
    text = f"{sym} ← {sym} + Δ = {_num(w)} + {_num(d)} = {_num(after)}"
    en = f"The code changed {name} itself (no optimizer); the first element moved by {_num(d)}."
    ko = f"옵티마이저 없이 코드가 {name}을(를) 직접 바꿨습니다. 첫 원소가 {_num(d)}만큼 움직였습니다."
    if g and d is not None and d != 0:
        lr = -d / g
        if lr > 0:
            text = (f"{sym} ← {sym} − lr·grad = {_num(w)} − {_num(lr)}·{_num(g)} = {_num(after)}")
            en += f" That is a gradient-descent step with lr = {lr:.6g}."
            ko += f" 학습률 lr = {lr:.6g}인 경사 하강 한 걸음입니다."
    return {"text": text, "explanation": en, "explanation_ko": ko}


# --- optimizers -----------------------------------------------------------------------

_STATE_NAMES = ("momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "square_avg",
                "sum", "acc_delta", "grad_avg", "ax", "eta", "mu", "prev", "step_size")
_HYPER = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "betas", "eps",
          "amsgrad", "alpha", "centered", "lr_decay", "rho", "decoupled_weight_decay")


class OptimizerWatch:
    """Global optimizer step hooks: which parameters each step() moved, and how.

    Every step marks its parameters (so an update is credited to `Adam.step()`);
    on iterations that keep a snapshot it also reads the state (momentum buffer,
    Adam's moments) before and after, and writes the update out in numbers.
    """

    def __init__(self, timeline: Timeline):
        self.timeline = timeline
        self._handles: list[Any] = []
        self._before: dict[int, list[dict]] = {}

    def __enter__(self) -> "OptimizerWatch":
        from torch.optim.optimizer import (register_optimizer_step_post_hook,
                                           register_optimizer_step_pre_hook)

        self._handles = [register_optimizer_step_pre_hook(self._pre),
                         register_optimizer_step_post_hook(self._post)]
        return self

    def __exit__(self, *exc: Any) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        self._before.clear()

    def _pre(self, opt: Any, args: Any, kwargs: Any) -> None:
        try:
            kind = type(opt).__name__
            for group in opt.param_groups:
                for p in group["params"]:
                    self.timeline.mark_stepped(p, f"{kind}.step()")
            if self.timeline.detail():
                with torch.no_grad(), no_torch_function():
                    self._before[id(opt)] = self._read(opt)
        except Exception:  # observing must never break the user's step
            self._before.pop(id(opt), None)

    def _post(self, opt: Any, args: Any, kwargs: Any) -> None:
        before = self._before.pop(id(opt), None)
        if before is None:
            return
        try:
            with torch.no_grad(), no_torch_function():
                after = self._read(opt, full_state=True)
            info = describe_step(type(opt).__name__, before, after)
            self.timeline.optim.setdefault(self.timeline.k, []).append(info)
        except Exception as e:
            self.timeline.optim.setdefault(self.timeline.k, []).append(
                {"type": type(opt).__name__, "error": f"{type(e).__name__}: {e}"})

    def _read(self, opt: Any, full_state: bool = False) -> list[dict]:
        out = []
        tl = self.timeline
        n = 0
        for gi, group in enumerate(opt.param_groups):
            hyper = {}
            for key in _HYPER:
                if key in group:
                    v = group[key]
                    if isinstance(v, torch.Tensor):
                        v = v.item() if v.numel() == 1 else None
                    if isinstance(v, tuple):
                        v = [float(x.item()) if isinstance(x, torch.Tensor) else x for x in v]
                    hyper[key] = v
            for i, p in enumerate(group["params"]):
                if p.grad is None or n >= MAX_DESCRIBED:
                    continue
                n += 1
                st = opt.state.get(p, {})
                state = {}
                for key, v in st.items():
                    if isinstance(v, torch.Tensor) and v.shape == p.shape and key != "step":
                        state[key] = _first(v)
                step = st.get("step")
                entry = {"name": tl.name_of(p) or f"param_groups[{gi}][{i}]", "group": gi,
                         "hyper": hyper, "w": _first(p), "g": _first(p.grad), "state": state,
                         "step": float(step.item() if isinstance(step, torch.Tensor) else step)
                         if step is not None else None, "element": p.numel() > 1}
                if full_state:
                    entry["state_full"] = {}
                    for key, v in st.items():
                        if isinstance(v, torch.Tensor) and key != "step":
                            val, summ = plain(v)
                            entry["state_full"][key] = {"value": val, "summary": summ,
                                                        "shape": list(v.shape)}
                out.append(entry)
        return out


def describe_step(kind: str, before: list[dict], after: list[dict]) -> dict:
    """The optimizer's update in numbers, for the first element of each parameter."""
    params = []
    prior = {(b["group"], b["name"]): b for b in before}
    for a in after:
        b = prior.get((a["group"], a["name"]))
        if b is None:
            continue
        formula = _optimizer_formula(kind, b, a)
        params.append({"name": a["name"], "lr": a["hyper"].get("lr"), "hyper": a["hyper"],
                       "step": a["step"], "state": a.get("state_full", {}), **formula})
    return {"type": kind, "params": params}


def _optimizer_formula(kind: str, b: dict, a: dict) -> dict:
    h = a["hyper"]
    name = a["name"] + ("[0]" if a["element"] else "")
    w0, w1, g = b["w"], a["w"], b["g"]
    lr = h.get("lr")
    lines: list[str] = []
    if g is not None and h.get("maximize"):
        g = -g
        lines.append(f"g ← −grad = {_num(g)}  (maximize)")
    wd = h.get("weight_decay") or 0.0
    decoupled = kind == "AdamW" or h.get("decoupled_weight_decay")
    if kind == "SGD":
        if wd and g is not None:
            g2 = g + wd * w0
            lines.append(f"g ← grad + wd·{name} = {_num(g)} + {_num(wd)}·{_num(w0)} = {_num(g2)}")
            g = g2
        mom = h.get("momentum") or 0.0
        step_sym = "grad" if not lines else "g"
        if mom:
            buf0, buf1 = b["state"].get("momentum_buffer"), a["state"].get("momentum_buffer")
            damp = h.get("dampening") or 0.0
            if buf0 is None:
                lines.append(f"buf ← g = {_num(buf1)}  (first step)")
            else:
                lines.append(f"buf ← μ·buf + (1−dampening)·g = {_num(mom)}·{_num(buf0)} + "
                             f"{_num(1 - damp)}·{_num(g)} = {_num(buf1)}")
            if h.get("nesterov") and buf1 is not None and g is not None:
                g = g + mom * buf1
                lines.append(f"g ← g + μ·buf = {_num(g)}  (Nesterov)")
                step_sym = "g"
            else:
                g, step_sym = buf1, "buf"
        lines.append(f"{name} ← {name} − lr·{step_sym} = {_num(w0)} − {_num(lr)}·{_num(g)} = {_num(w1)}")
        en = "SGD moves each weight against its gradient, scaled by the learning rate lr."
        ko = "SGD는 각 가중치를 기울기의 반대 방향으로, 학습률 lr만큼 곱해 움직입니다."
        if mom:
            en += " With momentum the step follows buf, a running sum of past gradients."
            ko += " 모멘텀을 쓰면 지난 기울기들을 누적한 buf를 따라 움직입니다."
    elif kind in ("Adam", "AdamW") and g is not None:
        b1, b2 = (h.get("betas") or [0.9, 0.999])[:2]
        eps, t = h.get("eps", 1e-8), a["step"] or 1.0
        w = w0
        if wd and decoupled:
            w = w0 * (1 - lr * wd)
            lines.append(f"{name} ← {name} − lr·wd·{name} = {_num(w0)} − {_num(lr)}·{_num(wd)}·{_num(w0)} = {_num(w)}")
        elif wd:
            g2 = g + wd * w0
            lines.append(f"g ← grad + wd·{name} = {_num(g)} + {_num(wd)}·{_num(w0)} = {_num(g2)}")
            g = g2
        m0, m1 = b["state"].get("exp_avg", 0.0) or 0.0, a["state"].get("exp_avg")
        v0, v1 = b["state"].get("exp_avg_sq", 0.0) or 0.0, a["state"].get("exp_avg_sq")
        lines.append(f"m ← β1·m + (1−β1)·g = {_num(b1)}·{_num(m0)} + {_num(1 - b1)}·{_num(g)} = {_num(m1)}")
        lines.append(f"v ← β2·v + (1−β2)·g² = {_num(b2)}·{_num(v0)} + {_num(1 - b2)}·{_num(g)}² = {_num(v1)}")
        if m1 is not None and v1 is not None:
            mh, vh = m1 / (1 - b1 ** t), v1 / (1 - b2 ** t)
            if h.get("amsgrad") and a["state"].get("max_exp_avg_sq") is not None:
                vh = a["state"]["max_exp_avg_sq"] / (1 - b2 ** t)
                lines.append("v̂ uses max(v) over all steps (AMSGrad)")
            lines.append(f"m̂ = m/(1−β1^t) = {_num(mh)},  v̂ = v/(1−β2^t) = {_num(vh)}  (t = {t:g})")
            lines.append(f"{name} ← {name} − lr·m̂/(√v̂ + ε) = {_num(w)} − {_num(lr)}·{_num(mh)}/"
                         f"({_num(math.sqrt(max(vh, 0.0)))} + {_num(eps)}) = {_num(w1)}")
        en = ("Adam keeps running averages of the gradient (m) and of its square (v), corrects "
              "their start-up bias (m̂, v̂), and steps by lr·m̂/√v̂: every weight gets its own step size.")
        ko = ("Adam은 기울기의 이동 평균(m)과 기울기 제곱의 이동 평균(v)을 유지하고, 초기 편향을 보정한 "
              "뒤(m̂, v̂) lr·m̂/√v̂만큼 움직입니다. 가중치마다 보폭이 따로 정해집니다.")
        if decoupled and wd:
            en += " AdamW first shrinks the weight by lr·wd (decoupled weight decay)."
            ko += " AdamW는 먼저 가중치를 lr·wd만큼 줄입니다(분리된 가중치 감쇠)."
    else:
        d = None if w0 is None or w1 is None else w1 - w0
        lines.append(f"{name} ← {name} + Δ = {_num(w0)} + {_num(d)} = {_num(w1)}")
        states = ", ".join(f"{k} = {_num(v)}" for k, v in a["state"].items())
        if states:
            lines.append(f"state after the step: {states}")
        en = f"{kind} moved this weight by Δ, computed from its gradient and its state."
        ko = f"{kind}이(가) 기울기와 내부 상태로 계산한 Δ만큼 이 가중치를 움직였습니다."
    return {"formula": "; ".join(lines), "explanation": en, "explanation_ko": ko,
            "before": {"value": w0, "grad": b["g"], **{k: v for k, v in b["state"].items()}},
            "after": {"value": w1, **{k: v for k, v in a["state"].items()}}}
