"""Walk a grad_fn chain into a plain Graph: tensor nodes, op nodes, edges.

Node ids are our own (t0, t1, op0, ...), never `id()` of a live object, so a
saved tensor can never be merged with a leaf that happens to share its id.
"""
from __future__ import annotations

from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch

from gradviz.capture.computed import computed_label
from gradviz.capture.forward import OpCall, source_line
from gradviz.capture.scopes import Scopes
from gradviz.names import Names
from gradviz.numbers import as_signed, fmt_exact
from gradviz.capture.values import (SMALL, Deferred, device_name, dtype_name, no_torch_function,
                                    plain, scalar, sparse_counts)
from gradviz.opnames import forward_name
from gradviz.words.notes import GRAPH_CUT, GRAPH_INCOMPLETE, STEPS_UNAVAILABLE, note
from gradviz.recording import Edge, Graph, Node
from gradviz.recording.plain import paused_gc

_saved_attr_names: dict[type, list[tuple[str, bool]]] = {}  # (name, saved as a tensor)

# Saved attributes whose values teach nothing (they are implementation detail).
_BORING = {"self_sym_sizes", "self_sym_strides", "other_sym_sizes", "sym_sizes", "self_options",
           "self_sym_numel", "self_scalar_type", "other_scalar_type", "self_sym_argsize_dim",
           "result_sym_sizes", "mat1_sym_sizes", "mat1_sym_strides", "mat2_sym_sizes",
           "mat2_sym_strides", "mat1_layout", "mat2_layout", "self_layout", "self_sizes"}


def saved_attrs(fn: Any, scalar_operands: bool = True) -> dict[str, Any]:
    """The non-tensor saved attributes of an autograd node (exponent, alpha, dim...).

    A saved tensor shows only when it holds one number that needs no grad (the 3 of
    `w * 3` is saved as such a tensor). Reading a saved tensor unpacks it, so when the
    op log says the call had no number or 0-d tensor among its operands
    (scalar_operands=False), saved tensors are not read at all.
    """
    cls = type(fn)
    names = _saved_attr_names.get(cls)
    if names is None:
        names = [(a, hasattr(fn, "_raw" + a)) for a in dir(fn)
                 if a.startswith("_saved_") and a[7:] not in _BORING and "sym_" not in a]
        _saved_attr_names[cls] = names
    out = {}
    for a, is_tensor in names:
        if is_tensor and not scalar_operands:
            continue
        try:
            v = getattr(fn, a)
        except Exception:  # freed already, or not readable
            continue
        if isinstance(v, torch.Tensor):
            if v.numel() == 1 and not v.requires_grad and v.grad_fn is None and v.dim() == 0:
                out[a[7:]] = v.item()
            continue
        s = scalar(v)
        if s is not None:
            out[a[7:]] = s
    return _as_written(out)


# How torch keeps some attributes, and how the code wrote them.
_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}  # torch's Reduction enum


def _as_written(attrs: dict[str, Any]) -> dict[str, Any]:
    """Saved attributes as the learner's code wrote them, not as torch stores them:
    int64 attributes arrive unsigned (ignore_index=-100 as 18446744073709551516),
    `reduction` as an enum number, an Embedding's `padding_idx=None` as -1."""
    out = {}
    for k, v in attrs.items():
        v = as_signed(v)
        if k == "reduction" and v in _REDUCTIONS:
            v = _REDUCTIONS[v]
        elif k == "padding_idx" and v == -1:
            v = None
        out[k] = v
    return out



