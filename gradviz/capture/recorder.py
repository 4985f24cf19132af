"""The Recorder behind gradviz.record() and gradviz.step(), and show(): capture's ways in.

Every backward() starts an iteration (see capture/timeline.py). Which
iterations keep their whole graph and backward steps:

- the first, the ones asked for with `at=` (numbers, and "last"), and the
  first backward() made from each source line (a script with three different
  backward() lines gets three graphs; a loop gets one);
- the graph is "full" (op names, source lines, every intermediate value) when
  the forward op log was on while that iteration's forward ran. The log is a
  TorchFunctionMode that costs microseconds per op, so it is switched on only
  for iterations that will keep their graph: the decision for iteration k+1 is
  made when backward k ends. When a new backward() line shows up while the log
  was off, its graph is first drawn "light" (from the grad_fn chain and the
  user's names) and replaced by a full one at the next backward() from that line;
- "last": when the number of iterations is known (`total=`), the last
  iteration is recorded in full like any other. When it is not, the graph of
  the last iteration is drawn after the run from its grad_fn chain, with each
  parameter's value and gradient at that iteration (kept anyway for the
  timeline), but without intermediate values or backward steps; its notes say so.

A NaN or inf loss also keeps the graph of the iteration where it first appears,
and the op that produced it first is located (in the next iteration, with the
log switched on, when the log was off).
"""
from __future__ import annotations

import math
import os
import sys
from typing import Any, Callable, Iterable

import torch

from gradviz.capture.backward import StepWatcher
from gradviz.capture.backward_trap import BackwardTrap
from gradviz.capture.forward import ForwardLog
from gradviz.capture.grad_call import GradTrap
from gradviz.capture.graph import LiveGraph, _copy, build, grad_fns, no_torch_function, paused_gc, trace
from gradviz.capture.metrics import MetricWatch
from gradviz.capture.nonfinite import first_nonfinite, locate_grad_events
from gradviz.capture.optimizers import OptimizerWatch
from gradviz.capture.tangents import TangentWatch
from gradviz.capture.timeline import MAX_SNAPSHOTS, Timeline
from gradviz.names import Names, namespaces_of
from gradviz.user_code import is_internal, user_frame, user_frames
from gradviz.words import notes as said
from gradviz.words.notes import note
from gradviz.progress import ProgressMeter
from gradviz.recording import Graph, Recording, TimelineFacts

MAX_UNREAD = 4  # graphs whose tensors wait for their first reading, at most (memory)
GRAD_GRAPHS_PER_LINE = 10  # torch.autograd.grad calls drawn per source line (a jacobian's loop)


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


