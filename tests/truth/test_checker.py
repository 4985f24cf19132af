"""The checker checks: fed a false number or sentence, it says so.

Lesson 1 (w = 1, a = w * 3, l = a ** 2) is recorded once; each test falsifies one thing
gradviz could get wrong and expects the matching check to report it.
"""
from __future__ import annotations

import pytest

from gradviz.recording import Recording

from .compare import Match, check_pictures, check_steps, check_values
from .explain_check import UNPARSED, StepTruth, explanation_problems
from .texts import as_printed, close4, parse_arith, value_problem
from .truth import matches

TRUE_LINE = "∂l/∂w = ∂l/∂a · 3 = 6 · 3 = 18"


@pytest.fixture
def lesson1() -> Match:
    return matches("lesson1")[0]


def _copy(m: Match) -> Match:
    """The same graph read back from JSON, free to be falsified."""
    rec = Recording.from_json(Recording(graphs=[m.graph]).to_json())
    return Match(m.call, rec.graphs[0], m.ref)


def _mul_step(m: Match) -> StepTruth:
    k = next(i for i, s in enumerate(m.graph.steps) if s.op == "MulBackward0")
    return StepTruth(m, k)


def test_the_true_text_passes(lesson1):
    assert explanation_problems(TRUE_LINE, "en", _mul_step(lesson1), 0) == []


@pytest.mark.parametrize("line,expected", [
    ("∂l/∂w = ∂l/∂a · 3 = 6 · 3 = 19", "autograd sent 18"),
    ("∂l/∂w = ∂l/∂a · 3 = 6 · 4 = 18", "makes 24"),
    ("∂l/∂w = ∂l/∂a · 3 = 9 · 2 = 18", "none of the true numbers"),
    ("∂l/∂w = ∂l/∂a · 3 = —", "prints —"),
    ("∂l/∂w = ∂l/∂a · 3", "prints no number"),
    ("∂l/∂w[1] = ∂l/∂a · 3 = 6 · 3 = 18", "names element"),
    (TRUE_LINE + "\nvalues not kept (more than 64 elements): the rule and the result only",
     "says more than 64"),
    (TRUE_LINE + "\nw is used 2 times: the gradients from all its uses add up", "says used 2"),
    (TRUE_LINE + "\nsomething nobody said", "unparsed line"),
])
def test_a_false_explanation_is_reported(lesson1, line, expected):
    problems = explanation_problems(line, "en", _mul_step(lesson1), 0)
    assert any(expected in p for p in problems), problems


def test_a_false_accumulate_line_is_reported(lesson1):
    k = next(i for i, s in enumerate(lesson1.graph.steps) if s.op == "AccumulateGrad")
    st = StepTruth(lesson1, k)
    assert explanation_problems("w.grad += 18 → 18", "en", st, 0) == []
    assert explanation_problems("w.grad += 18 → 17", "en", st, 0)
    assert explanation_problems("w.grad: 9 + 9 = 18", "en", st, 0)


def test_a_false_value_grad_or_step_is_reported(lesson1):
    m = _copy(lesson1)
    assert not check_values(m) and not check_steps(m)
    m.graph.by_name("a").value = 3.5
    m.graph.steps[1].grad_inputs[0].grad = 17.0
    assert any("shows 3.5" in p for p in check_values(m))
    assert any("17.0" in p for p in check_steps(m))
    assert any("'17'" in p for p in check_pictures(m))


def test_a_reordered_step_is_reported(lesson1):
    m = _copy(lesson1)
    m.graph.steps[0], m.graph.steps[1] = m.graph.steps[1], m.graph.steps[0]
    assert check_steps(m)


def test_printed_numbers():
    assert close4(0.3333, 1 / 3) and not close4(0.3334, 1 / 3)
    assert as_printed("0.8", 0.8) and not as_printed("0.805342", 0.8)
    assert not as_printed("9.99998e-07", 1e-6) and as_printed("1e-06", 1e-6)
    assert value_problem("[1, 2, 3]", [1.0, 2.0, 3.0]) is None
    assert value_problem("[1, 2, 4]", [1.0, 2.0, 3.0])
    assert value_problem("[1, 2, 3, 4, … ] (9 values)", list(range(1, 10))) is None
    assert value_problem("[1, 2, 3, 4, … ] (8 values)", list(range(1, 10)))
    arith = parse_arith("6 · 3 − 2 · (-1) + (0.5 − 0.2)")
    assert [[f.value for f in r] for r in arith.rows] == [[6, 3], [-2, -1], [0.5 - 0.2]]


def test_every_unparsed_allowance_has_a_reason():
    assert all(reason.strip() for reason in UNPARSED.values())