@dataclass
class LiveGraph:
    """A Graph being captured, and the live objects it is made from.

    Capture happens in two parts, so the user's backward() waits only for the
    first:

    - trace() (before the backward): walk the grad_fn chain once to find the
      autograd nodes to hook, and copy what the code may change later: each
      leaf's value (an optimizer steps it next), the constants, the saved
      attributes of each node (the backward frees saved tensors). After the
      backward, take_grads() copies each leaf's (and retain_grad tensor's)
      .grad, which the code zeroes next.
    - resolve() (when the graph is first read): the Graph itself, with node ids,
      names, values, edges, module scopes and the backward steps, made from
      those copies and from tensors nothing changes (op outputs, the gradients
      the hooks received).
    """

    graph: Graph
    roots: list = field(default_factory=list)
    names: Any = None
    calls: dict = field(default_factory=dict)
    hook_fns: list = field(default_factory=list)  # every autograd node, in walk order
    leaf_vars: list = field(default_factory=list)  # the leaves' tensors, in walk order
    copies: dict[int, Any] = field(default_factory=dict)  # id(tensor) -> its value, copied
    versions: dict[int, int] = field(default_factory=dict)  # id(big op output) -> _version then
    attrs: dict[int, dict] = field(default_factory=dict)  # id(fn) -> saved attributes
    fn_calls: dict[int, Any] = field(default_factory=dict)  # id(fn) -> its op log call (or None)
    operands: dict[int, list] = field(default_factory=dict)  # id(fn) -> saved constant operands
    feeds: dict[int, list] = field(default_factory=dict)  # id(fn) -> [(edge, AccumulateGrad)]
    acc_users: dict[int, int] = field(default_factory=dict)  # id(AccumulateGrad) -> its edges in
    grad_copies: dict[int, Any] | None = None  # id(tensor) -> its .grad after the backward
    sparse_grads: dict[int, tuple] = field(default_factory=dict)  # id(tensor) -> sparse_counts
    retained_now: list = field(default_factory=list)  # retain_grad tensors seen by trace()
    inputs: list = field(default_factory=list)  # a grad call's inputs
    results: list | None = None  # ... and copies of what it returned, one per input
    watcher: Any = None  # the StepWatcher whose hooks saw the backward
    finished: bool = False  # no more data to come (the backward is over, or there is none)
    built: bool = False
    # made by resolve():
    slots: dict[int, list[str | None]] = field(default_factory=dict)  # id(fn) -> edge targets
    leaf_tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    retained: dict[str, torch.Tensor] = field(default_factory=dict)
    key_of: dict[int, str] = field(default_factory=dict)  # id(fn) -> node id
    by_id: dict[str, Node] = field(default_factory=dict)  # node id -> node (Graph.node scans)
    tensor_ids: dict[Any, str] = field(default_factory=dict)  # (id(fn), nr) | ("leaf", id) -> id
    const_labels: dict[int, str] = field(default_factory=dict)  # id(constant) -> what it was made of
    hooks: dict[int, list[str]] = field(default_factory=dict)  # id(tensor) -> its hooks' kinds
    deferred: Deferred = field(default_factory=Deferred)  # big tensors, summarised when read

    def node(self, nid: str) -> Node:
        self.resolve()
        n = self.by_id.get(nid)
        return n if n is not None else self.graph.node(nid)

    def take_grads(self) -> None:
        """After the backward: copy .grad of the leaves and of retain_grad tensors."""
        with quiet():
            copies = {}
            for t in (*self.leaf_vars, *self.retained_now):
                g = t.grad
                if g is not None:
                    copies[id(t)] = _copy(g)
                    sparse = sparse_counts(g)
                    if sparse is not None:
                        self.sparse_grads[id(t)] = sparse
            self.grad_copies = copies
        self.finished = True
        self.graph._pending = self

    def resolve(self) -> None:
        """Make the Graph from what capture kept (each part once); see the class docstring."""
        g = self.graph
        if g._pending is not self and self.built:
            return
        g._pending = None
        with quiet():
            if not self.built:
                self.built = True
                try:
                    _build(self)
                except Exception as e:  # a half-made graph still shows what it has
                    g.notes.append(note(GRAPH_INCOMPLETE, why=f"{type(e).__name__}: {e}"))
            if self.grad_copies is not None:
                copies, self.grad_copies = self.grad_copies, None
                for tensors in (self.leaf_tensors, self.retained):
                    for nid, t in tensors.items():
                        c = copies.get(id(t))
                        if c is not None:
                            node = self.by_id[nid]
                            node.grad = self._put(c, node, "_grad_summary")
                            if id(t) in self.sparse_grads:
                                layout, stored, total = self.sparse_grads[id(t)]
                                node.note = (f"its .grad is a sparse tensor ({layout}): {stored} of "
                                             f"{total} elements stored, shown here as the dense tensor "
                                             f"it stands for")
            if self.results is not None and self.finished:
                results, self.results = self.results, None
                g.returned = [self._returned(t, r) for t, r in zip(self.inputs, results)]
            w = self.watcher
            if w is not None and w.done:
                self.watcher = None
                try:
                    g.steps = w.steps(self)
                except Exception as e:  # the graph without its steps is still worth showing
                    g.notes.append(note(STEPS_UNAVAILABLE, why=f"{type(e).__name__}: {e}"))
        if not self.finished or self.watcher is not None:
            g._pending = self  # the backward is still to come: its part is made later
        else:  # all made: let go of the live objects
            self.roots, self.names, self.calls, self.hook_fns, self.leaf_vars = [], None, {}, [], []
            self.copies, self.attrs, self.operands, self.retained_now = {}, {}, {}, []
            self.fn_calls, self.versions, self.feeds, self.acc_users = {}, {}, {}, {}
            self.inputs, self.tensor_ids, self.const_labels, self.hooks = [], {}, {}, {}

    def _returned(self, t: torch.Tensor, r: Any) -> dict:
        """What a grad call returned for its input t: the gradient and the node it is for."""
        key = ("leaf", id(t)) if t.grad_fn is None else (id(t.grad_fn), t.output_nr)
        value, summary = r if type(r) is tuple else plain(r)
        return {"node": self.tensor_ids.get(key), "value": value, "summary": summary,
                "shape": None if r is None else list(r.shape if isinstance(r, torch.Tensor) else t.shape)}

    def _put(self, c: Any, node: Node, key: str) -> Any:
        """The value of a copy (see _copy); its summary goes to node.key, now or when first read."""
        if type(c) is tuple:  # read already
            setattr(node, key, c[1])
            return c[0]
        return self.deferred.take(c, node, node, key)


