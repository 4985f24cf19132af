"""The one rule registry: autograd class name -> the rule that explains its gradients.

A rule gets (op, i, j): the op step, which input's gradient (i) and which element of
it (j, an index tuple). It returns a chain Term, or raises _Missing (a value was not
kept) or _Unsupported (the op was used in a way the rule does not model). Importing
this package registers every rule: each family module registers its own.

A rule registered with many=True also explains ops with several outputs (split, an
LSTM layer); the others only see ops with one. `find_rule` adds what no name lists:
the backward of a custom autograd.Function (`CubeBackward` for a class Cube).

    arithmetic.py   add, sub, rsub, mul, div, neg, pow
    elementwise.py  one-input elementwise functions (exp, log, sqrt, sigmoid, tanh, relu, clamp, ...)
    reductions.py   sum, mean, max/min, vector norm, dist, cumsum, prod
    views.py        ops that move elements without arithmetic (view, transpose, cat, split, ...)
    matmul.py       matrix products: mm, bmm, addmm (F.linear), mv, dot
    losses.py       softmax, log_softmax and the losses: mse, bce, bce with logits, nll
    indexing.py     ops that pick elements by an index or a mask (gather, embedding, where, sort, ...)
    conv.py         sliding windows: convolution and pooling
    norms.py        layer_norm and batch_norm
    recurrent.py    a whole recurrent layer in one autograd node (an LSTM layer)
    custom.py       every custom autograd.Function: its backward is the user's own Python
    shared.py       rule shapes that several families share
"""
from __future__ import annotations

import re
from typing import Callable

from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.terms import Term

__all__ = ["RULES", "RuleFn", "rule", "find_rule", "many_outputs", "custom_class"]


RuleFn = Callable[[_Op, int, tuple], "Term | None"]
RULES: dict[str, RuleFn] = {}
_MANY: set[RuleFn] = set()
_FOR_CUSTOM: list[RuleFn] = []  # the rule of every custom autograd.Function
_CUSTOM = re.compile(r"([A-Za-z_]\w*)Backward")  # torch's own classes end in a digit


def rule(*names: str, many: bool = False,
         every_custom: bool = False) -> Callable[[RuleFn], RuleFn]:
    """Register the decorated function as the rule of each autograd class in `names`
    (every_custom=True: of every custom autograd.Function)."""
    def deco(fn: RuleFn) -> RuleFn:
        for n in names:
            RULES[n] = fn
        if many:
            _MANY.add(fn)
        if every_custom:
            _FOR_CUSTOM[:] = [fn]
        return fn

    return deco


def custom_class(cls: str) -> str | None:
    """The user's class of a custom autograd.Function's backward node (Cube), else None."""
    m = _CUSTOM.fullmatch(cls or "")
    return m.group(1) if m and cls not in RULES else None


def find_rule(cls: str) -> RuleFn | None:
    """The rule of an autograd class: registered by name, or a custom Function's."""
    fn = RULES.get(cls)
    if fn is None and _FOR_CUSTOM and custom_class(cls) is not None:
        fn = _FOR_CUSTOM[0]
    return fn


def many_outputs(fn: RuleFn) -> bool:
    """Does this rule explain ops with several outputs too?"""
    return fn in _MANY


# The families import `rule` from here, so they come after it; importing them fills RULES.
from gradviz.explain.chain_rule.rules import arithmetic, elementwise  # noqa: E402, F401
from gradviz.explain.chain_rule.rules import reductions, views  # noqa: E402, F401
from gradviz.explain.chain_rule.rules import matmul, losses  # noqa: E402, F401
from gradviz.explain.chain_rule.rules import indexing, conv, norms  # noqa: E402, F401
from gradviz.explain.chain_rule.rules import recurrent, custom  # noqa: E402, F401
