"""Forward-mode steps in words: how each op's tangent came from its inputs' tangents.

t(y) is y's tangent: how fast y moves when the inputs move along the direction the
learner seeded with make_dual. Each step shows the rule for its op with the numbers
of the first element filled in, and the rule is printed only when those numbers
reproduce the tangent PyTorch computed; otherwise the step states the tangent alone.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from gradviz.numbers import flatten, fmt_number, fmt_value
from gradviz.recording import Recording, TangentStep
from gradviz.words import both

_MOVES = {"index", "stack", "cat", "view", "reshape", "squeeze", "unsqueeze", "flatten", "t",
          "transpose", "permute", "clone", "contiguous", "expand", "narrow", "select", "unbind",
          "split", "chunk", "to", "float", "double", "detach_copy"}

# op -> (rule as written, tangent from [(value, tangent)...] of its inputs and the output value)
_Rule = tuple[str, Callable[[list[tuple[float, float]], float], float]]
_UNARY: dict[str, _Rule] = {
    "sin": ("cos({a}) · {ta}", lambda p, y: math.cos(p[0][0]) * p[0][1]),
    "cos": ("−sin({a}) · {ta}", lambda p, y: -math.sin(p[0][0]) * p[0][1]),
    "exp": ("exp({a}) · {ta}", lambda p, y: y * p[0][1]),
    "log": ("{ta} / {a}", lambda p, y: p[0][1] / p[0][0]),
    "tanh": ("(1 − tanh²({a})) · {ta}", lambda p, y: (1 - y * y) * p[0][1]),
    "sigmoid": ("σ({a}) · (1 − σ({a})) · {ta}", lambda p, y: y * (1 - y) * p[0][1]),
    "neg": ("−{ta}", lambda p, y: -p[0][1]),
}
_BINARY: dict[str, _Rule] = {
    "add": ("{ta} + {tb}", lambda p, y: p[0][1] + p[1][1]),
    "sub": ("{ta} − {tb}", lambda p, y: p[0][1] - p[1][1]),
    "mul": ("{ta} · {b} + {a} · {tb}", lambda p, y: p[0][1] * p[1][0] + p[0][0] * p[1][1]),
    "div": ("({ta} · {b} − {a} · {tb}) / {b}²",
            lambda p, y: (p[0][1] * p[1][0] - p[0][0] * p[1][1]) / p[1][0] ** 2),
}


def explain_tangents(rec: Recording) -> None:
    """Fill explanation / explanation_ko of every forward-mode step. Never raises."""
    for step in rec.tangents:
        try:
            step.explanation, step.explanation_ko = _explain(step)
        except Exception:  # words must never cost the learner the numbers
            step.explanation, step.explanation_ko = _stated(step)


def _first(x: Any) -> float | None:
    flat = flatten(x) if x is not None else []
    return float(flat[0]) if flat else None


def _stated(step: TangentStep) -> tuple[str, str]:
    return both("t({y}) = {tangent}: how fast {y} moves along the seeded direction",
                y=step.output, tangent=fmt_value(step.tangent, step.tangent_summary))


def _explain(step: TangentStep) -> tuple[str, str]:
    if step.op in ("_make_dual", "make_dual"):
        return both("{y} = make_dual({x}, …): the values of {x} with the tangent {tangent} "
                    "riding along, the direction to differentiate in",
                    y=step.output, x=step.inputs[0] if step.inputs else "?",
                    tangent=fmt_value(step.tangent, step.tangent_summary))
    if step.op in _MOVES:
        return both("t({y}) = {tangent}: {op} only moves numbers, and each tangent moves "
                    "with its number", y=step.output, op=step.op,
                    tangent=fmt_value(step.tangent, step.tangent_summary))
    rule = _UNARY.get(step.op) if len(step.inputs) == 1 else _BINARY.get(step.op)
    pairs = [(_first(v), _first(t) if t is not None else 0.0)
             for v, t in zip(step.input_values, step.input_tangents)]
    y, ty = _first(step.value), _first(step.tangent)
    size = len(flatten(step.value))
    fits = all(len(flatten(v)) in (1, size) for v in step.input_values if v is not None)
    if rule is None or y is None or ty is None or not fits or any(v is None for v, _ in pairs):
        return _stated(step)
    text, compute = rule
    got = compute(pairs, y)
    if not math.isclose(got, ty, rel_tol=1e-4, abs_tol=1e-6):
        return _stated(step)  # the elementwise rule does not fit (broadcasting, a reduction)
    written = text.format(**_fill(step.inputs, [f"t({n})" for n in step.inputs]))
    numbers = text.format(**_fill([fmt_number(v) for v, _ in pairs], [fmt_number(t) for _, t in pairs]))
    where = f"[{', '.join('0' for _ in step.shape)}]" if step.shape else ""
    return both("t({y}){where} = {rule} = {numbers} = {tangent}", y=step.output, where=where,
                rule=written, numbers=numbers, tangent=fmt_number(ty))


def _fill(values: list[str], tangents: list[str]) -> dict[str, str]:
    out = {}
    for k, v, t in zip("ab", values, tangents):
        out[k], out[f"t{k}"] = v, t
    return out
