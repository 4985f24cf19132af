"""Words for finite-difference gradient checks: one line per leaf, in English or Korean.

The checks run torch, so they live in gradviz.capture.gradcheck; their results
are plain dicts (kept in Graph.checks) and this module only turns them into text,
so it needs no torch.
"""
from __future__ import annotations

from typing import Any

from gradviz.numbers import fmt_number, fmt_value
from gradviz.words import tr

__all__ = ["format_checks", "add_notes"]


def add_notes(results: list[dict], lang: str = "en") -> list[dict]:
    """Each result's `note`: why a leaf was skipped, or that a non-scalar output was summed."""
    for r in results:
        if r.get("skipped"):
            r["note"] = _skipped(r, lang)
        else:
            r["note"] = _summed(r, lang) if r.get("summed") else ""
    return results


def format_checks(results: list[dict], lang: str = "en") -> str:
    """One line per leaf: `w: autograd 18, numeric 18 (|Δ| 2e-10) ✓`."""
    lines = []
    for r in results:
        if r.get("skipped"):
            lines.append(_skipped(r, lang))
            continue
        values = dict(name=r["name"], autograd=_short(r["autograd"]), numeric=_short(r["numeric"]),
                      diff=fmt_number(r["max_abs_diff"]))
        if r.get("ok"):
            lines.append(tr("{name}: autograd {autograd}, numeric {numeric} (|Δ| {diff}) ✓", lang,
                            **values))
        else:
            lines.append(tr("{name}: autograd {autograd}, numeric {numeric} (|Δ| {diff}) ✗ they disagree",
                            lang, **values))
        if r.get("summed"):
            lines.append("  " + _summed(r, lang))
    return "\n".join(lines)


def _skipped(r: dict, lang: str) -> str:
    return tr("{name}: not checked ({n} elements, more than {limit})", lang, name=r["name"],
              n=_numel(r.get("shape", [])), limit=r.get("limit", "?"))


def _summed(r: dict, lang: str) -> str:
    return tr("the build returned {n} elements: their sum was checked", lang, n=r["summed"])


def _numel(shape: list[int]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _short(v: Any) -> str:
    return fmt_value(v)
