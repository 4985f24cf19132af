"""An independent record of what PyTorch computed, to check gradviz against.

Written from public torch APIs only; nothing here comes from gradviz.capture, so a
bug there cannot hide itself by being copied. While a `Reference` is active:

- every op output made from Python is cloned when it is made (a TorchFunctionMode),
  keyed by its autograd node and output number: the value at op time, before any
  later in-place op; its tensor arguments are kept the same way;
- a TorchDispatchMode does the same for the tensors torch's C++ functions make
  inside themselves (the w.t() in F.linear, the log_softmax in F.cross_entropy),
  which no Python-level mode sees;
- every backward(), torch.autograd.backward() and torch.autograd.grad() call
  becomes a `Call`: the graph walked from its roots through next_functions, a
  post-hook on every node (what arrived and what left, in engine order), tensor
  hooks on leaves and retain_grad tensors (their total gradients), each leaf's
  value and .grad before and after, the saved tensors of each node, and each
  node's local Jacobian (the node called on unit gradients before the engine frees
  what it saved).

All hooks are removed when the call returns; nothing consumes random numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

# the functions that start a backward pass (taken before anything could wrap them)
_BACKWARDS = {torch.Tensor.backward: "backward", torch.autograd.backward: "backward",
              torch.autograd.grad: "grad"}
JAC_MAX_OUT = 64  # local Jacobians only for nodes with at most this many output elements
JAC_MAX_IN = 4096


def _clone(t: Any) -> Any:
    return t.detach().clone() if isinstance(t, torch.Tensor) else t


def _flat_args(args: Any) -> list:
    out = []
    for a in args:
        if isinstance(a, (list, tuple)):
            out.extend(_flat_args(a))
        else:
            out.append(a)
    return out


@dataclass
class Node:
    """One autograd node reached from the roots of a call."""

    fn: Any
    cls: str
    nexts: list[tuple[int | None, int]] = field(default_factory=list)  # (node index, output_nr)
    leaf: torch.Tensor | None = None  # AccumulateGrad: its variable
    saved: dict[str, Any] = field(default_factory=dict)  # what it saved, cloned before the backward
    jac: list[torch.Tensor | None] | None = None  # per input edge: (out elements, in elements)


@dataclass
class Hooked:
    """One node run by the engine: what left toward each input edge, what arrived."""

    node: int
    cls: str
    grad_inputs: list[torch.Tensor | None]
    grad_outputs: list[torch.Tensor | None]


@dataclass
class Call:
    """One backward()/autograd.grad() call."""

    kind: str  # "backward" | "grad"
    roots: list[torch.Tensor]
    nodes: list[Node] = field(default_factory=list)
    steps: list[Hooked] = field(default_factory=list)
    leaf_value: dict[int, torch.Tensor] = field(default_factory=dict)  # node index -> value
    grad_before: dict[int, torch.Tensor | None] = field(default_factory=dict)
    grad_after: dict[int, torch.Tensor | None] = field(default_factory=dict)
    total: dict[int, torch.Tensor] = field(default_factory=dict)  # id(tensor) -> its total grad
    retained: list[torch.Tensor] = field(default_factory=list)  # retain_grad tensors in the graph
    retained_after: dict[int, torch.Tensor | None] = field(default_factory=dict)  # id -> .grad
    returned: tuple | None = None  # autograd.grad's result
    inputs: list[torch.Tensor] = field(default_factory=list)  # autograd.grad's inputs

    def index(self, fn: Any) -> int | None:
        for k, n in enumerate(self.nodes):
            if n.fn is fn:
                return k
        return None


class _Internals(TorchDispatchMode):
    """Values of tensors made inside torch's C++ functions, at the time they were made.

    The autograd layer sets an output's grad_fn after the op returns from dispatch, so an
    entry's grad_fn is read when the next op is dispatched: before any later in-place op
    (matmul's squeeze_ of the mm result) can give the same tensor another grad_fn.
    """

    def __init__(self) -> None:
        super().__init__()
        self.made: list[list] = []  # [tensor, value, tensor args, its grad_fn and output_nr once read]
        self._unread: list[list] = []

    def settle(self) -> None:
        for entry in self._unread:
            entry[3] = entry[0].grad_fn
            entry[4] = entry[0].output_nr  # (a later in-place op gives it another node, output 0)
        self._unread = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.settle()
        out = func(*args, **(kwargs or {}))
        outs = out if isinstance(out, (tuple, list)) else (out,)
        ins = [a for a in _flat_args(list(args) + list((kwargs or {}).values()))
               if isinstance(a, torch.Tensor)]
        for o in outs:
            if isinstance(o, torch.Tensor) and o.is_floating_point():
                entry = [o, o.detach().clone(), ins, None, 0]
                self.made.append(entry)
                self._unread.append(entry)
        return out


class Reference(TorchFunctionMode):
    """`with Reference() as ref:` records the truth of the code inside (see the module doc)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[int, int], torch.Tensor] = {}  # (id(grad_fn), nr) -> value at op time
        self.args: dict[int, list] = {}  # id(grad_fn) -> the call's arguments (tensors cloned)
        self.arg_grad: dict[int, list[bool]] = {}  # id(grad_fn) -> requires_grad per argument
        self.keep: list = []  # the grad_fns and tensors above, kept alive so ids stay unique
        self.outputs: list[torch.Tensor] = []  # every op output (for retain_grad)
        self.calls: list[Call] = []
        self._internals = _Internals()

    def __enter__(self):
        super().__enter__()
        self._internals.__enter__()
        return self

    def __exit__(self, *exc):
        self._internals.__exit__(*exc)
        return super().__exit__(*exc)

    def internal_value(self, fn: Any, nr: int) -> torch.Tensor | None:
        """The value of output nr of fn when it was made, from the dispatch-level log."""
        self._internals.settle()
        for _, v, _, made_by, made_nr in self._internals.made:
            if made_by is fn and made_nr == nr:
                return v  # the first: a no_grad in-place op later keeps the grad_fn
        return None

    def internal_args(self, fn: Any) -> list[list[torch.Tensor]]:
        """The tensor arguments of each aten op that made an output of fn."""
        self._internals.settle()
        return [ins for _, _, ins, made_by, _ in self._internals.made if made_by is fn]

    def consumers(self, t: torch.Tensor) -> list:
        """The autograd nodes whose forward op read t, or a view of its memory (a constant
        passed into F.linear is viewed before the matmul reads it)."""
        key = t.untyped_storage().data_ptr()
        out = []
        self._internals.settle()
        for _, _, ins, fn, _ in self._internals.made:
            if fn is not None and fn not in out and any(
                    i.layout == torch.strided and i.untyped_storage().data_ptr() == key for i in ins):
                out.append(fn)
        return out

    def value(self, fn: Any, nr: int) -> torch.Tensor | None:
        v = self.values.get((id(fn), nr))
        return v if v is not None else self.internal_value(fn, nr)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _BACKWARDS:
            return self._backward(func, _BACKWARDS[func], args, kwargs)
        out = func(*args, **kwargs)
        if not torch.is_grad_enabled():
            return out  # (an in-place op under no_grad keeps the old grad_fn: not its maker)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        for o in outs:
            if isinstance(o, torch.Tensor) and o.grad_fn is not None and \
                    (id(o.grad_fn), o.output_nr) not in self.values:
                fn = o.grad_fn
                self.values[(id(fn), o.output_nr)] = o.detach().clone()
                flat = _flat_args(list(args) + list(kwargs.values()))
                self.args[id(fn)] = [_clone(a) for a in flat]
                self.arg_grad[id(fn)] = [isinstance(a, torch.Tensor) and a.requires_grad
                                         for a in flat if isinstance(a, (torch.Tensor, int, float))]
                self.keep.extend((fn, o))
                self.outputs.append(o)
        return out

    # one backward call ------------------------------------------------------------------
    def _backward(self, func, name: str, args: tuple, kwargs: dict):
        if name == "grad":
            roots = args[0] if args else kwargs["outputs"]
        elif func is torch.Tensor.backward:
            roots = args[0]
        else:
            roots = args[0] if args else kwargs["tensors"]
        roots = [roots] if isinstance(roots, torch.Tensor) else list(roots)
        call = Call(kind="grad" if name == "grad" else "backward", roots=roots)
        if name == "grad":
            inputs = args[1] if len(args) > 1 else kwargs["inputs"]
            inputs = inputs.values() if isinstance(inputs, dict) else inputs
            call.inputs = [inputs] if isinstance(inputs, torch.Tensor) else list(inputs)
        self._internals.__exit__(None, None, None)  # the backward makes no forward values
        try:
            self._walk(call)
            handles = self._hook(call)
            try:
                if _creates_graph(func, args, kwargs):  # ... unless it makes a graph of its own
                    with self._internals:
                        result = func(*args, **kwargs)
                else:
                    result = func(*args, **kwargs)
            finally:
                for h in handles:
                    h.remove()
        finally:
            self._internals.__enter__()
        for k, n in enumerate(call.nodes):
            if n.leaf is not None:
                call.grad_after[k] = _clone(n.leaf.grad)
        call.retained_after = {id(t): _clone(t.grad) for t in call.retained}
        if name == "grad":
            result_list = result.values() if isinstance(result, dict) else result
            call.returned = tuple(_clone(r) for r in result_list)
            for r in result_list:  # with create_graph=True they are op outputs of a later graph
                if isinstance(r, torch.Tensor) and r.grad_fn is not None:
                    self.values.setdefault((id(r.grad_fn), r.output_nr), r.detach().clone())
                    self.keep.append(r)
        self.calls.append(call)
        return result

    def _walk(self, call: Call) -> None:
        """The nodes reachable from the roots, breadth first, root's node first."""
        queue = [r.grad_fn for r in call.roots if r.grad_fn is not None]
        seen: dict[int, int] = {}
        for fn in queue:  # (grows while walked)
            if id(fn) in seen:
                continue
            seen[id(fn)] = len(call.nodes)
            node = Node(fn=fn, cls=type(fn).__name__)
            if node.cls == "AccumulateGrad":
                node.leaf = fn.variable
            call.nodes.append(node)
            queue.extend(nxt for nxt, _ in fn.next_functions if nxt is not None)
        with torch.no_grad():
            for k, node in enumerate(call.nodes):
                node.nexts = [(seen[id(nxt)] if nxt is not None else None, nr)
                              for nxt, nr in node.fn.next_functions]
                node.saved = _saved(node.fn)
                if node.leaf is not None:
                    call.leaf_value[k] = node.leaf.detach().clone()
                    call.grad_before[k] = _clone(node.leaf.grad)
                else:
                    node.jac = _jacobian(node.fn)
        retained = [t for t in self.outputs + call.roots
                    if t.retains_grad and t.grad_fn is not None and id(t.grad_fn) in seen]
        call.retained = list({id(t): t for t in retained}.values())

    def _hook(self, call: Call) -> list:
        handles = []
        arrived: dict[int, list] = {}
        for k, node in enumerate(call.nodes):
            handles.append(node.fn.register_prehook(_pre_hook(arrived, k)))
            handles.append(node.fn.register_hook(_post_hook(call, k, node.cls, arrived)))
        tracked = [n.leaf for n in call.nodes if n.leaf is not None] + call.retained
        for t in tracked:
            handles.append(t.register_hook(_total_hook(call, id(t))))
        return handles


