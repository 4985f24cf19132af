"""The rule of every custom autograd.Function: its backward is the user's own Python.

gradviz has no formula for it: the text shows what the user's backward received (the
gradient of each output) and what it returned for each input, named by the user's class.
"""
from __future__ import annotations

from gradviz.explain.chain_rule.indices import _idx
from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.rules import custom_class, rule
from gradviz.explain.chain_rule.terms import Term, _Missing
from gradviz.numbers import flatten, fmt_value


@rule(many=True, every_custom=True)
def _custom(op: _Op, i: int, j: tuple) -> Term:
    """∂L/∂x[j] = Cube.backward(ctx, ∂L/∂y)[j]: the number it returned, as it returned it."""
    cls = custom_class(op.cls) or op.cls
    gi = op.step.grad_inputs[i]
    sent = flatten(gi.grad) if gi.grad is not None else []
    if not sent or sent[0] is None:
        raise _Missing("returned", big=True)
    shape = op.in_shape(i)
    flat = 0
    for d, v in zip(shape, j):
        flat = flat * d + v
    ups = [op.qlabel(q) for q in range(len(op.step.grad_outputs))]
    got = ", ".join(f"∂{op.root}/∂{u}" for u in ups)
    pick = f"[{i}]" if len(op.step.grad_inputs) > 1 else ""
    rule_text = f"{cls}.backward(ctx, {got}){pick}{_idx([str(v) for v in j])}"
    notes = []
    sums = op.step.grad_output_summaries
    for q, g in enumerate(op.step.grad_outputs):
        summary = sums[q] if q < len(sums) else None
        if g is not None or summary:
            notes.append(("custom", {"cls": cls, "up": f"∂{op.root}/∂{ups[q]}",
                                     "value": fmt_value(g, summary)}))
    return op.term(i, j, rule_text, [[float(sent[flat % len(sent)])]], notes)