def _copy(t: torch.Tensor) -> Any:
    """A copy of t to read later (a clone costs less than reading it now); sparse: read now."""
    if t.layout != torch.strided:
        return plain(t)
    return t.detach().clone()


@contextmanager
def quiet():
    """paused_gc() and no_torch_function() together: the setting for reading a graph (inside a
    recording every tensor method we call would go through our ForwardLog mode, ~4 us each)."""
    with paused_gc(), no_torch_function():
        yield


def build(
    roots: list[torch.Tensor],
    names: Names,
    calls: dict[tuple[int, int], OpCall] | None = None,
    index: int = 0,
    grads: bool = False,
) -> LiveGraph:
    """The graph behind roots, made at once (no backward to watch); grads: with .grad as it is now."""
    live = trace(roots, names, calls, index)
    if grads:
        live.take_grads()
    live.finished = True
    live.resolve()
    return live


def grad_fns(starts: list[Any], limit: int | None = None) -> Iterator[Any]:
    """Every autograd node reachable from `starts` (grad_fns), once each, breadth first.

    The plain walk over `next_functions`, for questions about a graph (which leaves
    does it reach? does it contain that node?); trace() and _build() walk it
    themselves because they also read each edge as they go.
    """
    queue = deque(fn for fn in starts if fn is not None)
    seen: set[int] = set()
    while queue and (limit is None or len(seen) < limit):
        fn = queue.popleft()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        yield fn
        queue.extend(nxt for nxt, _ in fn.next_functions if nxt is not None)


def trace(
    roots: list[torch.Tensor],
    names: Names,
    calls: dict[tuple[int, int], OpCall] | None = None,
    index: int = 0,
    max_nodes: int = 50_000,
    made: dict | None = None,
) -> LiveGraph:
    """The first part of capture, before a backward: see LiveGraph.
    made: the op log's record of how no-grad tensors were computed (constants' labels)."""
    g = Graph(index=index)
    live = LiveGraph(graph=g, roots=list(roots), names=names, calls=calls or {})
    with quiet():
        _trace(live, max_nodes)
        if made:
            for call in live.calls.values():
                for c in call.constants:
                    if isinstance(c, torch.Tensor) and id(c) not in live.const_labels:
                        label = computed_label(made, c, names.name)
                        if label:
                            live.const_labels[id(c)] = label
    g._pending = live
    return live


