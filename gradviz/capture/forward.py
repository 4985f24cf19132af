"""Log each torch operation as it runs: op name, source line, inputs, outputs.

A TorchFunctionMode sees every torch function and Tensor method called from
Python (operators included), so `w * 3` arrives as `mul(w, 3)`. Module forward
hooks give the nn.Module scope each op ran in.
"""
from __future__ import annotations

import linecache
import sys
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch.overrides import TorchFunctionMode

from gradviz.capture.computed import maker
from gradviz.capture.internals import RESHAPES, InternalOps, functorch_active, storage_key
from gradviz.capture.values import SMALL
from gradviz.opnames import forward_name
from gradviz.user_code import is_internal, user_frame

# Methods that do not compute anything worth drawing.
_SKIP = {
    "backward", "size", "dim", "numel", "item", "tolist", "__repr__", "__format__",
    "__str__", "__len__", "__bool__", "__index__", "__getstate__", "__setstate__",
    "__reduce_ex__", "__deepcopy__", "data_ptr", "is_floating_point", "requires_grad_",
    "retain_grad", "register_hook", "stride", "element_size", "__hash__",
}


_OP_NAMES: dict[Any, str] = {}
# torch function -> does it make autograd nodes inside itself? Learned on its first call with a
# tensor that requires grad (see capture/internals.py), once per process.
_COMPOSITE: dict[Any, bool] = {}


def op_name(func: Callable) -> str:
    """The forward op's name: mul for Tensor.__mul__ and torch.mul, index for __getitem__."""
    try:
        return _OP_NAMES[func]
    except (KeyError, TypeError):  # (TypeError: not hashable)
        pass
    name = _op_name(func)
    try:
        _OP_NAMES[func] = name
    except TypeError:
        pass
    return name


def _op_name(func: Callable) -> str:
    name = getattr(func, "__name__", None) or str(func)
    if name.startswith("__") and name.endswith("__"):
        name = name[2:-2]
        if name.startswith(("r", "i")) and name[1:] in {
            "add", "sub", "mul", "truediv", "floordiv", "pow", "matmul", "div", "mod"
        }:
            name = name[1:] if name.startswith("i") else name
    return {"truediv": "div", "getitem": "index", "setitem": "index_put"}.get(name, name)


@dataclass(slots=True)
class OpCall:
    """One logged forward op whose output takes part in autograd."""

    op: str
    output: torch.Tensor
    constants: list[Any] = field(default_factory=list)  # scalars and no-grad tensors
    file: str | None = None
    line: int | None = None
    scope: tuple = ()  # the nn.Modules it ran inside, outermost first
    calls: tuple = ()  # per entry of scope, a number for that module call (tells calls apart)
    before: torch.Tensor | None = None  # its value before an in-place op changed it
    scalar_operands: bool = True  # a number or a 0-d tensor among its arguments (saved_attrs)
    nbytes: int = 0  # the output's size, counted against the log's byte budget
    transposed: tuple | None = None  # (next_functions index, weight): linear's hidden w.t() node


LOG_BYTES = 128 * 1024 * 1024  # op outputs the log holds at most (the oldest go first)


def take_out(mode: TorchFunctionMode) -> bool:
    """Take `mode` out of torch's function-mode stack wherever it sits; the modes above it
    (the user's own) go back as they were. False when it was not on the stack."""
    from torch.overrides import _get_current_function_mode_stack, _pop_mode, _push_mode

    if mode not in _get_current_function_mode_stack():
        return False
    above = []
    while True:
        top = _pop_mode()
        if top is mode:
            break
        above.append(top)
    for top in reversed(above):
        _push_mode(top)
    return True


