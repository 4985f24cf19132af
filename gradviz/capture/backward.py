"""Watch backward() run: one Step per autograd node, in the engine's order.

One post-hook per node sees both the gradients that arrived (grad_outputs)
and the ones it sent to each input edge (grad_inputs). The hook only appends
the node's number and the two tuples to a list: the Steps are made after the
backward, so the engine waits on a list append, not on our bookkeeping.

Holding the gradients is safe: the engine never writes into a buffer someone
else holds (AccumulateGrad copies instead of stealing it, sums make new
tensors), so what is read afterwards is what the hook saw. Small gradients
become lists after the backward; big ones are summarised when first looked at
(values.Deferred). Custom autograd Functions run user Python in their
backward, which may change a gradient in place: theirs are read at once.

For AccumulateGrad the step also shows the leaf's .grad before and after
(where a fan-in sum, 3 + 1 = 4, becomes visible): the engine runs a leaf's
AccumulateGrad once per backward, so "before" is .grad when the backward
starts and "after" is .grad when it ends.
"""
from __future__ import annotations

from typing import Any

import torch

from gradviz.capture.graph import LiveGraph, no_torch_function, paused_gc
from gradviz.capture.values import SMALL, Deferred, plain, put
from gradviz.recording import GradInput, Step

HOLD_BYTES = 128 * 1024 * 1024  # gradients held for later summaries, at most, per graph

# Nodes whose backward is user Python (custom autograd Functions): their code may
# change a gradient in place, so what they receive is read at once.
_PYTHON_NODES = ("BackwardCFunction",)
_STRIDED = torch.strided


class _Read:
    """Gradients already turned into (value, summary) pairs inside the hook."""

    __slots__ = ("pairs",)

    def __init__(self, grads: tuple) -> None:
        self.pairs = [(*plain(g), list(g.shape) if g is not None else []) for g in grads]


class StepWatcher:
    """Hooks every node of a LiveGraph for the duration of one backward."""

    def __init__(self, live: LiveGraph, deferred: Deferred | None = None):
        self.live = live
        self.deferred = deferred if deferred is not None else live.deferred
        self.raw: list[tuple] = []  # (node number, grad_inputs, grad_outputs), in engine order
        self._handles: list[Any] = []
        self._before: dict[int, Any] = {}  # node number -> small .grad of the leaf, at the start
        self._after: dict[int, Any] = {}  # ... and at the end of the backward

    def __enter__(self) -> "StepWatcher":
        self._gc = paused_gc()  # the backward makes a few objects per node
        self._gc.__enter__()
        handles = self._handles
        append = self.raw.append
        with no_torch_function():
            for i, (fn, _) in enumerate(self.live.fns):
                op = type(fn).__name__
                if op == "AccumulateGrad":
                    self._before[i] = _small_value(fn.variable.grad)
                if op in _PYTHON_NODES:
                    def hook(grad_inputs, grad_outputs, i=i):
                        with no_torch_function():
                            append((i, _Read(grad_inputs), _Read(grad_outputs)))
                else:
                    def hook(grad_inputs, grad_outputs, i=i):
                        append((i, grad_inputs, grad_outputs))
                try:
                    handles.append(fn.register_hook(hook))
                except RuntimeError:  # a node that takes no hooks: it simply has no step
                    continue
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            for h in self._handles:
                h.remove()
            self._handles.clear()
            with no_torch_function():
                for i, (fn, _) in enumerate(self.live.fns):
                    if i in self._before:  # an AccumulateGrad: its leaf's .grad now
                        self._after[i] = _small_value(fn.variable.grad)
            # the Steps are made when the graph's steps are first read
            self.live.graph._pending = self
        finally:
            self._gc.__exit__(None, None, None)

    def resolve(self) -> None:
        """Make the Steps from what the hooks kept (once), and let go of the live objects."""
        graph = self.live.graph
        if graph._pending is not self:
            return
        with no_torch_function():
            graph.steps = self._steps()
        graph._pending = None
        self.raw = []
        self._before, self._after = {}, {}

    def _steps(self) -> list[Step]:
        live, deferred = self.live, self.deferred
        fns, slots_of, before = live.fns, live.slots, self._before
        steps = []
        for index, (i, grad_inputs, grad_outputs) in enumerate(self.raw):
            fn, nid = fns[i]
            op = type(fn).__name__
            step = Step(index=index, node=nid, op=op)
            values, summaries = step.grad_outputs, step.grad_output_summaries
            if type(grad_outputs) is _Read:
                for v, s, _ in grad_outputs.pairs:
                    values.append(v)
                    summaries.append(s)
            else:
                for k, g in enumerate(grad_outputs):
                    summaries.append(None)
                    values.append(self._value(g, step, summaries, k))
            slots = slots_of.get(id(fn), ())
            pairs = grad_inputs.pairs if type(grad_inputs) is _Read else None
            for k, g in enumerate(grad_inputs.pairs if pairs is not None else grad_inputs):
                gi = GradInput(edge_to=(slots[k] if k < len(slots) else None) or "")
                if pairs is not None:
                    gi.grad, gi.summary, gi.shape = g
                elif g is not None:
                    gi.shape = list(g.shape)
                    gi.grad = self._value(g, gi, gi, "_summary")
                step.grad_inputs.append(gi)
            if op == "AccumulateGrad":
                step.grad_before = before.get(i)
                step.grad_after = self._after.get(i)
            steps.append(step)
            if deferred.nbytes > HOLD_BYTES:
                deferred.resolve()
        return steps

    def _value(self, g: torch.Tensor | None, owner: Any, container: Any, key: Any) -> Any:
        """The elements of a small gradient now; a big one's summary later, into container[key]."""
        if g is None:
            return None
        if g.numel() <= SMALL or g.layout != _STRIDED:
            value, summary = plain(g)
            if summary is not None:
                put(container, key, summary)
            return value
        self.deferred.add(g, owner, container, key)
        return None


def _small_value(t: torch.Tensor | None) -> Any:
    """The elements of a small tensor, None for a big one (its .grad holds no summary here)."""
    if t is None or t.numel() > SMALL:
        return None
    return plain(t)[0]