def _trace(live: LiveGraph, max_nodes: int) -> None:
    fns, leaves, copies, attrs = live.hook_fns, live.leaf_vars, live.copies, live.attrs
    calls = live.calls
    queue = []
    for r in live.roots:
        if r.grad_fn is not None:
            queue.append(r.grad_fn)
        elif r.requires_grad:
            leaves.append(r)
            copies[id(r)] = _copy(r)
    seen: set[int] = set()
    users = live.acc_users
    for fn in queue:  # (it grows while it is walked)
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        fns.append(fn)
        if len(fns) > max_nodes:
            break
        call = live.fn_calls[id(fn)] = _any_call(calls, fn) if calls else None
        # now: the backward frees saved tensors
        attrs[id(fn)] = saved_attrs(fn, call is None or call.scalar_operands)
        edges = fn.next_functions
        if not live.calls:  # no op log: the constant operands are only in the saved tensors
            live.operands[id(fn)] = _saved_operands(fn, edges, copies)
        for nxt, _ in edges:
            if nxt is None or id(nxt) in seen:
                continue
            if type(nxt).__name__ == "AccumulateGrad":
                seen.add(id(nxt))
                fns.append(nxt)
                var = nxt.variable
                leaves.append(var)
                copies[id(var)] = _copy(var)  # an optimizer steps it next
                _note_hooks(var, live.hooks)
            else:
                queue.append(nxt)
        feeds = [(k, nxt) for k, (nxt, _) in enumerate(edges)
                 if nxt is not None and type(nxt).__name__ == "AccumulateGrad"]
        if feeds:
            live.feeds[id(fn)] = feeds
            for _, acc in feeds:
                users[id(acc)] = users.get(id(acc), 0) + 1
    for call in live.calls.values():
        for c in call.constants:
            if isinstance(c, torch.Tensor) and id(c) not in copies:
                copies[id(c)] = _copy(c)  # the code may refill an input in place
        out = call.output
        if out.retains_grad:
            live.retained_now.append(out)
        if out._backward_hooks:
            _note_hooks(out, live.hooks)
        _copy_small(out, call.before, copies, live.versions)
    for t in live.names.tensors.values():
        if t.retains_grad:
            live.retained_now.append(t)
        if t._backward_hooks:
            _note_hooks(t, live.hooks)
        if t.grad_fn is not None:
            _copy_small(t, None, copies, live.versions)


def _current(t: torch.Tensor, key: Any) -> bool:
    """Is this node t as it is now? An in-place op makes a new version of t (a new grad_fn):
    .grad, retain_grad and hooks belong to that one, not to the version drawn before it."""
    return not isinstance(key[0], int) or (key[0] == id(t.grad_fn) and key[1] == t.output_nr)


def _note_hooks(t: torch.Tensor, hooks: dict[int, list[str]]) -> None:
    """The kinds of hook t has now (they run in the backward; a graph says so)."""
    kinds = []
    if t._backward_hooks:
        kinds.append("register_hook")
    if t.is_leaf and getattr(t, "_post_accumulate_grad_hooks", None):
        kinds.append("post_accumulate_grad")
    if kinds:
        hooks[id(t)] = kinds


def _copy_small(t: torch.Tensor, before: torch.Tensor | None, copies: dict[int, Any],
                versions: dict[int, int]) -> None:
    """A small op output as it is now, before the code can change it in place (h.add_(100)
    after the backward): a node shows the value its op made. A big one is summarised when
    first read; its version now tells then whether it changed in between (a note says so).
    (`before` already holds the value from before an in-place op the log saw.)"""
    if before is not None or id(t) in copies or t.layout != torch.strided:
        return
    if t.numel() <= SMALL:
        copies[id(t)] = t.detach().clone()
    else:
        versions[id(t)] = t._version


