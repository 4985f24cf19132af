"""record(), show() and step(): the public ways into capture."""
from __future__ import annotations

from typing import Any, Callable

import torch

from gradviz.capture.backward import StepWatcher
from gradviz.capture.forward import ForwardLog
from gradviz.capture.graph import build
from gradviz.capture.names import Names, user_frame, user_frames
from gradviz.recording import Graph, Recording


class Recorder:
    """Records forward ops and every backward() call while active.

    `with gradviz.record() as rec:` yields the Recording itself; it is complete
    once the block ends. No patching is left behind: the TorchFunctionMode and
    the module hooks are removed on exit.
    """

    def __init__(self, max_graphs: int = 100, explain: bool = True,
                 on_graph: Callable[[Recording, Graph], None] | None = None):
        self.recording = Recording(device=str(torch.get_default_device()))
        self.max_graphs = max_graphs
        self.explain = explain
        self.on_graph = on_graph
        self.backward_calls = 0
        self.log = ForwardLog(on_backward=self._on_backward)

    def __enter__(self) -> Recording:
        self.log.__enter__()
        return self.recording

    def __exit__(self, *exc: Any) -> None:
        self.log.__exit__(*exc)
        self.log.forget()
        self.finish()

    def finish(self) -> None:
        if self.explain:
            from gradviz.explain import explain_recording

            explain_recording(self.recording)

    def _on_backward(self, func, args, kwargs):
        roots, retain = _backward_roots(args, kwargs)
        self.backward_calls += 1
        if len(self.recording.graphs) >= self.max_graphs or not roots:
            return func(*args, **kwargs)
        frame = user_frame(3)
        names = Names(user_frames(frame))
        live = build(roots, names, self.log.calls, index=len(self.recording.graphs))
        graph = live.graph
        graph.line = frame.f_lineno if frame else None
        graph.iteration = self.backward_calls
        try:
            with StepWatcher(live):
                result = func(*args, **kwargs)
        finally:
            live.fill_grads()
            self.recording.graphs.append(graph)
            if self.on_graph:
                self.on_graph(self.recording, graph)
        if not retain:
            self.log.forget()
        return result


def _backward_roots(args, kwargs) -> tuple[list[torch.Tensor], bool]:
    """The tensors backward() starts from, for Tensor.backward and autograd.backward."""
    first = args[0] if args else kwargs.get("tensors", kwargs.get("self"))
    roots = [first] if isinstance(first, torch.Tensor) else list(first or [])
    retain = bool(kwargs.get("retain_graph") or kwargs.get("create_graph"))
    if len(args) > 2:
        retain = retain or bool(args[2])
    return [r for r in roots if isinstance(r, torch.Tensor)], retain


def record(**options: Any) -> Recorder:
    """Record what runs inside a `with` block: ops, values, every backward()."""
    return Recorder(**options)


def show(tensor: torch.Tensor, **options: Any) -> Graph:
    """The graph behind `tensor`, from its grad_fn chain, after the fact."""
    frame = user_frame(2)
    names = Names(user_frames(frame))
    live = build([tensor], names)
    live.fill_grads()
    live.graph.options = options
    _note_nonleaf_grads(live.graph)
    return live.graph


def step(tensor: torch.Tensor, explain: bool = True, **options: Any) -> Recording:
    """Run tensor.backward() while recording it; returns the Recording."""
    rec = Recorder(explain=explain)
    with rec:
        tensor.backward(**options)
    return rec.recording


def _note_nonleaf_grads(graph: Graph) -> None:
    for n in graph.nodes:
        if n.kind == "tensor" and not n.is_leaf and n.requires_grad and not n.retains_grad:
            n.note = n.note or f"{n.label} is not a leaf: its .grad stays None unless you call {n.label}.retain_grad()"
