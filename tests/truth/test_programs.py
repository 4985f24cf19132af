"""Every program of programs.py, every check: what gradviz shows is what PyTorch computed.

Each check is its own test so a known defect (KNOWN, strict xfail) hides no other check;
when gradviz is fixed the xfail turns into a failure that says to remove it.
"""
from __future__ import annotations

import pytest

from gradviz.recording import Recording

from .compare import (Match, check_grads, check_pictures, check_returned, check_steps,
                      check_values)
from .explain_check import check_explanations
from .programs import PROGRAMS
from .truth import matches, report, runs_of

SHOW_NOTE = "value not kept: use gradviz.record()"

# (program, check) -> why it fails today
KNOWN: dict[tuple[str, str], str] = {
}

CHECKS = ["results", "structure", "values", "grads", "steps", "pictures", "json", "explanations",
          "notes", "returned"]


def _cases():
    for name in PROGRAMS:
        for check in CHECKS:
            reason = KNOWN.get((name, check))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(name, check, id=f"{name}-{check}", marks=marks)


def _results(name: str) -> list[str]:
    """The user's numbers (loss, grads, buffers) and the next random draw, all three runs."""
    r = runs_of(name)
    out = []
    if r.error is not None:
        out.append(f"gradviz.record() raised {type(r.error).__name__}: {r.error}")
    if r.ref_out != r.plain or r.ref_draw != r.plain_draw:
        out.append("the reference's own instrumentation changed the results")
    if r.rec_out != r.plain:
        out.append(f"results under record() {r.rec_out} differ from plain {r.plain}")
    if r.rec_draw != r.plain_draw:
        out.append(f"next torch.rand(1) after record() {r.rec_draw}, plainly {r.plain_draw}")
    return out


def _json(name: str) -> list[str]:
    """Each graph of Recording.from_json(rec.to_json()) still shows the truth."""
    back = Recording.from_json(runs_of(name).rec.to_json())
    out = []
    for m in matches(name):
        m2 = Match(m.call, back.graphs[m.graph.index], m.ref)
        out += (m2.problems + check_values(m2) + check_grads(m2) + check_steps(m2)
                + check_returned(m2))
    return out


def _notes(m: Match) -> list[str]:
    return [f"{n.id} {n.label}: note {n.note!r}" for n in m.graph.nodes
            if n.note and SHOW_NOTE in n.note]


_CHECK = {
    "structure": lambda m: m.problems,
    "values": check_values,
    "grads": check_grads,
    "steps": check_steps,
    "pictures": check_pictures,
    "explanations": check_explanations,
    "notes": _notes,
    "returned": check_returned,
}


@pytest.mark.parametrize("name,check", list(_cases()))
def test_truth(name: str, check: str) -> None:
    if check == "results":
        problems = _results(name)
    elif check == "json":
        problems = _json(name)
    else:
        problems = []
        for m in matches(name):
            problems += [f"graph {m.graph.index}: {p}" for p in _CHECK[check](m)]
    assert not problems, report(problems)
