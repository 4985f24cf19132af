"""The one rule registry: autograd class name -> the rule that explains its gradients.

A rule gets (op, i, j): the op step, which input's gradient (i) and which element of
it (j, an index tuple). It returns a chain Term, or raises _Missing (a value was not
kept) or _Unsupported (the op was used in a way the rule does not model). Importing
this package registers every rule: each family module registers its own.
"""
from __future__ import annotations

from typing import Callable

from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.terms import Term

__all__ = ["RULES", "RuleFn", "rule"]


RuleFn = Callable[[_Op, int, tuple], "Term | None"]
RULES: dict[str, RuleFn] = {}


def rule(*names: str) -> Callable[[RuleFn], RuleFn]:
    """Register the decorated function as the rule of each autograd class in `names`."""
    def deco(fn: RuleFn) -> RuleFn:
        for n in names:
            RULES[n] = fn
        return fn

    return deco


# The families import `rule` from here, so they come after it; importing them fills RULES.
from gradviz.explain.chain_rule.rules import arithmetic, elementwise  # noqa: E402, F401
from gradviz.explain.chain_rule.rules import reductions, views  # noqa: E402, F401
from gradviz.explain.chain_rule.rules import matmul, losses  # noqa: E402, F401