class ForwardLog(TorchFunctionMode):
    """Keeps an OpCall for each tensor made while active that takes part in autograd.

    Keyed by id(output tensor), so the forward never asks a tensor for its grad_fn:
    that makes a Python object for the autograd node, which the node keeps for life,
    and a chain of 50,000 such nodes is then freed recursively (a segfault on `del h`).
    The nodes are looked up when a graph is drawn (by_node). An op whose output changes
    in place later, and the nodes made inside C++ functions, are keyed by
    (id(grad_fn), output_nr) at once. The outputs held are bounded by bytes (LOG_BYTES):
    past it the oldest go, so a forward that never reaches backward() cannot hold
    every output it made.
    """

    def __init__(self, on_backward: Callable | None = None, max_calls: int = 200_000,
                 max_bytes: int = LOG_BYTES):
        super().__init__()
        self.calls: dict[Any, OpCall] = {}
        self.max_bytes = max_bytes
        self.nbytes = 0
        self.dropped = 0  # ops let go of because of the byte budget (since the last forget)
        self.frames: dict[Any, Any] = {}  # code -> the latest user function frame that ran ops
        self.on_backward = on_backward
        self.max_calls = max_calls
        self.scope: list[torch.nn.Module] = []
        self.scope_calls: list[int] = []  # parallel to scope: one number per module call
        self._module_calls = 0
        self._frames: list = []  # parallel to scope: see _enter_module
        self._scope_t: tuple = ()  # scope and scope_calls as tuples, for each op
        self._calls_t: tuple = ()
        self._hooks: list = []
        self.active = False
        self._composite = _COMPOSITE
        # id(tensor) -> (weakref to it, op, operands): how a no-grad tensor was computed (x ** 2),
        # so a constant in a graph can say what it is
        self.made: dict[int, tuple] = {}

    # module scopes -----------------------------------------------------------
    def __enter__(self):
        mm = torch.nn.modules.module
        self._hooks = [
            mm.register_module_forward_pre_hook(self._enter_module),
            mm.register_module_forward_hook(self._leave_module, always_call=True),
            _FunctionApplyLog(self),
        ]
        self.active = True
        return super().__enter__()

    def __exit__(self, *exc):
        for h in self._hooks:
            h.remove()
        self._hooks = []
        self._clear_scope()
        self.active = False
        return super().__exit__(*exc)

    # switching on and off between iterations ------------------------------------
    def start(self) -> None:
        """Start logging (the mode goes on top of the mode stack)."""
        if not self.active:
            self.__enter__()

    def stop(self) -> bool:
        """Stop logging, when this mode is the innermost one (else keep it: False)."""
        if not self.active:
            return True
        from torch.overrides import _get_current_function_mode

        if _get_current_function_mode() is not self:
            return False  # the user's code pushed a mode above ours: popping would pop theirs
        self.__exit__(None, None, None)
        return True

    def remove(self) -> None:
        """Stop logging for good, taking this mode out of the stack wherever it sits."""
        if self.stop():
            return
        take_out(self)  # (not on the stack any more: the hooks still go)
        for h in self._hooks:
            h.remove()
        self._hooks = []
        self._clear_scope()
        self.active = False

    def _clear_scope(self) -> None:
        self.scope.clear()
        self.scope_calls.clear()
        self._frames.clear()
        self._scope_t = self._calls_t = ()

    def _enter_module(self, module, args):
        # The user's frame for ops run by torch's own code inside this module: the one
        # that called the outermost of torch's modules around it, found once per call
        # instead of once per op (ops in the user's own forward code find their line).
        frame = None
        if _torch_class(type(module)):
            scope = self.scope
            if scope and self._frames[-1] is not None and _torch_class(type(scope[-1])):
                frame = self._frames[-1]
            else:
                frame = user_frame(2)
        self.scope.append(module)
        self._module_calls += 1
        self.scope_calls.append(self._module_calls)
        self._frames.append(frame)
        self._scope_t = tuple(self.scope)
        self._calls_t = tuple(self.scope_calls)

    def _leave_module(self, module, args, output):
        if self.scope and self.scope[-1] is module:
            self.scope.pop()
            self.scope_calls.pop()
            self._frames.pop()
            self._scope_t = tuple(self.scope)
            self._calls_t = tuple(self.scope_calls)

    # ops -----------------------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = op_name(func)
        if name == "backward" and self.on_backward is not None:
            return self.on_backward(func, args, kwargs)
        if (name.endswith("_") or name == "index_put") and args and isinstance(args[0], torch.Tensor):
            self._keep_before(args[0])
        if name in _SKIP or not torch.is_grad_enabled():
            return func(*args, **kwargs)
        inside = None
        kind = (func, _dims(args))  # (matmul of 2-D tensors makes one node, of 3-D several)
        try:
            learn = self._composite.get(kind, True)
        except TypeError:  # (not hashable)
            learn = False
        if learn is not True and learn and not args[1].requires_grad:
            learn = True  # (a linear with a frozen weight has no w.t() node: learn again)
        if learn is True and _needs_grad(args) and not functorch_active():
            inside = InternalOps()
            with inside:
                out = func(*args, **kwargs)
        else:
            out = func(*args, **kwargs)
        if len(self.calls) >= self.max_calls:
            return out
        site = None
        if isinstance(out, torch.Tensor):
            if out.requires_grad and not out.is_leaf:
                site = self._log(name, out, args, kwargs, site)
            elif not out.requires_grad and 0 < len(args) <= 4 and len(self.made) < self.max_calls:
                made = self.made
                self.made[id(out)] = (weakref.ref(out), name, tuple(
                    (weakref.ref(a), maker(made, a)) if isinstance(a, torch.Tensor) else a
                    for a in args))
        elif isinstance(out, tuple | list):
            for o in out:
                if isinstance(o, torch.Tensor) and o.requires_grad and not o.is_leaf:
                    site = self._log(name, o, args, kwargs, site)
        if inside is not None:
            self._composite[kind] = self._log_inside(inside, out, args, site)
        elif learn and learn is not True and site is not None:
            self._linear(learn, out, args)
        if self.nbytes > self.max_bytes:
            self._shed()
        return out

    def log_function(self, cls: type, out: Any, args: tuple) -> None:
        """A custom autograd.Function's outputs (Function.apply is no torch function: the
        mode never sees it, and the ops of its forward run without grad)."""
        if not torch.is_grad_enabled() or len(self.calls) >= self.max_calls:
            return
        outs = out if isinstance(out, tuple | list) else (out,)
        site = None
        for o in outs:
            if isinstance(o, torch.Tensor) and o.requires_grad and o.grad_fn is not None:
                site = self._log(forward_name(type(o.grad_fn).__name__), o, args, {}, site)

    def _site(self) -> tuple[str | None, int | None]:
        """(file, line) of whoever called the torch function (two frames up from here)."""
        frame = sys._getframe(3)
        if is_internal(frame.f_code.co_filename):
            cached = self._frames[-1] if self._frames else None
            frame = cached if cached is not None else user_frame(4)
        if frame is None:
            return (None, None)
        frames = self.frames
        if frame.f_code.co_name != "<module>" and (frame.f_code in frames or len(frames) < 16):
            frames[frame.f_code] = frame  # its locals name what it made (see recorder._names)
        return (frame.f_code.co_filename, frame.f_lineno)

    def _log(self, name: str, out: torch.Tensor, args, kwargs, site) -> tuple:
        calls = self.calls
        key = id(out)
        if key in calls:
            return site  # an op that handed back its input (dropout(p=0), .float() of a float): keep its maker
        if site is None:
            site = self._site()
        scalars = name in _ARITH
        consts = [a for a in args if _is_constant(a, scalars)]
        nbytes = _nbytes(out)
        self.nbytes += nbytes
        calls[key] = OpCall(name, out, consts, site[0], site[1], self._scope_t, self._calls_t,
                            None, _has_scalar(args) or (bool(kwargs) and _has_scalar(kwargs.values())),
                            nbytes)
        return site

    def _shed(self) -> None:
        """Over the byte budget: let go of the oldest ops until half of it is held."""
        calls = self.calls
        while calls and self.nbytes > self.max_bytes // 2:
            call = calls.pop(next(iter(calls)))
            self.nbytes -= call.nbytes
            self.dropped += 1

    def by_node(self) -> dict[tuple[int, int], OpCall]:
        """(id(grad_fn), output_nr) -> OpCall: the log as a graph walk reads it."""
        out: dict[tuple[int, int], OpCall] = {}
        fixed = []
        for key, call in self.calls.items():
            if type(key) is tuple:
                fixed.append((key, call))
                continue
            t = call.output
            fn = t.grad_fn
            if fn is not None:
                out.setdefault((id(fn), t.output_nr), call)
                if call.transposed is not None:
                    self._transposed_node(out, fn, call)
        for key, call in fixed:  # (an older version or an internal node: exactly this node)
            out[key] = call
        return out

    @staticmethod
    def _transposed_node(out: dict, fn: Any, call: OpCall) -> None:
        """linear's w.t() node, logged as the dispatch mode would have logged it."""
        index, w = call.transposed
        nxt = fn.next_functions
        node = nxt[index][0] if index < len(nxt) else None
        if node is None or type(node).__name__ != "TBackward0":
            return
        t = w.detach().t()
        value = t.clone() if t.numel() <= SMALL else None
        out.setdefault((id(node), 0), OpCall("t", t, [], call.file, call.line, call.scope,
                                             call.calls, value, True, 0))

    def _log_inside(self, inside: InternalOps, out: Any, args: tuple, site) -> bool | tuple:
        """The nodes a call made inside itself, logged like ops of their own, each with the
        constants it read itself (label smoothing's target goes into the nll_loss, not the add
        after it). Returns whether there were any (the function is composite)."""
        made = inside.nodes()
        outs = [out] if isinstance(out, torch.Tensor) else [
            o for o in out if isinstance(o, torch.Tensor)] if isinstance(out, tuple | list) else []
        own = {(id(o.grad_fn), o.output_nr): o for o in outs
               if o.requires_grad and not o.is_leaf}
        composite = any((id(m.grad_fn), m.nr) not in own for m in made)
        if not composite:
            return False
        linear = _linear_shape(made, own, out, args)
        users = {}
        for a in _flat_tensors(args):
            if not a.requires_grad:
                k = storage_key(a)
                if k is not None:
                    users.setdefault(k, a)
        if site is None:
            site = self._site()
        calls = self.calls
        for m in made:
            key = (id(m.grad_fn), m.nr)
            consts = []
            for a in m.args:
                c = users.get(storage_key(a))
                if c is not None and not any(c is x for x in consts):
                    consts.append(c)
            if key not in own:
                if key not in calls:
                    nbytes = _nbytes(m.tensor)
                    self.nbytes += nbytes
                    calls[key] = OpCall(m.op, m.tensor, consts, site[0], site[1], self._scope_t,
                                        self._calls_t, m.value, True, nbytes)
                continue
            call = calls.get(id(own[key]))
            if call is not None:  # the call's own output: its constants are what its op read
                call.constants = [c for c in call.constants if not isinstance(c, torch.Tensor)]
                call.constants += consts
                cls = type(m.grad_fn).__name__
                if cls in RESHAPES or (call.op in _NAMED_BY_PARTS and cls != "AddmmBackward0"):
                    call.op = m.op
        return linear or True

    def _linear(self, learned: tuple, out: torch.Tensor, args: tuple) -> None:
        """A linear call run without the dispatch mode (see _linear_shape): its op name, the
        constants its addmm or mm read, in that op's order, and its w.t() node, made when
        the graph is drawn (by_node) as the mode would have logged it."""
        call = self.calls.get(id(out))
        if call is None or call.output is not out:
            return
        op, order, index = learned
        call.op = op
        consts: list = []
        for p in order:
            a = args[p] if p < len(args) else None
            if isinstance(a, torch.Tensor) and not a.requires_grad and not any(a is c for c in consts):
                consts.append(a)
        call.constants = consts
        call.transposed = (index, args[1])

    def made_inside(self, inside: InternalOps, site: tuple) -> None:
        """Log the nodes a create_graph backward made (the first gradient's graph)."""
        for m in inside.nodes():
            key = (id(m.grad_fn), m.nr)
            if key not in self.calls:
                nbytes = _nbytes(m.tensor)
                self.nbytes += nbytes
                self.calls[key] = OpCall(m.op, m.tensor, [], site[0], site[1], (), (), m.value,
                                         True, nbytes)

    def _keep_before(self, t: torch.Tensor) -> None:
        """An in-place op is about to change t: the graph shows t as it was when it was made.

        Its entry is keyed by its autograd node from now on: the op changes t's node."""
        call = self.calls.pop(id(t), None)
        if call is None:
            return
        fn = t.grad_fn
        if fn is not None:
            self.calls[(id(fn), t.output_nr)] = call
        if call.before is None:
            call.before = t.detach().clone()

    @contextmanager
    def internals(self, on: bool, frame: Any = None) -> Iterator[None]:
        """While on: the nodes made inside (a create_graph backward's) are logged with values."""
        if not on or functorch_active():
            yield
            return
        inside = InternalOps()
        with inside:
            yield
        site = (frame.f_code.co_filename, frame.f_lineno) if frame is not None else (None, None)
        self.made_inside(inside, site)

    def forget(self) -> None:
        """Drop the log after a backward: those graphs are spent (a graph may keep the old dict)."""
        if self.calls:
            self.calls = {}
            self.nbytes = self.dropped = 0
        self.frames = {}
        if self.made:
            self.made = {}


