"""Catching backward(): every call is an iteration of the training timeline.

torch.Tensor.backward and torch.autograd.backward are wrapped while a
recording is active, instead of watching for them with a TorchFunctionMode:
that way the forward op log can stay off in the iterations that keep no graph
(it costs microseconds per op). The originals come back when the recording ends.

Threads: "busy" (a backward called from inside our handler, e.g. by a hook, runs
plainly) is per thread, and the handler itself runs under one lock, so backward()
calls from several threads are each recorded, one after the other, as iterations
of their own: the count is the true count.
"""
from __future__ import annotations

import sys
import threading
from typing import Any, Callable

import torch

from gradviz.user_code import nearest_user_frame


class BackwardTrap:
    """Wraps torch.Tensor.backward and torch.autograd.backward while active.

    `handler(run, roots, retain, frame)` is called instead of each outermost
    backward; `run()` does the real backward. The originals come back on exit.
    """

    def __init__(self, handler: Callable[..., Any]) -> None:
        self.handler = handler
        self._originals: tuple | None = None
        self._local = threading.local()  # .busy: this thread is inside the handler
        self.lock = threading.RLock()  # shared with the grad trap: one recorded call at a time
        self.partial = False  # the backward being caught was given inputs=: only some leaves
        self.create_graph = False  # ... was given create_graph=True: it makes a graph of its own

    def __enter__(self) -> "BackwardTrap":
        tensor_backward, autograd_backward = torch.Tensor.backward, torch.autograd.backward
        self._originals = (tensor_backward, autograd_backward)
        trap = self

        def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
            def run():
                return tensor_backward(self, gradient, retain_graph, create_graph, inputs=inputs)

            if trap.busy:
                return run()
            return trap._catch(run, [self], bool(retain_graph or create_graph), inputs is not None,
                               bool(create_graph))

        def autograd_backward_(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
                               grad_variables=None, inputs=None):
            def run():
                return autograd_backward(tensors, grad_tensors, retain_graph, create_graph,
                                         grad_variables, inputs=inputs)

            if trap.busy:
                return run()
            roots = [tensors] if isinstance(tensors, torch.Tensor) else [
                t for t in (tensors or ()) if isinstance(t, torch.Tensor)]
            return trap._catch(run, roots, bool(retain_graph or create_graph), inputs is not None,
                               bool(create_graph))

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

    @property
    def busy(self) -> bool:
        """True inside the handler, on this thread."""
        return getattr(self._local, "busy", False)

    def _catch(self, run: Callable[[], Any], roots: list, retain: bool, partial: bool,
               create_graph: bool = False) -> Any:
        frame = nearest_user_frame(sys._getframe(2))
        with self.lock:  # one backward() at a time is recorded; the others wait their turn
            self._local.busy = True
            self.partial, self.create_graph = partial, create_graph
            try:
                return self.handler(run, roots, retain, frame)
            finally:
                self._local.busy = False


def is_patched() -> bool:
    """True while some recorder has torch's backward functions wrapped."""
    return bool(getattr(torch.Tensor.backward, "__gradviz__", False)
                or getattr(torch.autograd.backward, "__gradviz__", False))