def _build(live: LiveGraph, max_nodes: int = 50_000) -> None:
    roots, names, calls, copies = live.roots, live.names, live.calls, live.copies
    named = names.by_grad_fn()
    g = live.graph
    tensor_ids = live.tensor_ids
    pending: dict[int, list[str]] = {}  # id(fn) -> tensors it made, drawn before it
    counter = {"t": 0, "op": 0, "c": 0}
    deferred = live.deferred
    scopes = Scopes(names)
    discovered_by: dict[int, str] = {}  # id(fn) -> the op whose inputs led the walk to it
    fn_calls = live.fn_calls  # what trace() found for each node
    sources: dict[tuple, str | None] = {}  # (file, line) -> its text: a loop's ops share lines
    made_by: dict[str, str] = {}  # tensor id -> the op that made it, in the order of the edges

    def new_id(kind: str) -> str:
        i = counter[kind]
        counter[kind] += 1
        return f"{kind}{i}"

    def tensor_node(t: torch.Tensor | None, key: Any, value: torch.Tensor | None = None,
                    **kw: Any) -> str:
        """`value`: where to read the elements, when not from t itself (t before an in-place op)."""
        nid = tensor_ids.get(key)
        if nid is not None:
            return nid
        nid = new_id("t")
        tensor_ids[key] = nid
        if t is not None:
            name = names.name(t)
            requires_grad, is_leaf = t.requires_grad, t.is_leaf
            node = Node(id=nid, kind="tensor", name=name,
                        shape=list((t if value is None else value).shape),
                        dtype=dtype_name(t.dtype), device=device_name(t.device),
                        requires_grad=requires_grad, is_leaf=is_leaf, **kw)
            copy = copies.get(id(t)) if value is None else None
            v = t if value is None else value
            if copy is not None:  # a leaf or a constant, as it was at the backward
                node.value = live._put(copy, node, "_summary")
            elif v.numel() <= SMALL:  # small: its elements now (a constant's label needs them)
                node.value = (v if v.is_cpu else v.cpu()).tolist() if not v.is_complex() else plain(v)[0]
            elif v.layout != torch.strided:
                node.value, node.summary = plain(v)
            else:  # big: summarised when first read
                deferred.add(v.detach(), node, node, "_summary", version=live.versions.get(id(v)))
            if requires_grad and not is_leaf and t.retains_grad and _current(t, key):
                node.retains_grad = True
                live.retained[nid] = t
            if _current(t, key):
                node.hooks = live.hooks.get(id(t), [])
        else:
            node = Node(id=nid, kind="tensor", **kw)
        node.label = node.name or node.label
        g.nodes.append(node)
        live.by_id[nid] = node
        if isinstance(key[0], int):  # made by an autograd node: link it to its op
            producer = live.key_of.get(key[0])
            if producer is not None:
                g.edges.append(Edge(src=producer, dst=nid))
                made_by[nid] = producer
            else:
                pending.setdefault(key[0], []).append(nid)
        return nid

    # The roots: the tensors backward() starts from.
    queue: deque = deque()
    for r in roots:
        if r.grad_fn is None:
            rid = tensor_node(r, ("leaf", id(r)), output=True)
            if r.requires_grad:
                live.leaf_tensors[rid] = r
            continue
        call = calls.get((id(r.grad_fn), r.output_nr))
        rid = tensor_node(r, (id(r.grad_fn), r.output_nr), output=True,
                          op=type(r.grad_fn).__name__, label=call.op if call else "output")
        queue.append(r.grad_fn)
    g.root = g.nodes[0].id if g.nodes else None

    seen: set[int] = set()
    while queue:
        fn = queue.popleft()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        if len(g.nodes) > max_nodes:
            g.notes.append(note(GRAPH_CUT, n=max_nodes))
            break
        cls = type(fn).__name__
        op_id = new_id("op")
        live.key_of[id(fn)] = op_id
        call = fn_calls[id(fn)] if id(fn) in fn_calls else _any_call(calls, fn)
        attrs = live.attrs.get(id(fn))
        op = Node(id=op_id, kind="op", op=cls, forward_op=call.op if call else forward_name(cls),
                  label=cls, attrs=attrs if attrs is not None else saved_attrs(fn))
        if call is not None:
            op.file, op.line = call.file, call.line
            where = (call.file, call.line)
            op.source = sources.get(where) or sources.setdefault(where, source_line(*where))
            op.module = scopes.add(op_id, call)
        elif calls:  # an op inside a C++ function (lstm_cell, linear...): its caller's module
            op.module = scopes.inherit(op_id, discovered_by.get(id(fn)))
        g.nodes.append(op)
        live.by_id[op_id] = op
        for nid in pending.pop(id(fn), []):
            g.edges.append(Edge(src=op_id, dst=nid))
            made_by[nid] = op_id
        slots: list[str | None] = []
        for i, (nxt, nr) in enumerate(fn.next_functions):
            if nxt is None:
                slots.append(None)
                continue
            if type(nxt).__name__ == "AccumulateGrad":
                var = nxt.variable
                tid = tensor_node(var, ("leaf", id(var)))
                live.leaf_tensors[tid] = var
                if id(nxt) not in live.key_of:
                    live.key_of[id(nxt)] = tid
            else:
                key = (id(nxt), nr)
                c = calls.get(key)
                t = c.output if c is not None else named.get(key)
                tid = tensor_node(t, key, value=c.before if c is not None else None,
                                  op=type(nxt).__name__,
                                  label=c.op if c else forward_name(type(nxt).__name__))
                if t is None:
                    _fill_from_metadata(live.by_id[tid], nxt, nr)
                    live.by_id[tid].requires_grad = True
                queue.append(nxt)
                discovered_by.setdefault(id(nxt), op_id)
            slots.append(tid)
            g.edges.append(Edge(src=tid, dst=op_id))
        live.slots[id(fn)] = slots
        _add_constants(g, live, fn, op_id, call, slots, names, tensor_node, new_id)
    _mark_line_of_tensors(g, made_by)
    g.modules = scopes.finish(made_by)