# Functions whose output node is one of several they make, named after its own op unless
# it is the addmm that does all of x@Wᵀ+b (a bias-free linear's mm is no "x@Wᵀ+b").
_NAMED_BY_PARTS = {"linear", "matmul"}


class _FunctionApplyLog:
    """torch.autograd.Function.apply, wrapped while a ForwardLog is on: its outputs are logged
    (with their values and source line) like those of any op. remove() puts it back."""

    def __init__(self, log: ForwardLog) -> None:
        self.original = torch.autograd.Function.__dict__["apply"]
        func = self.original.__func__
        thread = threading.get_ident()  # (the mode is the thread's own; the class is everyone's)

        def apply(cls, *args, **kwargs):
            out = func(cls, *args, **kwargs)
            if log.active and threading.get_ident() == thread:
                log.log_function(cls, out, args)
            return out

        apply.__wrapped__ = func
        torch.autograd.Function.apply = classmethod(apply)

    def remove(self) -> None:
        torch.autograd.Function.apply = self.original


# linear's own node -> the order its op reads linear's (x, w, b): addmm(b, x, w.t()), mm(x, w.t())
_LINEAR_READS = {"AddmmBackward0": ("linear", (2, 0, 1)), "MmBackward0": ("mm", (0, 1))}


def _linear_shape(made: list, own: dict, out: Any, args: tuple) -> tuple | None:
    """(op name, argument order, index of w.t() in next_functions) when a call made exactly
    what F.linear on a 2-D input makes: its addmm or mm, and w.t() of its weight. The w.t()
    node can be rebuilt from the weight when the graph is drawn, so later calls of the same
    kind skip the dispatch mode (it sends every aten op through Python)."""
    if not isinstance(out, torch.Tensor) or out.grad_fn is None or len(made) != 2 or len(own) != 1:
        return None
    if len(args) < 2 or not isinstance(args[1], torch.Tensor) or args[1].dim() != 2:
        return None
    reads = _LINEAR_READS.get(type(out.grad_fn).__name__)
    hidden = [m for m in made if (id(m.grad_fn), m.nr) not in own]
    if reads is None or len(hidden) != 1 or type(hidden[0].grad_fn).__name__ != "TBackward0":
        return None
    index = next((i for i, (f, _) in enumerate(out.grad_fn.next_functions)
                  if f is hidden[0].grad_fn), None)
    if index is None or [type(f).__name__ for f, _ in hidden[0].grad_fn.next_functions] != [
            "AccumulateGrad"] or hidden[0].grad_fn.next_functions[0][0].variable is not args[1]:
        return None
    return reads[0], reads[1], index


