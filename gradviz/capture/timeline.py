"""Training over time: every backward() starts an iteration, and the timeline logs it.

What each iteration keeps, cheap enough for all of 20000: the loss, and per
parameter the norms of its value, of its .grad and of the update applied after
the backward (the numbers themselves for one-element parameters). Every
`every` iterations (doubling so that at most `max_snapshots` stay) and at the
first, the last and every iteration with a graph, a snapshot: values, grads and
updates under the usual size rule, how the update was made, the numbers of a
manual update's first element, and what the optimizer did (optimizers.py).

How updates are caught, whichever way the code makes them: at each backward we
copy the value of every parameter of that graph; at the next backward (or when
the recording ends) the update is the new value minus that copy. The new value
is the same tensor when the code changed it in place (optimizer.step(),
`w -= lr * w.grad`, `w.data -= ...`), or the tensor the user's variable names
now when the code rebinds it (`r = r - lr * r.grad; r.requires_grad_(True)`).

Memory is bounded whatever the iteration count. Each iteration costs about
1 KB per parameter by the time it is a recording (columns here, an Iteration
entry and its JSON after), so the timeline keeps at most TIMELINE_CELLS
(parameter, iteration) points in all, and at most MAX_POINTS iterations: past
that, every other iteration is dropped (the stride doubles, as for snapshots),
always keeping the first, the last, and every iteration with a snapshot, a
graph or an event; an Iteration keeps its true index. Snapshots likewise hold at
most SNAPSHOT_CELLS parameter entries in all (MAX_SNAPSHOTS iterations at most).
So one parameter costs at most about MAX_POINTS KB (20 MB), and many parameters
together about TIMELINE_CELLS KB (64 MB) plus their snapshots.

The result is plain data (recording.Iteration, made in iterations.py), numbers
only: the words that go with an update are the explain layer's
(explain/updates.py). A parameter and the name that finds it again are in
followed.py; a hand-written update's learning rate in learning_rate.py.
"""
from __future__ import annotations

import bisect
import math
from types import FrameType
from typing import Any, Sequence

import numpy as np
import torch

from gradviz.capture.followed import Param, lookup, namespaces as _namespaces, path_of, resolve
from gradviz.capture.iterations import entry, to_iterations
from gradviz.capture.learning_rate import known_numbers
from gradviz.capture.tensor_numbers import all_finite, distance, norm, numbers_of
from gradviz.capture.values import Deferred
from gradviz.recording import Iteration, OptimizerStep

MAX_SNAPSHOTS = 256  # parameter snapshots kept in one recording, at most (plus graphs, first, last)
SNAPSHOT_CELLS = 16384  # snapshot entries (parameters x snapshot iterations) in all, at most
MAX_POINTS = 20000  # iterations kept in the timeline, at most (lesson 10 runs 20000)
MIN_POINTS = 64  # iterations kept however many parameters there are
TIMELINE_CELLS = 65536  # (parameter, iteration) points in all, at most

Site = tuple  # (file, line) of a backward() call


