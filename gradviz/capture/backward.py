"""Watch backward() run: one Step per autograd node, in the engine's order.

Pre-hooks see the gradients that arrive at a node, post-hooks the gradients it
sends to each input edge. For AccumulateGrad we read the leaf's .grad before
and after, which is where a fan-in sum (3 + 1 = 4) becomes visible.
"""
from __future__ import annotations

from typing import Any

import torch

from gradviz.capture.graph import LiveGraph
from gradviz.capture.values import plain
from gradviz.recording import GradInput, Step


class StepWatcher:
    """Hooks every node of a LiveGraph for the duration of one backward."""

    def __init__(self, live: LiveGraph):
        self.live = live
        self.steps: list[Step] = []
        self._open: dict[int, Step] = {}
        self._handles: list[Any] = []
        self._leaf_of: dict[int, torch.Tensor] = {}

    def __enter__(self) -> "StepWatcher":
        for fn, nid in self.live.fns:
            try:
                self._handles.append(fn.register_prehook(self._pre(fn, nid)))
                self._handles.append(fn.register_hook(self._post(fn, nid)))
            except RuntimeError:  # a node that takes no hooks: it simply has no step
                continue
            if type(fn).__name__ == "AccumulateGrad":
                self._leaf_of[id(fn)] = fn.variable
        return self

    def __exit__(self, *exc: Any) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self.live.graph.steps = self.steps

    def _pre(self, fn: Any, nid: str):
        def hook(grad_outputs):
            step = Step(index=len(self.steps), node=nid, op=type(fn).__name__)
            for g in grad_outputs:
                v, s = plain(g)
                step.grad_outputs.append(v)
                step.grad_output_summaries.append(s)
            leaf = self._leaf_of.get(id(fn))
            if leaf is not None:
                step.grad_before, _ = plain(leaf.grad)
            self.steps.append(step)
            self._open[id(fn)] = step
            return None

        return hook

    def _post(self, fn: Any, nid: str):
        slots = self.live.slots.get(id(fn), [])

        def hook(grad_inputs, grad_outputs):
            step = self._open.pop(id(fn), None)
            if step is None:
                return None
            for i, g in enumerate(grad_inputs):
                v, s = plain(g)
                target = slots[i] if i < len(slots) else None
                step.grad_inputs.append(GradInput(
                    edge_to=target or "", grad=v, summary=s,
                    shape=list(g.shape) if g is not None else []))
            leaf = self._leaf_of.get(id(fn))
            if leaf is not None:
                step.grad_after, _ = plain(leaf.grad)
            return None

        return hook
