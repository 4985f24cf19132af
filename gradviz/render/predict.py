"""Predict mode's questions: for a backward step, the gradient a learner types before it is shown.

The question is one number PyTorch produced at this step, as recorded: element 0 of
the first gradient the step sent (an AccumulateGrad step: element 0 of the leaf's
.grad after it). The hint is the step's own chain-rule line (explain/chain_rule
wrote it into `Step.explanation`) with its last number, the answer, replaced by "?":
the rule with every other number filled in. render may not import explain, and need
not: the line is found in the recorded text by the number it ends with, so no second
formula engine exists. A step whose line cannot be found (its numbers not kept, an
op without a rule) asks nothing.
"""
from __future__ import annotations

import re
from typing import Any

from gradviz.numbers import flatten, fmt_number
from gradviz.recording import Step
from gradviz.words import N_

# the page's words for predict mode (raw templates: the page fills {typed}, {answer}, {right}, {asked})
WORDS = {
    "predict": N_("Predict"),
    "predict_title": N_("Predict mode: type each gradient before the step shows it"),
    "predict_ask": N_("Your prediction:"),
    "predict_check": N_("Check"),
    "predict_hint": N_("Hint"),
    "predict_hint_head": N_("The rule, every number filled in but the answer:"),
    "predict_reveal": N_("Show the answer"),
    "predict_right": N_("Right: PyTorch computed {answer}."),
    "predict_wrong": N_("Not quite: you typed {typed}, PyTorch computed {answer}."),
    "predict_shown": N_("Shown without a prediction: PyTorch computed {answer}."),
    "predict_number": N_("Type a number, such as 0.5, -2, 1e-3 or 1/3."),
    "predict_score": N_("Score {right} of {asked}"),
    "predict_tolerance": N_("Right within 0.1 % or to 3 significant digits."),
    "predict_none": N_("Nothing to predict at this step: its numbers were not kept."),
    "predict_reset": N_("Start the score again"),
}


def _first(value: Any, summary: dict | None) -> float | None:
    """Element 0 of a recorded gradient (its summary's first numbers when it was too big to keep)."""
    if value is not None:
        flat = flatten(value)
        v = flat[0] if flat else None
    else:
        first = (summary or {}).get("first") or []
        v = first[0] if first else None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _parts(line: str) -> tuple[str, str, str] | None:
    """(left side, everything up to the last number, the separator before it)."""
    for sep in (" = ", " → "):
        head, found, last = line.rpartition(sep)
        if found and head:
            return line.split(" = ", 1)[0].split(" += ", 1)[0].split(": ", 1)[0], head, sep
    return None


def _notes(text: str, formulas: list[str], shown: str) -> list[str]:
    """The step's other lines (shapes, remarks) that do not give the answer away."""
    says = re.compile(r"(?<![\d.])" + re.escape(shown) + r"(?![\d.])")
    return [ln for ln in text.split("\n") if ln and ln not in formulas and not says.search(ln)]


def question(step: Step) -> dict | None:
    """{"lhs", "hint", "answer", "notes"} for one recorded step, or None where it asks nothing."""
    text = step.explanation or ""
    if not text:
        return None
    lines = text.split("\n")
    formulas = [ln for ln in lines if ln.startswith("∂") or ".grad" in ln.split(" ", 1)[0]]
    lefts = [ln.split(" = ", 1)[0] for ln in formulas]
    # a fan-in line (∂l/∂a = 2 + 3 = 5) sums what arrived: the next line uses its left side
    mine = [ln for ln, left in zip(formulas, lefts)
            if not any(left in other.split(" = ", 1)[-1] for other in formulas if other != ln)]
    if step.op == "AccumulateGrad":
        answers = [_first(step.grad_after, None)]
    else:
        answers = [_first(gi.grad, gi.summary) for gi in step.grad_inputs if gi.edge_to]
    for answer in answers:
        if answer is None:
            continue
        shown = fmt_number(answer)
        for line in mine:
            parts = _parts(line)
            if parts is None or not line.endswith(parts[2] + shown):
                continue
            left, head, sep = parts
            return {"lhs": left, "hint": head + sep + "?", "answer": answer, "shown": shown,
                    "notes": _notes(text, formulas, shown), "notes_ko": _notes(step.explanation_ko or text,
                                                                                 formulas, shown)}
    return None


__all__ = ["question", "WORDS"]