class Timeline:
    """The iteration log of one recording. Holds live tensors only while recording."""

    def __init__(self, max_snapshots: int = MAX_SNAPSHOTS, total: int | None = None) -> None:
        self.max_snapshots = max(4, int(max_snapshots))
        self.every = 1  # a snapshot every `every` iterations (a power of 2)
        while total and total / self.every > self.max_snapshots - 8:
            self.every *= 2
        self.k = 0
        self.stride = 1  # iterations kept in the timeline: multiples of this, and the keepers
        self.iter_ks: list[int] = []  # the iterations kept (their true numbers)
        self.losses: list[float | None] = []
        self.lines: list[int | None] = []
        self.iter_params: list[tuple[Param, ...]] = []  # per iteration (shared tuples)
        self.snaps: dict[int, dict[str, dict]] = {}
        self.keep: set[int] = {1}  # iterations whose snapshot is never thinned out
        self.graph_of: dict[int, int] = {}  # iteration -> graph index
        self.optim: dict[int, list[OptimizerStep]] = {}  # iteration -> its optimizer steps
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
        self.stale = False  # the latest backward reached none of the followed parameters
        self._cap = (-1, MAX_POINTS)  # (parameters, iterations kept at most) for _points_cap

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
                obj = lookup(p.path, ns)
                if obj is not t and isinstance(obj, torch.Tensor) and obj.shape == t.shape:
                    new = obj
                    self._rebind(p, new)
            rebound = new is not t
            moved = new
            if rebound and p.stepped_by is not None and not p.rebinds:
                moved, rebound = t, False  # stepped, then a new tensor under its name: a fresh start
            old, b = p.old, p.old_np  # (b: numpy's view of our copy `old`)
            if p.old_version is not None and old._version != p.old_version:
                a, u, rebound = None, None, False  # the old tensor was changed in place too
            else:
                a = numbers_of(moved)  # numpy's view of the new value, where it can
                if b is None and old is not None:
                    b = numbers_of(old)
                if a is not None and b is not None and a.dtype == b.dtype:
                    if a.shape != b.shape:
                        u = None
                    elif p.shape1 is not None:
                        u = (a - b).item()  # (as torch's float subtraction and .item() give it)
                    else:  # the norm of the difference, as distance() makes it
                        d = (a - b).reshape(-1)
                        u = math.sqrt(float(d.dot(d)))
                else:
                    a = None
                    if old is None or moved.shape != old.shape:
                        u = None
                    elif p.shape1 is not None:
                        u = (moved.detach() - old).item()
                    else:
                        u = distance(moved, old)
            p.us[-1] = u
            p.last_update_zero = not u
            p.rebinds = rebound
            p.stepped_by = None
            # iteration k begins
            if not (p.last_update_zero or p.flagged):
                self._check_accumulation(p, k)
            x = None  # the copy's numbers, when numpy holds them
            if rebound:
                old = p.old = new.detach()
                p.old_version = new._version
                p.old_np = None
            else:
                src = a if new is moved else None
                if src is None:
                    src = numbers_of(new)
                x = p.old_np
                if src is None:
                    old = p.old = new.detach().clone()
                    x = p.old_np = None
                elif x is not None and x.shape == src.shape and x.dtype == src.dtype:
                    np.copyto(x, src)  # into our previous copy: only this path holds it
                else:
                    x = p.old_np = src.copy()
                    old = p.old = torch.from_numpy(x)
                p.old_version = None
            p.grad = p.grad_copy = None
            p.ks.append(k)
            if x is None:
                p.vs.append(old.item() if p.shape1 is not None else norm(old))
            elif p.shape1 is not None:
                p.vs.append(x.item())
            else:  # (as norm() makes it)
                x = x.reshape(-1)
                p.vs.append(math.sqrt(float(x.dot(x))))
            p.gs.append(None)
            self._before(p)
            p.us.append(None)
        self.k, self.frame, self.roots = k, frame, roots
        self.iter_ks.append(k)
        self.losses.append(loss)
        self.lines.append(site[1])
        self.iter_params.append(cur)
        self._bound_points()

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
        numbers = known_numbers(frame, namespaces) if snap else ()
        for p in self.current:
            new = resolve(p, namespaces)
            how = p.stepped_by
            rebound = new is not p.tensor
            moved = new  # the tensor whose change since the backward is the update
            if rebound and p.stepped_by is not None and not p.rebinds:
                moved, rebound = p.tensor, False  # stepped, then a new tensor under its name: a fresh start
            if new is not p.tensor:
                how = how or "rebinding"
                self._rebind(p, new)
            upd = None
            old = p.old
            u = None
            if p.old_version is not None and old._version != p.old_version:
                rebound = False  # the old tensor was changed in place too: its old value is gone
            elif old is None or moved.shape != old.shape:
                pass
            elif p.shape1 is not None:
                upd = moved.detach() - old
                u = upd.item()
            else:  # the norm of the difference
                u = distance(moved, old)
                if entries is not None and u != 0:  # (no update: no update to show)
                    upd = moved.detach() - old
            if p.ks and p.ks[-1] == k and p.unused_at != k:
                p.us[-1] = u
            p.rebinds = rebound
            p.last_update_zero = not u
            if entries is not None:
                if how is None:
                    how = "in-place" if not p.last_update_zero else "none"
                parts = self._snapshot(p, upd, how, numbers)
                # the last iteration's entries are made when the timeline is read
                entries[p.name] = parts if final else entry(parts, self.deferred)
            p.stepped_by = None
        if snap and len(self.snaps) > self._snapshot_cap():
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
        self.iter_ks.append(k)
        self.losses.append(loss)
        self.lines.append(site[1] if site else None)
        self._snap_now = k in self.keep or k % self.every == 0
        if leaves is not None:
            self.site_params[site] = tuple(self._track(name, t) for name, t in leaves)
            self.stale = False
        params = self.site_params.get(site, self.current)
        resolved = resolved and params is self.current
        if namespaces is None and not resolved:
            namespaces = _namespaces(frame)
        for p in params:
            if resolved:
                new = p.tensor
            else:
                new = resolve(p, namespaces)
                if new is not p.tensor:
                    self._rebind(p, new)
            if not (p.last_update_zero or p.flagged):
                self._check_accumulation(p, k)
            self._start(p, k, new, copies)
        self.current = params
        self.iter_params.append(params)
        self._bound_points()

    def _start(self, p: Param, k: int, new: torch.Tensor, copies: dict[int, Any] | None) -> None:
        """Iteration k's entry for p: its value now, the copy its update is measured from."""
        c = None
        if p.rebinds:  # the code makes a new tensor each step: this one stays as it is
            old = p.old = new.detach()
            p.old_version = new._version
        else:
            c = copies.get(id(new)) if copies else None
            old = p.old = c if isinstance(c, torch.Tensor) else new.detach().clone()
            p.old_version = None
        p.old_np = None  # (`old` may be shared now: the fast path copies anew)
        p.grad = p.grad_copy = None
        p.shape1 = list(old.shape) if old.numel() == 1 else None  # numbers, not norms
        p.ks.append(k)
        if p.shape1 is not None:
            p.vs.append(old.item())
        elif old is c:  # our own copy: its norm can wait until the timeline is read
            p.vs.append(None)
            self.late.append((p.vs, len(p.vs) - 1, old, None, k))
        else:
            p.vs.append(norm(old))
        p.gs.append(None)
        self._before(p)
        p.us.append(None)

    def refollow(self, leaves: list[tuple[str, torch.Tensor]]) -> None:
        """The backward just run reached none of the followed parameters (a new model under
        the same names, lesson 17's next variant): follow the leaves it did reach, from this
        iteration on, so its numbers are the new model's rather than missing.

        A backward changes no parameter's value, so each value read now is the value it had
        when the iteration began; its gradient is the one this backward left in .grad.
        """
        params = tuple(self._track(name, t) for name, t in leaves)
        if not params or self.site is None:
            return
        self.site_params[self.site] = params
        if self.late:  # (their positions in the columns are about to move)
            self.settle_late()
        for p in set(self.current) | set(params):  # this iteration's entries of the old tensors go
            if p.ks and p.ks[-1] == self.k:
                del p.ks[-1], p.vs[-1], p.gs[-1], p.us[-1]
                p.unused_at = 0
        for p in params:
            self._start(p, self.k, p.tensor, None)
            p.grad_before, p.grad_before_version = None, -1  # what .grad holds now came from it
        self.current = params
        self.iter_params[-1] = params
        self.after_backward()

    def after_backward(self, copies: dict[int, Any] | None = None) -> None:
        """Read each parameter's gradient now, before the code zeroes or changes it.

        `copies`: id(parameter) -> a copy of its .grad made just now, to share.
        """
        touched_any = False
        for p in self.current:
            g = p.tensor.grad
            p.grad = g
            touched = g is not p.grad_before or (g is not None and g._version != p.grad_before_version)
            touched_any = touched_any or touched
            p.grad_before = None
            if p.suspect:
                p.suspect = False
                if touched:
                    p.flagged = True
                    self.events.append({"kind": "grad_accumulation", "iteration": self.k, "param": p.name})
            if g is None:
                continue
            p.grad_version = g._version
            c = copies.get(id(p.tensor)) if copies else None
            if c is not None and not isinstance(c, torch.Tensor):
                c = None
            if self._snap_now:  # the code zeroes or changes .grad next: a copy for the snapshot
                p.grad_copy = c if c is not None else g.detach().clone()
            if c is not None and p.shape1 is None:  # our own copy: its norm can wait
                self.late.append((p.gs, len(p.gs) - 1, c, p.name, self.k))
                continue
            x = p.gs[-1] = g.item() if p.shape1 is not None else norm(g)
            if not math.isfinite(x) and not all_finite(g):
                self._event_once("grad", self.k, p.name)

        # None of the followed parameters took part: the code moved on to other tensors (a
        # new model under the same names); the recorder finds the leaves again next time.
        self.stale = bool(self.current) and not touched_any
        if self.stale:  # this iteration's numbers belong to tensors it did not use: not shown
            for p in self.current:
                if p.ks and p.ks[-1] == self.k:
                    p.vs[-1] = p.gs[-1] = None
                    p.unused_at = self.k

    def _before(self, p: Param) -> None:
        g = p.tensor.grad
        p.grad_before = g
        p.grad_before_version = g._version if g is not None else -1

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
            p.tensor = p.old = p.grad = p.grad_before = None  # type: ignore[assignment]
            p.old_np = None
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
            p = self.params[name] = Param(name=name, tensor=t, path=path_of(name))
        elif p.tensor is not t:
            self._rebind(p, t)
        self.by_id[id(t)] = p
        return p

    def _rebind(self, p: Param, new: torch.Tensor) -> None:
        if self.by_id.get(id(p.tensor)) is p:
            del self.by_id[id(p.tensor)]
        p.tensor = new
        self.by_id[id(new)] = p

    def _check_accumulation(self, p: Param, k: int) -> None:
        """.grad still holds the last iteration's gradient although the parameter was updated.

        A suspicion only: the tensor may have left the code (a new model under the same
        name), so after_backward() reports it only when this backward adds to that .grad."""
        if p.flagged or k == 1:
            return
        g = p.tensor.grad
        if g is None or p.last_update_zero:
            return
        if bool(g.detach().any()):
            p.suspect = True  # decided in after_backward(): only if this backward adds to it

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
            x = values[i] = norm(t)
            if name is not None and x is not None and not math.isfinite(x) and not all_finite(t):
                self._event_once("grad", k, name)

    def _snapshot(self, p: Param, upd: torch.Tensor | None, how: str,
                  numbers: Sequence[tuple[str | None, float]] = ()) -> tuple:
        """What a snapshot entry is made of (our own tensors): iterations.entry() makes it, maybe later."""
        # the last iteration, when it was not planned as a snapshot, has no copy of its grad
        grad = p.grad_copy if p.grad_copy is not None else self.grad_of(p)
        t = p.old if p.old is not None else p.tensor
        old = p.old if p.old_version is None else p.old.clone()  # (a user's tensor: copied)
        return (t, old, grad, upd, how, numbers)

    def _snapshot_cap(self) -> int:
        return max(4, min(self.max_snapshots, SNAPSHOT_CELLS // max(1, len(self.params))))

    def _points_cap(self) -> int:
        n = len(self.params)
        if self._cap[0] != n:  # (asked at every iteration; the parameters rarely change)
            self._cap = (n, max(MIN_POINTS, min(MAX_POINTS, TIMELINE_CELLS // max(1, n))))
        return self._cap[1]

    def _keeper(self, k: int) -> bool:
        """Does iteration k stay in the timeline at the current stride?"""
        return (k % self.stride == 0 or k == 1 or k == self.k or k in self.keep or k in self.snaps
                or k in self.graph_of or any(e.get("iteration") == k for e in self.events))

    def _bound_points(self) -> None:
        """Drop the iteration before the latest when the stride passes over it; thin when full."""
        if self.stride > 1 and len(self.iter_ks) >= 2 and not self._keeper(self.iter_ks[-2]):
            self._drop_previous()
        while len(self.iter_ks) > self._points_cap() and self.stride < 1 << 40:
            self.stride *= 2
            self._rethin()

    def _drop_previous(self) -> None:
        """Forget the iteration before the latest: its loss, line and each parameter's numbers."""
        if self.late:  # (their positions in the columns are about to move)
            self.settle_late()
        k = self.iter_ks[-2]
        for p in self.iter_params[-2]:
            j = bisect.bisect_left(p.ks, k)
            if j < len(p.ks) and p.ks[j] == k:
                del p.ks[j], p.vs[j], p.gs[j], p.us[j]
        del self.iter_ks[-2], self.losses[-2], self.lines[-2], self.iter_params[-2]

    def _rethin(self) -> None:
        """Keep only the keepers at the current stride, in every column."""
        if self.late:
            self.settle_late()
        keep = [self._keeper(k) for k in self.iter_ks]
        self.iter_ks, self.losses, self.lines, self.iter_params = (
            [x for x, y in zip(col, keep) if y]
            for col in (self.iter_ks, self.losses, self.lines, self.iter_params))
        kept = set(self.iter_ks)
        for p in self.params.values():
            mask = [k in kept for k in p.ks]
            p.ks, p.vs, p.gs, p.us = ([x for x, y in zip(col, mask) if y]
                                      for col in (p.ks, p.vs, p.gs, p.us))

    def _thin(self) -> None:
        while len(self.snaps) > self._snapshot_cap():
            self.every *= 2
            for k in [k for k in self.snaps if k % self.every and k not in self.keep]:
                del self.snaps[k]
                self.optim.pop(k, None)
            if self.every > 1 << 40:
                break

    # the plain-data result -----------------------------------------------------------
    def to_iterations(self) -> list[Iteration]:
        """One Iteration per backward() (iterations.to_iterations)."""
        return to_iterations(self)