class Recorder:
    """Records forward ops and every backward() call while active.

    `with gradviz.record() as rec:` yields the Recording itself; it is complete
    once the block ends. No patching is left behind: the TorchFunctionMode, the
    module and optimizer hooks and the backward wrappers are removed on exit.

    at: iterations that keep their full graph besides the first: "1,100,last"
        or [1, 100, "last"].
    total: how many backward() calls to expect (progress, and "last").
    progress: called with a gradviz.progress.Progress a few times a second.
    snapshots: how many parameter snapshots to keep at most.
    on_finish: called with the Recording when the block ends (gradviz.record passes
        the explain layer here: capture itself makes no words).
    on_graph: called with each graph as it is recorded.
    """

    def __init__(self, max_graphs: int = 100,
                 on_finish: Callable[[Recording], None] | None = None,
                 on_graph: Callable[[Recording, Graph], None] | None = None,
                 at: Any = None, total: int | None = None,
                 progress: Callable[[Any], None] | None = None,
                 snapshots: int = MAX_SNAPSHOTS):
        self.recording = Recording(device=str(torch.get_default_device()))
        self.max_graphs = max_graphs
        self.on_finish = on_finish
        self.on_graph = on_graph
        self.at, self.at_last = parse_at(at)
        self.total = total
        # the iterations whose forward must be logged: asked for, and the last when known
        self._want = self.at | ({total} if self.at_last and total else set())
        self.backward_calls = 0
        self.log = ForwardLog()
        self.timeline = Timeline(max_snapshots=snapshots, total=total)
        self.meter = ProgressMeter(progress, total)
        self._trap = BackwardTrap(self._on_backward)
        self._grad_trap = GradTrap(self._on_grad, busy=lambda: self._trap.busy,
                                   lock=self._trap.lock, on_check=self._on_check)
        self._checks: dict[tuple, list] = {}  # gradcheck line -> [note index, runs, calls, answers]
        self.grad_calls = 0
        self._grad_sites: dict[tuple, int] = {}  # autograd.grad line -> graphs drawn from it
        self._optim = OptimizerWatch(self.timeline)
        self._tangents = TangentWatch()
        self._metrics = MetricWatch(iteration=lambda: self.backward_calls)
        self.meter.logged = self._metrics.points  # handed on with the progress, for live curves
        self._sites: dict[tuple, str] = {}  # backward() line -> "full" | "light"
        self._locate: dict | None = None  # a NaN event waiting for a logged iteration
        self._last_loss: float | None = None
        self._light: Graph | None = None  # the latest graph drawn without the op log
        self._unread: list[LiveGraph] = []  # graphs whose tensors are still held
        self._entered = False

    # entering and leaving ----------------------------------------------------------
    def __enter__(self) -> Recording:
        self._trap.__enter__()
        self._grad_trap.__enter__()
        self._optim.__enter__()
        self._tangents.__enter__()
        self._metrics.__enter__()
        self.log.start()
        self._entered = True
        return self.recording

    def __exit__(self, *exc: Any) -> None:
        try:
            self.log.remove()
        finally:
            self.log.forget()
            self._tangents.__exit__()
            self._metrics.__exit__()
            self._optim.__exit__()
            self._grad_trap.__exit__()
            self._trap.__exit__()
            self._entered = False
        self.finish()

    def finish(self) -> None:
        # Tens of thousands of small acyclic dicts are made here (one per iteration): with
        # the collector on, each batch of them sets off a full pass over every object in
        # the process (torch's too), which costs more than making them.
        with paused_gc():
            self._finish()

    def _finish(self) -> None:
        tl = self.timeline
        rec = self.recording
        lines: list = []
        try:
            if self.at_last and tl.k and tl.k not in tl.graph_of:
                self._late_graph_of_last()
            lines = list(tl.lines)
            tl.finish(tl.frame)
        except Exception as e:  # the timeline must never cost the user their graphs
            rec.notes.append(note(said.ITERATIONS_UNAVAILABLE, why=f"{type(e).__name__}: {e}"))
            try:
                tl.finish(None)
            except Exception:
                pass
        rec._pending = _Timeline(rec, tl, lines)  # iterations and pitfalls: when first read
        try:
            rec.notes.extend(note(said.FUNC_FORWARD, fn=fn, line=line)
                             for fn, line in self._tangents.unseen.values())
            rec.tangents, dropped = self._tangents.finish()
            if dropped:
                rec.notes.append(note(said.TANGENTS_KEPT, kept=len(rec.tangents), more=dropped))
        except Exception as e:  # forward-mode steps must never cost the user their graphs
            rec.notes.append(note(said.TANGENTS_UNAVAILABLE, why=f"{type(e).__name__}: {e}"))
        rec.metrics = self._metrics.points
        if self._metrics.dropped:
            rec.notes.append(note(said.METRICS_KEPT, kept=len(rec.metrics), more=self._metrics.dropped))
        self.meter.finish(self._last_loss)
        if self.on_finish is not None:
            self.on_finish(rec)

    # the iteration boundary ------------------------------------------------------------
    def _on_backward(self, run: Callable[[], Any], roots: list[torch.Tensor], retain: bool,
                     frame: Any) -> Any:
        """The user's backward, with our bookkeeping around it; ours may fail, theirs must run.

        An error of the user's backward (a second backward, a non-scalar root) reaches
        the user as it is; an error of gradviz's own bookkeeping becomes a note on the
        recording, and the backward runs (once) and returns as it would without gradviz.
        """
        return self._guarded(self._backward, run, said.BACKWARD_CALL, self.backward_calls + 1,
                             roots, retain, frame)

    def _on_grad(self, run: Callable[[], Any], roots: list[torch.Tensor],
                 inputs: list[torch.Tensor], create_graph: bool, frame: Any,
                 batched: bool = False) -> Any:
        """torch.autograd.grad, recorded like a backward (see _on_backward)."""
        return self._guarded(self._grad, run, said.GRAD_CALL, self.grad_calls + 1,
                             roots, inputs, create_graph, frame, batched)

    def _on_check(self, name: str, frame: Any, calls: int, outcome: Any) -> None:
        """torch.autograd.gradcheck ran: one note per line, with its grad calls and answers."""
        try:
            line = frame.f_lineno if frame is not None else "?"
            site = (name, frame.f_code.co_filename if frame is not None else "?", line)
            kept = self._checks.get(site)
            if kept is None:
                kept = self._checks[site] = [len(self.recording.notes), 0, 0, []]
                self.recording.notes.append("")
            kept[1] += 1
            kept[2] += calls
            if name == "torch.func":
                self.recording.notes[kept[0]] = note(said.FUNC_TRANSFORM, line=line, n=kept[2])
                return
            if isinstance(outcome, BaseException):
                first = (str(outcome).strip().splitlines() or [""])[0]
                answer = f"{type(outcome).__name__}: {first}" if first else type(outcome).__name__
            else:
                answer = repr(outcome)
            if answer not in kept[3]:
                kept[3].append(answer)
            self.recording.notes[kept[0]] = note(
                said.GRADCHECK_RAN, fn=f"torch.autograd.{name}", line=line, runs=kept[1],
                answers=" / ".join(kept[3]), n=kept[2])
        except Exception:  # a note must never break the learner's check
            pass

    def _guarded(self, body: Callable[..., Any], run: Callable[[], Any], what: str, n: int,
                 *args: Any) -> Any:
        """body(run_once, *args); `what` (a note template) and `n` name the call in a note
        when our bookkeeping fails (filled only then: a note costs microseconds, each call)."""
        done: list = []  # [result] once the user's call has returned

        def run_once() -> Any:
            try:
                done.append(run())
            except BaseException as e:
                raise _TheirError(e) from None
            return done[0]

        try:
            return body(run_once, *args)
        except _TheirError as theirs:
            raise theirs.error from None
        except Exception as ours:
            self.recording.notes.append(
                note(said.NOT_RECORDED, what=note(what, n=n), why=f"{type(ours).__name__}: {ours}"))
            return done[0] if done else run()

    def _grad(self, run: Callable[[], Any], roots: list[torch.Tensor],
              inputs: list[torch.Tensor], create_graph: bool, frame: Any,
              batched: bool = False) -> Any:
        """A grad call's graph and steps, and what it returned; no iteration, no .grad.

        Drawn while the op log is on (an iteration that keeps its graph), at most
        GRAD_GRAPHS_PER_LINE per source line. A batched call (is_grads_batched: vmap runs
        one backward for every row of grad_outputs at once) shows its graph and what it
        returned, without steps: no node runs once per row to be watched."""
        n = self.grad_calls = self.grad_calls + 1
        site = (frame.f_code.co_filename, frame.f_lineno) if frame is not None else ("?", 0)
        drawn = self._grad_sites.get(site, 0)
        if (not self.log.active or not any(r.grad_fn is not None for r in roots)
                or len(self.recording.graphs) >= self.max_graphs
                or drawn >= GRAD_GRAPHS_PER_LINE):
            return run()
        self._grad_sites[site] = drawn + 1
        live = self._trace(roots, frame, self.backward_calls + 1, full=True)
        g = live.graph
        g.iteration, g.call, g.grad_call = None, "grad", n
        g.title = f"torch.autograd.grad call {n}"
        live.inputs = list(inputs)
        if batched:
            g.notes.append(note(said.GRAD_BATCHED))
            result = run()
        else:
            with self.log.internals(create_graph, frame):
                with StepWatcher(live, partial=True):
                    result = run()
        with no_torch_function():
            values = result.values() if isinstance(result, dict) else result
            live.results = [None if r is None else _copy(r) for r in values]
        live.finished = True
        g._pending = live
        self.recording.graphs.append(g)
        self._hold(live)
        if self.on_graph:
            self.on_graph(self.recording, g)
        return result

    def _backward(self, run: Callable[[], Any], roots: list[torch.Tensor], retain: bool,
                  frame: Any) -> Any:
        k = self.backward_calls = self.backward_calls + 1
        tl = self.timeline
        site = (frame.f_code.co_filename, frame.f_lineno) if frame is not None else ("?", 0)
        loss = _loss_of(roots)
        bad_loss = loss is not None and not math.isfinite(loss)
        seen = self._sites.get(site)
        logged = self.log.active
        # (the bookkeeping works on detached tensors: it builds no graph and logs no op)
        if (seen is not None and not logged and k not in self._want and not bad_loss
                and self._locate is None and not tl.stale):
            # the common case in a long loop: no graph, no log, just the numbers
            tl.step(k, roots, site, frame, loss)
            try:
                return run()
            finally:
                tl.after_backward()
                self._refollow(roots, frame)
                if self.log.calls and not retain:
                    self.log.forget()
                if k + 1 in self._want:
                    self._switch_log(k + 1, first_here=False)
                self._last_loss = loss
                self.meter.tick(k, loss)
        namespaces = tl.namespaces(frame)
        with no_torch_function():  # our own reading must not go through the op log
            tl.close(frame, site, namespaces)
        keep = (k == 1 or k in self._want or seen is None
                or (seen == "light" and logged) or bad_loss and not self._nan_reported()
                or (self._locate is not None and logged))
        live = None
        if keep and roots and len(self.recording.graphs) < self.max_graphs:
            live = self._trace(roots, frame, k, full=logged)
            self._sites[site] = "full" if logged else "light"
        elif seen is None:
            self._sites[site] = "none"
        with no_torch_function():
            leaves = _leaves(live) if live else _walked_leaves(roots, frame) if tl.stale else None
            tl.begin(k, roots, site, frame, leaves, loss, namespaces,
                     copies=live.copies if live else None)
            if bad_loss or self._locate is not None:
                self._nonfinite(k, loss, live, logged)
        # The op log has nothing to see in a backward (custom Functions' Python, hooks):
        # off until the next forward that keeps a graph (_switch_log).
        self.log.stop()
        try:
            if live is not None:
                with self.log.internals(self._trap.create_graph and logged, frame):
                    with StepWatcher(live, partial=self._trap.partial):
                        result = run()
            else:
                result = run()
        finally:
            grads = None
            if live is not None:
                live.take_grads()
                grads = live.grad_copies
                self._add_graph(live, full=logged)
            with no_torch_function():
                tl.after_backward(grads)
                self._refollow(roots, frame)
        if not retain:
            self.log.forget()
        self._switch_log(k + 1, first_here=seen is None)
        self._last_loss = loss
        self.meter.tick(k, loss)
        return result

    def _refollow(self, roots: list[torch.Tensor], frame: Any) -> None:
        """After a backward that reached none of the followed parameters (a new model under the
        same names): follow the leaves it did reach, from this iteration on."""
        if self.timeline.stale and roots:
            with no_torch_function():
                self.timeline.refollow(_walked_leaves(roots, frame))

    def _switch_log(self, nxt: int, first_here: bool) -> None:
        """Log the forward of iteration nxt only when it will keep its graph."""
        on = nxt in self._want or first_here or self._locate is not None
        if on and len(self.recording.graphs) < self.max_graphs:
            self.log.start()
        else:
            self.log.forget()
            self.log.stop()

    def _names(self, frame: Any) -> Names:
        """The learner's names for the graph's tensors: from the frames around the backward()
        call; when a library's loop made that call (Lightning's), first from the learner's
        methods that ran the ops (training_step's `x`, and `model.0.weight` for self.model)."""
        if not _called_by_library():
            return Names.from_frames(user_frames(frame))
        names = Names()
        for f in reversed(list(self.log.frames.values())):
            names.scan_method(f.f_locals)
        for ns in namespaces_of(user_frames(frame)):
            names.scan(ns)
        return names

    def _trace(self, roots: list[torch.Tensor], frame: Any, k: int, full: bool) -> LiveGraph:
        names = self._names(frame)
        with no_torch_function():  # (reading grad_fn must not go through the op log)
            calls = self.log.by_node() if full else None
        live = trace(roots, names, calls,
                     index=len(self.recording.graphs), made=self.log.made if full else None)
        g = live.graph
        if full and self.log.dropped:
            g.notes.append(note(said.LOG_SHED, n=self.log.dropped, mb=self.log.max_bytes // 2**20))
        g.line = frame.f_lineno if frame is not None else None
        g.iteration = k
        if not full:
            g.notes.append(note(said.LOG_OFF))
        return live

    def _add_graph(self, live: LiveGraph, full: bool) -> None:
        graph = live.graph
        graphs = self.recording.graphs
        tl = self.timeline
        light = self._light
        self._light = None
        if full and light is not None and graphs and graphs[-1] is light and (
                light.iteration == graph.iteration - 1 and light.line == graph.line
                and not any(e.get("graph") == light.index for e in tl.events)):
            # the full graph replaces the light one drawn at the previous backward() of this line
            graphs.pop()
            tl.graph_of.pop(light.iteration, None)
            tl.keep.discard(light.iteration)
            graph.index = light.index
        graphs.append(graph)
        tl.graph_of[graph.iteration] = graph.index
        tl.keep.add(graph.iteration)
        self._hold(live)
        if not full:
            self._light = graph
        if self.on_graph:
            self.on_graph(self.recording, graph)

    def _hold(self, live: LiveGraph) -> None:
        """A graph not read yet holds its gradients and op outputs: a few may wait, not all."""
        self._unread.append(live)
        while len(self._unread) > MAX_UNREAD:
            old = self._unread.pop(0)
            old.resolve()
            old.deferred.resolve()

    # NaN and inf ----------------------------------------------------------------------
    def _nan_reported(self) -> bool:
        return any(e["kind"] == "nonfinite" and e.get("what") == "loss" for e in self.timeline.events)

    def _nonfinite(self, k: int, loss: float | None, live: LiveGraph | None, logged: bool) -> None:
        """Which node made the loss NaN or inf first."""
        tl = self.timeline
        if self._locate is not None:  # an earlier NaN, located now that the log is on
            event, self._locate = self._locate, None
            if loss is not None and not math.isfinite(loss) and live is not None and logged:
                event.update(first_nonfinite(live, self.log.calls), located_at=k)
            else:
                event["located_at"] = None
            return
        if self._nan_reported():
            return
        event = {"kind": "nonfinite", "what": "loss", "iteration": k, "loss": loss,
                 "graph": live.graph.index if live is not None else None}
        tl.events.append(event)
        if live is not None:
            found = first_nonfinite(live, self.log.calls if logged else {})
            if found:
                event.update(found, located_at=k)
                return
        self._locate = event  # log the next iteration's forward, and look there

    def _late_graph_of_last(self) -> None:
        """'last' without a known total: the last iteration's graph, drawn after the run."""
        tl = self.timeline
        if not tl.roots or len(self.recording.graphs) >= self.max_graphs:
            return
        try:
            names = Names.from_frames([tl.frame] if tl.frame is not None else [])
            live = build(tl.roots, names, index=len(self.recording.graphs))
        except Exception as e:
            self.recording.notes.append(note(said.NO_LAST_GRAPH, why=f"{type(e).__name__}: {e}"))
            return
        from gradviz.capture.values import plain

        for nid, t in live.leaf_tensors.items():
            p = tl.by_id.get(id(t))
            if p is None or p.tensor is not t:
                continue
            node = live.node(nid)
            node.value, node.summary = plain(p.old)
            node.grad, node.grad_summary = plain(p.grad_copy if p.grad_copy is not None
                                                 else tl.grad_of(p))
        g = live.graph
        g.iteration = tl.k
        g.line = tl.lines[-1] if tl.lines else None
        g.title = f"iteration {tl.k} (the last)"
        g.notes.append(note(said.LAST_UNPLANNED))
        self.recording.graphs.append(g)
        tl.graph_of[tl.k] = g.index


class _TheirError(BaseException):
    """Carries an exception of the user's own backward() through our bookkeeping."""

    def __init__(self, error: BaseException):
        super().__init__(error)
        self.error = error


class _Timeline:
    """Recording.iterations and .pitfalls, made from the timeline when first read.

    The timeline holds plain numbers and our own copies by then (the recording is
    over), so nothing is lost by waiting; the user's code does not wait for the
    per-iteration dicts, the summaries and the checks.
    """

    def __init__(self, rec: Recording, tl: Timeline, lines: list):
        self.rec, self.tl, self.lines = rec, tl, lines

    def resolve(self) -> None:
        rec, tl = self.rec, self.tl
        if rec._pending is not self:
            return
        rec._pending = None
        with no_torch_function():
            try:
                tl.settle_late()
                with paused_gc():  # (see Recorder.finish)
                    rec.iterations = tl.to_iterations()
                tl.deferred.resolve()
            except Exception as e:  # the timeline must never cost the user their graphs
                rec.notes.append(note(said.ITERATIONS_UNAVAILABLE, why=f"{type(e).__name__}: {e}"))
            locate_grad_events(tl.events, rec)
            # the words whoever finishes the recording asked for (Recording.on_iterations)
            rec.iterations_made(TimelineFacts(tl.events, self.lines))


_OWN_DIRS = tuple(os.path.dirname(os.path.abspath(m.__file__)) + os.sep for m in (torch,))
_GRADVIZ_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _called_by_library() -> bool:
    """Was backward() (or autograd.grad) called by an installed library's code rather than the
    learner's? The first frame outside gradviz and torch says."""
    f = sys._getframe(1)
    while f is not None:
        name = f.f_code.co_filename
        if not name.startswith(_GRADVIZ_DIR) and not name.startswith(_OWN_DIRS):
            return is_internal(name)
        f = f.f_back
    return False


def _loss_of(roots: list[torch.Tensor]) -> float | None:
    """The number backward() started from (the sum when it started from several)."""
    if not roots or any(r.numel() != 1 for r in roots):
        return None
    try:
        total = 0.0
        for r in roots:
            v = r.item()
            total += v.real if isinstance(v, complex) else v
        return float(total)
    except (RuntimeError, ValueError, TypeError):
        return None


def _leaves(live: LiveGraph) -> list[tuple[str, torch.Tensor]]:
    """The graph's trainable leaves under their user names (unnamed ones get a made-up name)."""
    return _uniquely_named(((t, f"leaf {k}") for k, t in enumerate(live.leaf_vars) if t.requires_grad),
                           live.names)


def _walked_leaves(roots: list[torch.Tensor], frame: Any) -> list[tuple[str, torch.Tensor]]:
    """The trainable leaves a backward reaches, named (for an iteration that keeps no graph)."""
    found = [t for fn in grad_fns([r.grad_fn for r in roots]) for t in [getattr(fn, "variable", None)]
             if isinstance(t, torch.Tensor) and t.requires_grad]
    return _uniquely_named(((t, f"leaf {k}") for k, t in enumerate(found)),
                           Names.from_frames(user_frames(frame)))


def _uniquely_named(leaves: Iterable[tuple[torch.Tensor, str]], names: Names) -> list[tuple[str, torch.Tensor]]:
    """(name, leaf): the user's name, else the made-up one given; a name taken twice gets #2, #3."""
    out, used = [], set()
    for t, made_up in leaves:
        name = names.name(t) or made_up
        base, n = name, 2
        while name in used:
            name, n = f"{base}#{n}", n + 1
        used.add(name)
        out.append((name, t))
    return out


def show(tensor: torch.Tensor, **options: Any) -> Graph:
    """The graph behind `tensor`, from its grad_fn chain, after the fact."""
    frame = user_frame(2)
    names = Names.from_frames(user_frames(frame))
    live = build([tensor], names, grads=True)
    live.graph.options = options
    _note_nonleaf_grads(live.graph)
    return live.graph


def _note_nonleaf_grads(graph: Graph) -> None:
    for n in graph.nodes:
        if n.kind == "tensor" and not n.is_leaf and n.requires_grad and not n.retains_grad:
            n.note = n.note or f"{n.label} is not a leaf: its .grad stays None unless you call {n.label}.retain_grad()"
