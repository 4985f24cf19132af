"""Forward-mode AD (torch.autograd.forward_ad): every op that carried a tangent, in order.

Reverse mode is recorded from the grad_fn chain when backward() runs. Forward mode has
no chain to read afterwards: each op computes its tangent as it runs, next to its value.
So while a `fwAD.dual_level()` is open inside record(), a TorchFunctionMode watches the
ops, and for every output that has a tangent it keeps the value, the tangent and the
tangents its inputs carried. The mode is pushed only when a dual level opens, so code
that never uses forward mode pays nothing.
"""
from __future__ import annotations

import functools
from typing import Any

import torch
import torch.autograd.forward_ad as fwAD
from torch.overrides import TorchFunctionMode

from gradviz.capture.forward import op_name, source_line, take_out
from gradviz.capture.values import plain
from gradviz.names import Names, namespaces_of
from gradviz.recording import TangentStep
from gradviz.user_code import user_frame

MAX_STEPS = 2000  # forward-mode ops kept per recording (a teaching pass has tens)
_QUIET = {"unpack_dual", "_unpack_dual", "dim", "size", "numel", "is_floating_point", "__get__",
          "tolist", "item", "shape", "dtype", "device", "requires_grad", "_fw_primal"}


def _tangent(x: Any) -> torch.Tensor | None:
    if not isinstance(x, torch.Tensor):
        return None
    try:
        return fwAD.unpack_dual(x).tangent
    except Exception:  # not a plain tensor (a subclass that refuses), no dual level
        return None


def _tensors(args: Any, kwargs: dict) -> list[torch.Tensor]:
    out = []
    for a in (*args, *kwargs.values()):
        if isinstance(a, torch.Tensor):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(x for x in a if isinstance(x, torch.Tensor))
    return out


