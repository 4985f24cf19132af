"""The autograd nodes torch's C++ functions make inside themselves, with their values.

F.cross_entropy makes a log_softmax node and an nll_loss node; nn.RNN an addmm and a
tanh per step; a create_graph backward the nodes of the first gradient's graph. A
TorchFunctionMode sees only the outer call. A TorchDispatchMode sees each aten op
underneath, but sends every one of them through Python, so it is switched on only
around the calls that need it: per torch function, learned on its first call
(ForwardLog), and around a create_graph backward.

The autograd layer sets an output's grad_fn after the op returns from dispatch, so
an output's grad_fn is read when the next op is dispatched (or when the call ends):
before a later in-place op (matmul's squeeze_ of its mm result) can give the same
tensor another grad_fn.
"""
from __future__ import annotations

from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from gradviz.capture.values import SMALL

# Ops whose output only reshapes or views its input: a whole function's name (linear,
# matmul) on such a node would misdescribe it; the node is named after its own op.
RESHAPES = {"ViewBackward0", "UnsafeViewBackward0", "SqueezeBackward0", "SqueezeBackward1",
            "SqueezeBackward2", "SqueezeBackward3", "SqueezeBackward4", "UnsqueezeBackward0",
            "UnsqueezeBackward1", "TransposeBackward0", "TransposeBackward1", "PermuteBackward0",
            "ExpandBackward0", "ReshapeAliasBackward0", "TBackward0"}


class Made:
    """One output of an aten op run inside a call."""

    __slots__ = ("tensor", "op", "value", "args", "grad_fn", "nr")

    def __init__(self, tensor: torch.Tensor, op: str, args: list) -> None:
        self.tensor = tensor
        self.op = op
        self.nr = 0
        # small: its elements now (a later in-place op of the same call may change them)
        self.value = tensor.detach().clone() if tensor.numel() <= SMALL else None
        self.args = args  # the op's tensor arguments that need no grad (constants)
        self.grad_fn = None


class InternalOps(TorchDispatchMode):
    """Every floating-point output of the aten ops run while active (see the module doc)."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch would wrap __torch_dispatch__ to keep torch.compile out of it, which costs a
        # dynamo context per aten op; this mode runs only around eager calls
        return False

    def __init__(self) -> None:
        super().__init__()
        self.made: list[Made] = []
        self._unread: list[Made] = []

    def settle(self) -> None:
        """Read the grad_fn of the outputs made since the last op."""
        for m in self._unread:
            m.grad_fn = m.tensor.grad_fn
            if m.grad_fn is not None:
                m.nr = m.tensor.output_nr
        self._unread = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.settle()
        out = func(*args, **(kwargs or {}))
        outs = out if isinstance(out, (tuple, list)) else (out,)
        consts = None
        for o in outs:
            if isinstance(o, torch.Tensor) and (o.is_floating_point() or o.is_complex()):
                if consts is None:
                    consts = [a for a in _flat(args) if isinstance(a, torch.Tensor)
                              and not a.requires_grad]
                m = Made(o, func.overloadpacket.__name__, consts)
                self.made.append(m)
                self._unread.append(m)
        return out

    def nodes(self) -> list[Made]:
        """The outputs that got an autograd node, each node's first output once."""
        self.settle()
        out, seen = [], set()
        for m in self.made:
            fn = m.grad_fn
            if fn is None:
                continue
            key = (id(fn), m.nr)
            if key not in seen:
                seen.add(key)
                out.append(m)
        return out


def _flat(args: Any) -> list:
    out = []
    for a in args:
        if isinstance(a, (list, tuple)):
            out.extend(_flat(a))
        else:
            out.append(a)
    return out


def storage_key(t: torch.Tensor) -> int | None:
    """Which memory a tensor reads (views of one tensor share it); None when it has none."""
    try:
        return t.untyped_storage().data_ptr() if t.layout == torch.strided else None
    except (RuntimeError, NotImplementedError):
        return None


def functorch_active() -> bool:
    """vmap or grad transforms are running: a dispatch mode must stay out of their way."""
    check = getattr(torch._C, "_are_functorch_transforms_active", None)
    return bool(check and check())
