"""Words for finite-difference gradient checks: one line per leaf, in English or Korean.

The checks run torch, so they live in gradviz.capture.gradcheck; their results
are plain dicts (kept in Graph.checks) and this module only turns them into text,
so it needs no torch.
"""
from __future__ import annotations

from typing import Any

from gradviz.explain.i18n import say
from gradviz.numbers import fmt_number, fmt_value

__all__ = ["format_checks", "add_notes"]


def add_notes(results: list[dict], lang: str = "en") -> list[dict]:
    """Each result's `note`: why a leaf was skipped, or that a non-scalar output was summed."""
    for r in results:
        if r.get("skipped"):
            r["note"] = say("check_skip", lang, name=r["name"], n=_numel(r.get("shape", [])),
                            limit=r.get("limit", "?"))
        else:
            r["note"] = say("check_summed", lang, n=r["summed"]) if r.get("summed") else ""
    return results


def format_checks(results: list[dict], lang: str = "en") -> str:
    """One line per leaf: `w: autograd 18, numeric 18 (|Δ| 2e-10) ✓`."""
    lines = []
    for r in results:
        if r.get("skipped"):
            lines.append(say("check_skip", lang, name=r["name"], n=_numel(r.get("shape", [])),
                             limit=r.get("limit", "?")))
            continue
        key = "check_ok" if r.get("ok") else "check_bad"
        lines.append(say(key, lang, name=r["name"], autograd=_short(r["autograd"]),
                         numeric=_short(r["numeric"]), diff=fmt_number(r["max_abs_diff"])))
        if r.get("summed"):
            lines.append("  " + say("check_summed", lang, n=r["summed"]))
    return "\n".join(lines)


def _numel(shape: list[int]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _short(v: Any) -> str:
    return fmt_value(v)
