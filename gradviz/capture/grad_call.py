"""Catching torch.autograd.grad(): recorded like backward(), with the gradients it returns.

torch.autograd.grad is wrapped while a recording is active. torch.autograd.functional's
jacobian and hessian call it through the module attribute, so their calls are caught
too. A grad call is not an iteration of the training timeline: it fills no .grad.
torch.autograd.gradcheck and gradgradcheck make many grad calls of their own to compare
autograd with finite differences: while one runs, its grad calls are only counted and
`on_check` hears once how many there were and what the check answered (the learner
wrote none of them). The originals come back when the recording ends.
"""
from __future__ import annotations

import inspect
import sys
import threading
from typing import Any, Callable

import torch

from gradviz.user_code import nearest_user_frame

_CHECKS = ("gradcheck", "gradgradcheck")  # torch.autograd's checks, which call grad many times


def _tensors(x: Any) -> list[torch.Tensor]:
    """The tensors of an outputs/inputs argument: one tensor, a sequence, or a dict's values."""
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, dict):
        x = list(x.values())
    return [t for t in (x or ()) if isinstance(t, torch.Tensor)]


_SIGNATURES: dict = {}


def _signature(fn: Callable) -> inspect.Signature:
    """fn's signature, read once (inspect.signature costs tens of microseconds)."""
    sig = _SIGNATURES.get(fn)
    if sig is None:
        sig = _SIGNATURES[fn] = inspect.signature(fn)
    return sig


def _in_functorch(frame: Any) -> bool:
    """True when torch.func's own code (torch/_functorch) is on the stack below `frame`."""
    while frame is not None:
        name = frame.f_code.co_filename
        if "_functorch" in name and ("/torch/" in name or "\\torch\\" in name):
            return True
        frame = frame.f_back
    return False


class GradTrap:
    """Wraps torch.autograd.grad while active.

    `handler(run, roots, inputs, create_graph, frame, batched)` is called instead of each
    outermost call (batched: is_grads_batched, as jacobian(vectorize=True) calls it);
    `run()` makes the real call. `busy()`: another trap is inside a call already on this
    thread (a hook that calls autograd.grad inside a backward): then it just runs.
    "Inside" is per thread, and the handler runs under `lock` (the backward trap's, so
    grad calls and backward() calls from several threads are recorded one at a time and
    none is skipped because another thread was busy).
    """

    def __init__(self, handler: Callable[..., Any], busy: Callable[[], bool],
                 lock: threading.RLock | None = None,
                 on_check: Callable[[str, Any, int, Any], None] | None = None) -> None:
        self.handler = handler
        self.busy = busy
        self.on_check = on_check  # (name, user frame, grad calls it made, result or exception)
        self._original: Callable | None = None
        self._restore: list[tuple[Any, str, Callable]] = []
        self._local = threading.local()  # .inside: this thread is in a grad call
        self._lock = lock or threading.RLock()

    def __enter__(self) -> "GradTrap":
        original = self._original = torch.autograd.grad
        signature = _signature(original)
        trap = self

        def grad(*args: Any, **kwargs: Any) -> Any:
            def run() -> Any:
                return original(*args, **kwargs)

            checks = getattr(trap._local, "check_calls", None)
            if checks is not None:  # a call torch's gradcheck makes, not the learner
                if trap.inside:  # the same call again, through a TorchFunctionMode
                    return run()
                trap._local.check_calls, trap._local.inside = checks + 1, True
                try:
                    return run()
                finally:
                    trap._local.inside = False
            if trap.inside or trap.busy():
                return run()
            if trap.on_check is not None and _in_functorch(sys._getframe(1)):
                # torch.func.grad / vjp / jacrev / hessian: their steps run on functorch's
                # wrapped tensors, inside the transform; counted, not drawn as the learner's
                trap._local.inside = True
                try:
                    return run()
                finally:
                    trap._local.inside = False
                    trap.on_check("torch.func", nearest_user_frame(sys._getframe(1)), 1, None)
            try:
                bound = signature.bind(*args, **kwargs).arguments
            except TypeError:  # torch says what is wrong with the call
                return run()
            frame = nearest_user_frame(sys._getframe(1))
            with trap._lock:
                trap._local.inside = True
                try:
                    return trap.handler(run, _tensors(bound.get("outputs")),
                                        _tensors(bound.get("inputs")),
                                        bool(bound.get("create_graph")), frame,
                                        bool(bound.get("is_grads_batched")))
                finally:
                    trap._local.inside = False

        grad.__doc__, grad.__name__, grad.__qualname__ = (original.__doc__, original.__name__,
                                                           original.__qualname__)
        grad.__wrapped__ = original
        grad.__gradviz__ = True
        torch.autograd.grad = grad
        if self.on_check is not None:
            self._watch_checks()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._original is not None:
            torch.autograd.grad = self._original
            self._original = None
        for owner, name, original in reversed(self._restore):
            setattr(owner, name, original)
        self._restore.clear()

    def _watch_checks(self) -> None:
        """Wrap torch.autograd.gradcheck/gradgradcheck (in torch.autograd and their module)."""
        module = sys.modules.get("torch.autograd.gradcheck")
        for name in _CHECKS:
            original = getattr(module, name, None)
            if not callable(original):
                continue
            wrapped = self._check(name, original)
            for owner in (torch.autograd, module):
                if getattr(owner, name, None) is original:
                    setattr(owner, name, wrapped)
                    self._restore.append((owner, name, original))

    def _check(self, name: str, original: Callable) -> Callable:
        trap = self

        def check(*args: Any, **kwargs: Any) -> Any:
            if getattr(trap._local, "check_calls", None) is not None:  # gradgradcheck's gradcheck
                return original(*args, **kwargs)
            frame = nearest_user_frame(sys._getframe(1))
            trap._local.check_calls = 0
            outcome: Any = None
            try:
                outcome = original(*args, **kwargs)
                return outcome
            except BaseException as e:
                outcome = e
                raise
            finally:
                calls, trap._local.check_calls = trap._local.check_calls, None
                if trap.on_check is not None:
                    trap.on_check(name, frame, calls, outcome)

        check.__doc__, check.__name__, check.__qualname__ = (original.__doc__, original.__name__,
                                                             original.__qualname__)
        check.__wrapped__ = original
        check.__gradviz__ = True
        return check

    @property
    def inside(self) -> bool:
        """A grad call is running on this thread (its backward must not count as an iteration)."""
        return getattr(self._local, "inside", False)