def _nbytes(t: torch.Tensor) -> int:
    try:
        return t.numel() * t.element_size()
    except RuntimeError:  # (no storage)
        return 0


def _dims(args: tuple) -> tuple:
    """The number of dimensions of each tensor argument (of the first three arguments)."""
    return tuple(a.dim() if isinstance(a, torch.Tensor) else -1 for a in args[:3])


def _needs_grad(args: tuple) -> bool:
    """A tensor argument that requires grad (only then can a call make autograd nodes)."""
    for a in args:
        if isinstance(a, torch.Tensor):
            if a.requires_grad:
                return True
        elif isinstance(a, list | tuple) and a and _needs_grad(a):
            return True
    return False


def _flat_tensors(args: Any) -> list[torch.Tensor]:
    out = []
    for a in args:
        if isinstance(a, torch.Tensor):
            out.append(a)
        elif isinstance(a, list | tuple):
            out.extend(_flat_tensors(a))
    return out


_ARITH = {"add", "sub", "rsub", "mul", "div", "true_divide", "multiply", "subtract", "where",
          "add_", "sub_", "mul_", "div_"}


_TORCH_CLASSES: dict[type, bool] = {}


def _torch_class(cls: type) -> bool:
    """Is this module's forward torch's own code (nn.Linear, nn.Sequential...)?"""
    hit = _TORCH_CLASSES.get(cls)
    if hit is None:
        code = getattr(getattr(cls, "forward", None), "__code__", None)
        hit = _TORCH_CLASSES[cls] = code is not None and is_internal(code.co_filename)
    return hit


def _has_scalar(values: Any) -> bool:
    """A Python number or a 0-d tensor among values (in a list or tuple too)."""
    for a in values:
        if isinstance(a, int | float | complex) or (isinstance(a, torch.Tensor) and a.dim() == 0):
            return True
        if isinstance(a, list | tuple) and a and _has_scalar(a):
            return True
    return False


def _is_constant(a: Any, scalars: bool) -> bool:
    if isinstance(a, bool):
        return False
    if isinstance(a, int | float):
        return scalars
    return isinstance(a, torch.Tensor) and not a.requires_grad


def source_line(file: str | None, line: int | None) -> str | None:
    if not file or not line:
        return None
    text = linecache.getline(file, line).strip()
    return text or None


__all__ = ["ForwardLog", "OpCall", "op_name", "source_line", "is_internal"]