def _creates_graph(func, args: tuple, kwargs: dict) -> bool:
    """create_graph=True: the backward's own ops make nodes of a new graph."""
    import inspect

    try:
        return bool(inspect.signature(func).bind(*args, **kwargs).arguments.get("create_graph"))
    except (TypeError, ValueError):
        return False


def _pre_hook(arrived: dict, k: int):
    """What arrived at node k, read before it runs (AccumulateGrad may take the buffer as
    .grad, and a post-accumulate hook may then change it in place)."""
    def hook(grad_outputs):
        arrived[k] = [_clone(g) for g in grad_outputs]
    return hook


def _post_hook(call: Call, k: int, cls: str, arrived: dict):
    def hook(grad_inputs, grad_outputs):
        call.steps.append(Hooked(k, cls, [_clone(g) for g in grad_inputs], arrived.pop(k)))
    return hook


def _total_hook(call: Call, key: int):
    def hook(grad):
        call.total[key] = _clone(grad)
    return hook


def _saved(fn: Any) -> dict[str, Any]:
    """What the node saved for its backward (tensors cloned, numbers as they are)."""
    out = {}
    for a in dir(fn):
        if not a.startswith("_saved_"):
            continue
        try:
            v = getattr(fn, a)
        except Exception:  # freed, or not readable from Python
            continue
        if isinstance(v, torch.Tensor):
            out[a[7:]] = v.detach().clone()
        elif isinstance(v, (int, float, bool)) or (isinstance(v, (list, tuple)) and all(
                isinstance(x, (int, float)) for x in v)):
            out[a[7:]] = v
    return out


