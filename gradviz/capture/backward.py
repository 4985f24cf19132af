"""Watch backward() run: one Step per autograd node, in the engine's order.

Pre-hooks see the gradients that arrive at a node, post-hooks the gradients it
sends to each input edge. For AccumulateGrad we read the leaf's .grad before
and after, which is where a fan-in sum (3 + 1 = 4) becomes visible.

The hooks stay cheap: a small gradient becomes a list at once, a big one is
kept as a (detached) reference and summarised after the backward, once per
tensor object. The same gradient usually leaves one node and arrives at the
next, so that halves the summaries. Holding a reference also keeps the engine
from summing into that tensor in place later (it only reuses buffers nobody
else holds), so what is summarised afterwards is what the hook saw. Held
memory is bounded: past HOLD_BYTES the pending tensors are summarised early.
"""
from __future__ import annotations

from typing import Any

import torch

from gradviz.capture.graph import LiveGraph, no_torch_function, paused_gc
from gradviz.capture.values import SMALL, plain, plain_many
from gradviz.recording import GradInput, Step

HOLD_BYTES = 128 * 1024 * 1024  # gradients held for the summary pass, at most

# Nodes whose backward is user Python (custom autograd Functions): their code may
# change a gradient in place, so what they receive is read at once.
_PYTHON_NODES = ("BackwardCFunction",)


class _Pending:
    """A big gradient waiting for the summary pass, and where its result goes."""

    __slots__ = ("tensor", "targets")

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor
        self.targets: list[tuple[Any, int]] = []  # (list or GradInput, index or -1)


class StepWatcher:
    """Hooks every node of a LiveGraph for the duration of one backward."""

    def __init__(self, live: LiveGraph):
        self.live = live
        self.steps: list[Step] = []
        self._open: dict[int, Step] = {}
        self._handles: list[Any] = []
        self._leaf_of: dict[int, torch.Tensor] = {}
        self._pending: dict[int, _Pending] = {}  # id(tensor) -> pending summary
        self._held = 0

    def __enter__(self) -> "StepWatcher":
        self._gc = paused_gc()  # the backward makes a Step and a few lists per node
        self._gc.__enter__()
        handles = self._handles
        with no_torch_function():
            for fn, nid in self.live.fns:
                if type(fn).__name__ == "AccumulateGrad":
                    self._leaf_of[id(fn)] = fn.variable
                try:
                    handles.append(fn.register_prehook(self._pre(fn, nid)))
                    handles.append(fn.register_hook(self._post(fn, nid)))
                except RuntimeError:  # a node that takes no hooks: it simply has no step
                    continue
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            for h in self._handles:
                h.remove()
            self._handles.clear()
            with no_torch_function():
                self.flush()
            self.live.graph.steps = self.steps
        finally:
            self._gc.__exit__(None, None, None)

    # converting gradients ----------------------------------------------------
    def _take(self, g: torch.Tensor | None, target: Any, slot: int) -> Any:
        """The value of `g` now when it is small; else None, filled in by flush()."""
        if g is None:
            return None
        if g.numel() <= SMALL or g.layout != torch.strided:
            value, summary = plain(g)
            if summary is not None:
                _put(target, slot, summary)
            return value
        p = self._pending.get(id(g))
        if p is None:
            p = self._pending[id(g)] = _Pending(g)  # this very object: its id stays unique
            self._held += g.numel() * g.element_size()
        p.targets.append((target, slot))
        if self._held > HOLD_BYTES:
            self.flush()
        return None

    def flush(self) -> None:
        """Summarise every held gradient once, and let go of them."""
        pending, self._pending, self._held = self._pending, {}, 0
        held = list(pending.values())
        for p, (_, summary) in zip(held, plain_many([p.tensor for p in held])):
            for target, slot in p.targets:
                _put(target, slot, summary)

    # hooks -------------------------------------------------------------------
    def _pre(self, fn: Any, nid: str):
        op = type(fn).__name__
        leaf = self._leaf_of.get(id(fn)) if op == "AccumulateGrad" else None
        eager = op in _PYTHON_NODES

        def hook(grad_outputs):
            with no_torch_function():
                return pre(grad_outputs)

        def pre(grad_outputs):
            step = Step(index=len(self.steps), node=nid, op=op)
            values, summaries = step.grad_outputs, step.grad_output_summaries
            for i, g in enumerate(grad_outputs):
                summaries.append(None)
                if eager:
                    v, summaries[i] = plain(g)
                    values.append(v)
                else:
                    values.append(self._take(g, summaries, i))
            if leaf is not None:
                step.grad_before = _small_value(leaf.grad)
            self.steps.append(step)
            self._open[id(fn)] = step
            return None

        return hook

    def _post(self, fn: Any, nid: str):
        slots = self.live.slots.get(id(fn), [])
        leaf = self._leaf_of.get(id(fn)) if type(fn).__name__ == "AccumulateGrad" else None

        def hook(grad_inputs, grad_outputs):
            with no_torch_function():
                return post(grad_inputs)

        def post(grad_inputs):
            step = self._open.pop(id(fn), None)
            if step is None:
                return None
            for i, g in enumerate(grad_inputs):
                target = slots[i] if i < len(slots) else None
                gi = GradInput(edge_to=target or "", shape=list(g.shape) if g is not None else [])
                gi.grad = self._take(g, gi, -1)
                step.grad_inputs.append(gi)
            if leaf is not None:
                step.grad_after = _small_value(leaf.grad)
            return None

        return hook


def _put(target: Any, slot: int, summary: dict | None) -> None:
    if slot < 0:
        target.summary = summary
    else:
        target[slot] = summary


def _small_value(t: torch.Tensor | None) -> Any:
    """The elements of a small tensor, None for a big one (its .grad holds no summary here)."""
    if t is None or t.numel() > SMALL:
        return None
    return plain(t)[0]
