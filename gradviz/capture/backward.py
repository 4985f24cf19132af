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

    def __init__(self, live: LiveGraph):
        self.live = live
        self.raw: list[tuple] = []  # (node number, grad_inputs, grad_outputs), in engine order
        self.done = False  # the backward is over
        self._handles: list[Any] = []
        self._before: dict[int, Any] = {}  # node number -> small .grad of the leaf, at the start
        self._after: dict[int, Any] = {}  # ... and at the end of the backward
        self._deferred: Deferred | None = None

    def __enter__(self) -> "StepWatcher":
        self._gc = paused_gc()  # the backward makes a few objects per node
        self._gc.__enter__()
        handles = self._handles
        append = self.raw.append
        with no_torch_function():
            for i, fn in enumerate(self.live.hook_fns):
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
                fns = self.live.hook_fns
                for i in self._before:  # each AccumulateGrad: its leaf's .grad now
                    self._after[i] = _small_value(fns[i].variable.grad)
            self._fns = list(fns)
            self.done = True
            self.live.watcher = self  # the Steps are made when the graph is first read
        finally:
            self._gc.__exit__(None, None, None)

    def steps(self, live: LiveGraph) -> list[Step]:
        """The Steps, from what the hooks kept (once the graph is built: node ids, edges)."""
        self._deferred = live.deferred
        try:
            return self._steps(live)
        finally:
            self.raw, self._fns, self._before, self._after = [], [], {}, {}

    def _steps(self, live: LiveGraph) -> list[Step]:
        key_of, slots_of = live.key_of, live.slots
        fns, before, after = self._fns, self._before, self._after
        steps = []
        for i, grad_inputs, grad_outputs in self.raw:
            fn = fns[i]
            nid = key_of.get(id(fn))
            if nid is None:  # beyond the graph's node limit
                continue
            op = type(fn).__name__
            step = Step(index=len(steps), node=nid, op=op)
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
                step.grad_after = after.get(i)
            steps.append(step)
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
        self._deferred.add(g, owner, container, key)
        return None


def _small_value(t: torch.Tensor | None) -> Any:
    """The elements of a small tensor, None for a big one (its .grad holds no summary here)."""
    if t is None or t.numel() > SMALL:
        return None
    return plain(t)[0]