def _jacobian(fn: Any) -> list[torch.Tensor | None] | None:
    """The node's local Jacobian: the node called once per unit gradient of its outputs.

    jac[i][o, j] = ∂(output element o, outputs flattened one after another)/∂(input i, element j).
    None when the node is too big, is Python code, or cannot be called outside the engine.
    """
    try:
        metas = fn._input_metadata  # the forward outputs' shapes and dtypes
        shapes = [tuple(m.shape) for m in metas]
        dtypes = [m.dtype for m in metas]
    except Exception:
        return None
    sizes = [int(torch.Size(s).numel()) for s in shapes]
    if not sizes or sum(sizes) > JAC_MAX_OUT or type(fn).__name__ == "BackwardCFunction":
        return None
    rows: list[tuple] = []
    try:
        for q, (shape, n) in enumerate(zip(shapes, sizes)):
            for o in range(n):
                grads = [torch.zeros(s, dtype=d) for s, d in zip(shapes, dtypes)]
                grads[q].view(-1)[o] = 1.0
                res = fn(*grads)
                rows.append((res,) if res is None or isinstance(res, torch.Tensor) else tuple(res))
    except Exception:
        return None
    out: list[torch.Tensor | None] = []
    for i, (nxt, nr) in enumerate(fn.next_functions):
        col = [r[i] for r in rows]
        if nxt is None or any(c is None for c in col) or col[0].numel() > JAC_MAX_IN:
            out.append(None)
            continue
        # the engine sums a gradient down to its input's shape (an expanded bias) before
        # anyone sees it: so does this
        shape = nxt.variable.shape if type(nxt).__name__ == "AccumulateGrad" else \
            nxt._input_metadata[nr].shape
        col = [c.detach().to_dense() if c.layout != torch.strided else c.detach() for c in col]
        out.append(torch.stack([c.sum_to_size(shape).reshape(-1).double() for c in col]))
    return out