def _any_call(calls: dict, fn: Any) -> OpCall | None:
    for nr in range(4):
        c = calls.get((id(fn), nr))
        if c is not None:
            return c
    return None


def _fill_from_metadata(node: Node, fn: Any, nr: int) -> None:
    """An unnamed intermediate from show(): only its shape is known."""
    node.note = "value not kept: use gradviz.record() to see intermediate values"
    try:
        meta = fn._input_metadata[nr] if hasattr(fn, "_input_metadata") else None
        if meta is not None:
            node.shape = list(meta.shape)
    except Exception:
        pass


def _add_constants(g: Graph, live: LiveGraph, fn: Any, op_id: str, call: OpCall | None,
                   slots: list, names: Names, tensor_node, new_id) -> None:
    """Inputs that do not require grad: the `3` in `w * 3`, a plain tensor x."""
    consts = call.constants if call is not None else live.operands.get(id(fn), ())
    for c in consts:
        if isinstance(c, torch.Tensor):
            cid = tensor_node(c, ("const", id(c)), constant=True,
                              label=live.const_labels.get(id(c), "const"))
            node = live.by_id[cid]
            if node.name is None and node.numel == 1 and node.value is not None:
                node.label = fmt_exact(node.value)
        else:
            cid = new_id("c")
            node = Node(id=cid, kind="tensor", label=fmt_exact(c), constant=True,
                        value=c, dtype=type(c).__name__)
            g.nodes.append(node)
            live.by_id[cid] = node
        g.edges.append(Edge(src=cid, dst=op_id))


def _saved_operands(fn: Any, edges: tuple, copies: dict) -> list[torch.Tensor]:
    """The operands of a binary op that need no grad (x in x * w), from its saved tensors."""
    out = []
    for i, (nxt, _) in enumerate(edges[:2]):
        if nxt is None:
            try:
                v = getattr(fn, ("_saved_self", "_saved_other")[i], None)
            except Exception:  # freed already
                continue
            if isinstance(v, torch.Tensor):
                out.append(v)
                if id(v) not in copies:
                    copies[id(v)] = _copy(v)
    return out


def _mark_line_of_tensors(g: Graph, op_of: dict[str, str]) -> None:
    """A tensor made by an op (op_of: tensor id -> op id) carries that op's source line."""
    by_id = {n.id: n for n in g.nodes}
    for n in g.nodes:
        if n.kind == "tensor" and n.id in op_of:
            op = by_id[op_of[n.id]]
            n.line, n.file, n.source, n.module = op.line, op.file, op.source, op.module