def _outputs(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [o for o in out if isinstance(o, torch.Tensor)]
    return []


def _plain_key(key: Any) -> str | None:
    """`0`, `1, 2`, `:, 0` for an index made of ints and plain slices; else None."""
    parts = key if isinstance(key, tuple) else (key,)
    out = []
    for k in parts:
        if isinstance(k, int) and not isinstance(k, bool):
            out.append(str(k))
        elif isinstance(k, slice) and k == slice(None):
            out.append(":")
        else:
            return None
    return ", ".join(out)


class TangentLog(TorchFunctionMode):
    """The ops that carried a tangent while active, as TangentSteps (named when finished)."""

    def __init__(self, max_steps: int = MAX_STEPS):
        super().__init__()
        self.steps: list[TangentStep] = []
        self.max_steps = max_steps
        self.dropped = 0
        self._made: dict[int, tuple[torch.Tensor, int]] = {}  # id(output) -> (output, step)
        self._frames: dict[int, Any] = {}
        self._keys: dict[int, str] = {}  # step -> the index of an indexing op, as written
        self._named: dict[int, str] = {}  # step -> the name its output got where it was made
        self._pending: list[tuple[torch.Tensor, int, Any]] = []  # (output, step, its frame)
        self.active = False

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self._pending:
            self._name_pending()
        out = func(*args, **kwargs)
        name = op_name(func)
        if name in _QUIET:
            return out
        try:
            self._note(name, args, kwargs, out)
        except Exception:  # never break the learner's forward pass
            pass
        return out

    def _note(self, name: str, args: Any, kwargs: dict, out: Any) -> None:
        outs = [(o, t) for o in _outputs(out) for t in [_tangent(o)] if t is not None]
        if not outs:
            return
        if len(self.steps) >= self.max_steps:
            self.dropped += 1
            return
        ins = _tensors(args, kwargs)
        frame = user_frame(1)
        if frame is not None:
            self._frames.setdefault(id(frame), frame)
        line = frame.f_lineno if frame is not None else None
        file = frame.f_code.co_filename if frame is not None else None
        for o, t in outs:
            value, summary = plain(fwAD.unpack_dual(o).primal)
            tangent, tangent_summary = plain(t)
            step = TangentStep(
                index=len(self.steps), op=name, output="",
                inputs=[self._ref(a) for a in ins],
                input_values=[plain(fwAD.unpack_dual(a).primal)[0] for a in ins],
                input_tangents=[plain(_tangent(a))[0] for a in ins],
                value=value, summary=summary, tangent=tangent, tangent_summary=tangent_summary,
                shape=list(o.shape), line=line, source=source_line(file, line),
            )
            if name == "index" and len(args) > 1 and _plain_key(args[1]) is not None:
                self._keys[step.index] = _plain_key(args[1])
            self._made[id(o)] = (o, step.index)
            self._pending.append((o, step.index, frame))
            self.steps.append(step)

    def _name_pending(self) -> None:
        """Name earlier outputs in the frame that made them: by the next op, the line that
        made them has bound them (`x_dual = make_dual(...)`), before any loop rebinds it."""
        still = []
        for o, k, frame in self._pending:
            name = None
            if frame is not None:
                for ns in namespaces_of([frame]):
                    name = next((key for key, v in list(ns.items()) if v is o and isinstance(key, str)
                                 and not key.startswith("__")), None)
                    if name:
                        break
            if name:
                self._named[k] = name
            elif frame is not None and frame.f_lasti >= 0 and len(still) < 64:
                still.append((o, k, frame))
        self._pending = still

    def _ref(self, t: torch.Tensor) -> str:
        """`#k` for the output of step k (named at the end), else filled in by name later."""
        made = self._made.get(id(t))
        return f"#{made[1]}" if made is not None and made[0] is t else f"@{id(t)}"

    def finish(self) -> list[TangentStep]:
        """Name every tensor the steps mention, from the learner's namespaces, and let go."""
        self._name_pending()
        names = Names(namespaces_of(self._frames.values()))
        label = {}
        for o, k in self._made.values():
            label[f"#{k}"] = self._named.get(k) or names.by_id.get(id(o)) or ""
        for step in self.steps:
            own = label.get(f"#{step.index}") or ""
            ins = [self._label(r, names, label) for r in step.inputs]
            key = self._keys.get(step.index)
            made = f"{ins[0]}[{key}]" if key is not None and ins else f"{step.op}({', '.join(ins)})"
            step.output = own or made
            label[f"#{step.index}"] = step.output
        for step in self.steps:
            step.inputs = [self._label(r, names, label) for r in step.inputs]
        self._made.clear()
        self._frames.clear()
        self._keys.clear()
        self._named.clear()
        self._pending.clear()
        return self.steps

    @staticmethod
    def _label(ref: str, names: Names, label: dict) -> str:
        if ref.startswith("#"):
            return label.get(ref) or "?"
        return names.by_id.get(int(ref[1:])) or "const"


class TangentWatch:
    """Pushes a TangentLog whenever a forward-mode dual level opens inside record()."""

    def __init__(self) -> None:
        self.log = TangentLog()
        self._enter = self._exit = None
        self.unseen: dict[tuple, tuple[str, int]] = {}  # torch.func calls not stepped: site -> (fn, line)
        self._func: list[tuple[str, Any]] = []

    def __enter__(self) -> "TangentWatch":
        cls = fwAD.dual_level
        self._enter, self._exit = cls.__enter__, cls.__exit__
        watch = self

        def enter(level_self):
            result = watch._enter(level_self)
            watch._push()
            return result

        def exit(level_self, *exc):
            watch.log._name_pending()
            watch._pop()
            return watch._exit(level_self, *exc)

        cls.__enter__, cls.__exit__ = enter, exit
        self._watch_func()
        return self

    def __exit__(self, *exc: Any) -> None:
        cls = fwAD.dual_level
        if self._enter is not None:
            cls.__enter__, cls.__exit__ = self._enter, self._exit
        for name, original in self._func:
            setattr(torch.func, name, original)
        self._func.clear()
        self._pop()

    def _watch_func(self) -> None:
        """torch.func.jvp and jacfwd: a call whose forward-mode ops were not stepped is noted.

        A top-level torch.func.jvp opens a dual level and is stepped like forward_ad;
        jacfwd (vmap over jvp) and a jvp inside other transforms run on functorch's
        batched or wrapped tensors, which the log does not read."""
        watch = self

        def seen(name: str, run: Any) -> Any:
            before = len(watch.log.steps) + watch.log.dropped
            try:
                return run()
            finally:
                if len(watch.log.steps) + watch.log.dropped == before:
                    frame = user_frame(1)
                    if frame is not None:
                        site = (name, frame.f_code.co_filename, frame.f_lineno)
                        watch.unseen.setdefault(site, (name, frame.f_lineno))

        def jvp(original: Any) -> Any:
            @functools.wraps(original)
            def call(*args: Any, **kwargs: Any) -> Any:
                return seen("jvp", lambda: original(*args, **kwargs))
            return call

        def jacfwd(original: Any) -> Any:
            @functools.wraps(original)
            def make(*args: Any, **kwargs: Any) -> Any:
                inner = original(*args, **kwargs)

                @functools.wraps(inner)
                def call(*a: Any, **k: Any) -> Any:
                    return seen("jacfwd", lambda: inner(*a, **k))
                return call
            return make

        for name, wrap in (("jvp", jvp), ("jacfwd", jacfwd)):
            original = getattr(torch.func, name, None)
            if callable(original):
                self._func.append((name, original))
                setattr(torch.func, name, wrap(original))

    def _push(self) -> None:
        if not self.log.active:
            self.log.__enter__()
            self.log.active = True

    def _pop(self) -> None:
        if self.log.active:
            take_out(self.log)
            self.log.active = False

    def finish(self) -> tuple[list[TangentStep], int]:
        """The steps, named, and how many were dropped past MAX_STEPS."""
        return self.log.finish(), self.log.dropped
