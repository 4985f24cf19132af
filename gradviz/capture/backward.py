"""Watch backward() run: one Step per autograd node, in the engine's order.

One post-hook per node sees both the gradients that arrived (grad_outputs)
and the ones it sent to each input edge (grad_inputs). The hook only appends
the node and the two tuples to a list (one hook function serves every node;
it asks torch which node is running), and the Steps are made when the graph is
first read: the engine waits on a list append, not on our bookkeeping.

Holding the gradients is safe: the engine never writes into a buffer someone
else holds (sums make new tensors), so what is read afterwards is what the hook
saw. The one exception is AccumulateGrad, which may make the buffer it received
its leaf's .grad (when .grad was None and nobody held the buffer yet): a later
backward() then adds into it in place, so what it received is copied at once. Small gradients
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
from gradviz.capture.values import SMALL, Deferred, plain
from gradviz.recording import GradInput, Step

# Nodes whose backward is user Python (custom autograd Functions): their code may
# change a gradient in place, so what they receive is read at once.
_PYTHON_NODES = ("BackwardCFunction",)


class _Read:
    """Gradients already turned into (value, summary) pairs inside the hook."""

    __slots__ = ("pairs",)

    def __init__(self, grads: tuple) -> None:
        self.pairs = [(*plain(g), list(g.shape) if g is not None else []) for g in grads]


class StepWatcher:
    """Hooks every node of a LiveGraph for the duration of one backward."""

    def __init__(self, live: LiveGraph, partial: bool = False):
        self.live = live
        self.partial = partial  # backward(inputs=...): only some leaves are accumulated
        self.raw: list[tuple] = []  # (id(autograd node), grad_inputs, grad_outputs), in engine order
        self._done: list[bool] = []  # non-empty once the backward is over (the hook reads it)
        self._handles: list[Any] = []
        self._before: dict[int, Any] = {}  # id(AccumulateGrad) -> small .grad of its leaf, at the start
        self._after: dict[int, Any] = {}  # ... and at the end of the backward
        self._leaves: list[tuple[int, torch.Tensor]] = []  # (id(AccumulateGrad), its leaf)
        self._deferred: Deferred | None = None

    def __enter__(self) -> "StepWatcher":
        self._gc = paused_gc()  # the backward makes a few objects per node
        self._gc.__enter__()
        handles = self._handles
        raw = self.raw
        done = self._done
        current = torch._C._current_autograd_node  # the node whose hook runs

        # One function for every node: no closure each. It holds nothing that leads
        # back to the nodes (only their ids): autograd nodes keep their hooks where
        # Python's collector cannot see, so a hook that reached its own node would
        # keep the whole graph, gradients and all, alive for good.
        def hook(grad_inputs, grad_outputs):
            if done:  # a later backward through a retained graph
                return
            node = current()
            cls = type(node).__name__
            if cls in _PYTHON_NODES:
                with no_torch_function():
                    raw.append((id(node), _Read(grad_inputs), _Read(grad_outputs)))
            elif cls == "AccumulateGrad":  # it may have made the buffer its leaf's .grad
                with no_torch_function():
                    raw.append((id(node), grad_inputs, tuple(
                        None if g is None else g.detach().clone() for g in grad_outputs)))
            else:
                raw.append((id(node), grad_inputs, grad_outputs))

        quiet_leaves = self._quiet_leaves()
        with no_torch_function():
            for fn in self.live.hook_fns:
                if type(fn).__name__ == "AccumulateGrad":
                    leaf = fn.variable
                    self._leaves.append((id(fn), leaf))
                    self._before[id(fn)] = _small_copy(leaf.grad)
                    if id(fn) in quiet_leaves:
                        continue
                try:
                    handles.append(fn.register_hook(hook))
                except RuntimeError:  # a node that takes no hooks: it simply has no step
                    continue
        return self

    @property
    def done(self) -> bool:
        """The backward is over."""
        return bool(self._done)

    def __exit__(self, *exc: Any) -> None:
        try:
            self._done.append(True)
            with no_torch_function():
                for key, leaf in self._leaves:  # each AccumulateGrad: its leaf's .grad now
                    self._after[key] = _small_copy(leaf.grad)
            self.live.watcher = self  # the Steps are made when the graph is first read
        finally:
            self._gc.__exit__(None, None, None)

    def _quiet_leaves(self) -> set[int]:
        """AccumulateGrad nodes whose step is known without a hook of their own.

        The engine runs an AccumulateGrad as soon as its gradient is complete, ahead
        of every other node (it has the highest priority). A leaf fed by one edge,
        from a node that feeds no other leaf, so runs right after that node, with
        the gradient that node's hook saw leave along the edge; its .grad before
        and after are read when the backward starts and ends. Its step is made
        from those: one hook less per parameter. (Not for backward(inputs=...),
        which skips some leaves, nor after a custom Function's Python backward, nor for a
        leaf with hooks of its own.)
        """
        self._synth: dict[int, tuple[int, Any]] = {}
        if self.partial:
            return set()
        users = self.live.acc_users
        hooked = self.live.hooks  # a leaf's own hooks change what arrives after the edge
        for fn in self.live.hook_fns:
            feeds = self.live.feeds.get(id(fn))
            if (feeds is not None and len(feeds) == 1 and users.get(id(feeds[0][1])) == 1
                    and type(fn).__name__ not in _PYTHON_NODES
                    and id(feeds[0][1].variable) not in hooked):
                self._synth[id(fn)] = feeds[0]
        return {id(acc) for _, acc in self._synth.values()}

    def remove(self) -> None:
        """Take the hooks off (they do nothing once the backward is over: this frees them)."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def steps(self, live: LiveGraph) -> list[Step]:
        """The Steps, from what the hooks kept (once the graph is built: node ids, edges)."""
        self._deferred = live.deferred
        try:
            return self._steps(live)
        finally:
            self.remove()
            self.raw, self._before, self._after, self._leaves = [], {}, {}, []

    def _steps(self, live: LiveGraph) -> list[Step]:
        key_of, slots_of = live.key_of, live.slots
        before, after = self._before, self._after
        steps = []
        fns = {id(fn): fn for fn in live.hook_fns}
        for key, grad_inputs, grad_outputs in self.raw:
            nid = key_of.get(key)
            fn = fns.get(key)
            if nid is None or fn is None:  # beyond the graph's node limit
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
                step.grad_before = _value_of(before.get(id(fn)))
                step.grad_after = _value_of(after.get(id(fn)))
            steps.append(step)
            fed = self._synth.get(id(fn))
            if fed is not None and fed[0] < len(grad_inputs) and grad_inputs[fed[0]] is not None:
                steps.append(self._accumulate(live, fed[1], grad_inputs[fed[0]], len(steps)))
        return steps

    def _accumulate(self, live: LiveGraph, acc: Any, grad: torch.Tensor, index: int) -> Step:
        """The step of an AccumulateGrad that had no hook (see _quiet_leaves)."""
        step = Step(index=index, node=live.key_of.get(id(acc), ""), op="AccumulateGrad")
        step.grad_output_summaries.append(None)
        step.grad_outputs.append(self._value(grad, step, step.grad_output_summaries, 0))
        step.grad_before = _value_of(self._before.get(id(acc)))
        step.grad_after = _value_of(self._after.get(id(acc)))
        return step

    def _value(self, g: torch.Tensor | None, owner: Any, container: Any, key: Any) -> Any:
        """The elements of a small gradient now; a big one's summary later, into container[key]."""
        return None if g is None else self._deferred.take(g, owner, container, key)


def _small_copy(t: torch.Tensor | None) -> torch.Tensor | None:
    """A copy of a small tensor (read when the steps are made), None for a big one."""
    if t is None or t.numel() > SMALL:
        return None
    return t.detach().clone()


def _value_of(t: torch.Tensor | None) -> Any:
    return None if t is None else plain(t)[0]
