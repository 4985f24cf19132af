"""Shared by the truth tests: each program's three runs, made once per session, and the
(reference call, gradviz graph) pairs to compare."""
from __future__ import annotations

from functools import cache

import pytest

from gradviz.recording import Graph

from .compare import Match
from .programs import PROGRAMS
from .reference import Call
from .runs import Runs, run_three


@cache
def runs_of(name: str) -> Runs:
    return run_three(PROGRAMS[name])


def backward_calls(runs: Runs) -> list[Call]:
    """The reference's backward() calls (gradviz counts iterations by those)."""
    return [c for c in runs.ref.calls if c.kind == "backward"]


def pairs(runs: Runs) -> list[tuple[Call, Graph]]:
    """Each gradviz graph with the call it is the graph of: backward() by Graph.iteration,
    torch.autograd.grad by Graph.grad_call."""
    calls = backward_calls(runs)
    grads = [c for c in runs.ref.calls if c.kind == "grad"]
    out = []
    for g in runs.graphs:
        if g.call == "grad":
            assert g.grad_call is not None and 1 <= g.grad_call <= len(grads), \
                f"graph {g.index} says grad call {g.grad_call}; there were {len(grads)}"
            out.append((grads[g.grad_call - 1], g))
            continue
        assert g.iteration is not None and 1 <= g.iteration <= len(calls), \
            f"graph {g.index} says iteration {g.iteration}; there were {len(calls)} backward() calls"
        out.append((calls[g.iteration - 1], g))
    return out


def matches(name: str) -> list[Match]:
    runs = runs_of(name)
    if runs.error is not None:
        pytest.fail(f"gradviz.record() raised {type(runs.error).__name__}: {runs.error}")
    assert runs.graphs, "gradviz recorded no graph"
    return [Match(c, g, runs.ref) for c, g in pairs(runs)]


def report(problems: list[str], limit: int = 15) -> str:
    """The first problems, one a line, and how many more."""
    more = f"\n... and {len(problems) - limit} more" if len(problems) > limit else ""
    return "\n".join(problems[:limit]) + more
