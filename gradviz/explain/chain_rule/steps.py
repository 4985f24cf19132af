"""The Terms of one backward step, each checked against the gradient autograd sent.

An op step gets a Term per input from its rule (`_op_terms`), preceded by a fan-in
Term when the gradient that arrived is the sum of several uses; a leaf's
AccumulateGrad step gets `_accumulate`. A Term whose arithmetic does not match what
autograd sent becomes "recorded" (the number only); values that were not kept give
"rule" Terms (the rule's text and the number autograd sent, with a note that says why
the values are missing). An element whose number was not kept (past the first 64 of a
big gradient) prints no number and a note that says so, never a dash. `step_arithmetic` is
the public entry.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.explain.chain_rule.indices import _idx, _numel
from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.reading import _Index
from gradviz.explain.chain_rule.rules import RuleFn, find_rule, many_outputs
from gradviz.explain.chain_rule.terms import KEPT, Term, _Missing, _Unsupported
from gradviz.numbers import flatten, fmt_number
from gradviz.recording import Graph, Step

_REL_TOL = 1e-4
_ABS_TOL = 1e-12


def _close(a: float, b: float, scale: float) -> bool:
    if a is None or b is None:
        return False
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= _REL_TOL * (scale + abs(b)) + _ABS_TOL


def _at(v: Any, e: int) -> float | None:
    if v is None:
        return None
    if e == 0:  # explain_graph's element: the first number, without flattening the rest
        x = _first(v)
        return None if x is None or x is _EMPTY else float(x)
    f = flatten(v)
    if not f or f[0] is None:
        return None
    return float(f[e % len(f)])


_EMPTY = object()


def _first(v: Any) -> Any:
    """flatten(v)[0], or _EMPTY where flatten(v) is empty."""
    if not isinstance(v, list):
        return v
    for x in v:
        if not isinstance(x, list):
            return x
        y = _first(x)
        if y is not _EMPTY:
            return y
    return _EMPTY


def _accumulate(ix: _Index, step: Step, element: int) -> list[Term]:
    leaf = ix.nodes.get(step.node)
    name = ix.label(leaf)
    shape = list(leaf.shape) if leaf is not None else []
    n = _numel(shape)
    e = element % n if n else 0
    j = tuple(int(v) for v in np.unravel_index(e, shape)) if shape else ()
    lhs = f"{name}.grad{_idx(j)}"
    t = Term(kind="accumulate", edge=-1, target=step.node, label=name, element=e, index=list(j),
             lhs=lhs)
    after = _at(step.grad_after, e)
    incoming = _at(step.grad_outputs[0], e) if step.grad_outputs else None
    before = _at(step.grad_before, e)
    if after is None or incoming is None:
        t.kind = "recorded"
        summary = step.grad_output_summaries[0] if step.grad_output_summaries else None
        first = (summary or {}).get("first") or []
        if incoming is None and e < len(first):
            t.lhs, t.result = f"{lhs} +=", float(first[e])
        else:
            t.result = after
        t.notes.append(("no_values", {}) if t.result is not None else _not_kept(e))
        return [t]
    contribs = ix.sent_before(step.node, step.index)
    vals = [_at(g, e) for _, g in contribs]
    if len(vals) < 2 or any(v is None for v in vals) or \
            not _close(sum(vals), incoming, sum(abs(v) for v in vals)):
        vals = [incoming]
    t.products = ([[before]] if before is not None else []) + [[v] for v in vals]
    t.result = after
    if not _close(t.value, after, sum(abs(p[0]) for p in t.products)):
        t.kind, t.products = "recorded", None
        return [t]
    if before is not None:
        t.notes.append(("acc_more", {"name": name, "before": fmt_number(before)}))
    if len(vals) > 1:
        t.notes.append(("acc_fan_in", {"name": name, "n": len(vals)}))
    if before is None and len(vals) == 1:
        t.notes.append(("acc_first", {"name": name}))
    return [t]


def _fan_in(op: _Op, element: int) -> Term | None:
    """The gradient that arrived here, when it is the sum of several uses of the output."""
    out = op.out
    if out is None or op.up is None:
        return None
    contribs = op.ix.sent_before(out.id, op.step.index)
    if len(contribs) < 2:
        return None
    n = _numel(op.out_shape)
    e = element % n if n else 0
    vals = [_at(g, e) for _, g in contribs]
    incoming = float(op.up.reshape(-1)[e]) if op.up.size else None
    if any(v is None for v in vals) or incoming is None or \
            not _close(sum(vals), incoming, sum(abs(v) for v in vals)):
        return None
    j = tuple(int(v) for v in np.unravel_index(e, op.out_shape)) if op.out_shape else ()
    name = op.ylabel()
    t = Term(kind="fan_in", edge=-1, target=out.id, label=name, element=e, index=list(j),
             lhs=op.up_sym([str(v) for v in j]), products=[[v] for v in vals], result=incoming)
    t.notes.append(("fan_in", {"name": name, "n": len(vals)}))
    return t


def _sent(gi: Any, e: int) -> float | None:
    """Element e of a gradient autograd sent: the value, or the summary's first few."""
    value = _at(gi.grad, e)
    first = gi.summary.get("first") or [] if isinstance(gi.summary, dict) else []
    if value is None and e < len(first):
        value = float(first[e])
    return value


def _not_kept(e: int) -> tuple[str, dict]:
    return ("not_kept", {"n": KEPT, "e": e})


def _recorded(op: _Op, i: int, j: tuple, e: int, note: tuple[str, dict] | None) -> Term:
    gi = op.step.grad_inputs[i]
    target = op.target(i)
    value = _sent(gi, e)
    t = Term(kind="recorded", edge=i, target=target.id if target else "",
             label=op.ix.label(target), element=e, index=list(j), lhs=op.lhs(i, j), result=value)
    if value is None:
        t.notes.append(_not_kept(e))
    elif note:
        t.notes.append(note)
    return t


# notes that quote numbers, or claim what only the values show
_VALUE_NOTES = {"stopped", "softmax_sum", "log_softmax_sum", "relu_zero", "abs_zero", "max_split",
                "max_index", "ties"}


def _rule_only(read: _Op, fn: RuleFn, i: int, j: tuple, e: int, missing: _Missing) -> Term:
    """Values were not kept: the rule, and the number autograd sent. The note says why:
    too many elements, or made where capture could not see (inside torch's C++ code)."""
    op = _Op.__new__(_Op)  # the same reading with stand-in ones (cheaper than a new _Op)
    op.__dict__.update(read.__dict__)
    op.symbolic, op._qshape = True, {}
    t = _recorded(op, i, j, e, None)
    try:
        with np.errstate(all="ignore"):
            sym = fn(op, i, j)
    except Exception:
        sym = None
    if sym is not None:
        t.kind = "rule"
        t.rule = sym.rule
        t.notes = [n for n in sym.notes if n[0] not in _VALUE_NOTES] + t.notes
    if t.result is not None:
        t.notes.append(("no_values", {}) if missing.big else ("no_values_unseen", {}))
    return t


def _explained(op: _Op, fn: RuleFn | None) -> bool:
    """Can this step's rule run: one output with one gradient, or a rule for several."""
    if fn is None:
        return False
    return many_outputs(fn) or (op.out is not None and len(op.step.grad_outputs) == 1)


def _op_terms(ix: _Index, step: Step, element: int) -> list[Term]:
    op = _Op(ix, step)
    fn = find_rule(step.op)
    terms: list[Term] = []
    fan = _fan_in(op, element)
    if fan is not None:
        terms.append(fan)
    for i, gi in enumerate(step.grad_inputs):
        if not gi.edge_to or (gi.grad is None and gi.summary is None):
            continue  # a constant input: no gradient flows there
        shape = op.in_shape(i)
        n = _numel(shape)
        e = element % n if n else 0
        j = tuple(int(v) for v in np.unravel_index(e, shape)) if shape else ()
        if not _explained(op, fn):
            terms.append(_recorded(op, i, j, e, None))
            continue
        try:
            with np.errstate(all="ignore"):
                t = fn(op, i, j)
        except _Missing as missing:
            terms.append(_rule_only(op, fn, i, j, e, missing))
            continue
        except (KeyError, IndexError, ValueError, TypeError, ZeroDivisionError,
                FloatingPointError):
            terms.append(_recorded(op, i, j, e, None))
            continue
        except _Unsupported:
            terms.append(_recorded(op, i, j, e, None))
            continue
        if t is None:
            continue
        t.element = e
        actual = _sent(gi, e)
        if actual is None:  # nothing to check the arithmetic against: the rule only
            t.kind, t.products, t.result = "rule", None, None
            t.notes = [n for n in t.notes if n[0] not in _VALUE_NOTES] + [_not_kept(e)]
            terms.append(t)
            continue
        scale = sum(abs(math.prod(p)) for p in t.products) if t.products is not None else 0.0
        if t.result is None or not _close(t.result, actual, scale):
            terms.append(_recorded(op, i, j, e, None))
            continue
        t.result = actual  # the printed result is what autograd stored, to the last digit
        terms.append(t)
    return terms


def step_arithmetic(graph: Graph, step: Step | int, element: int = 0,
                    _ix: _Index | None = None) -> list[Term]:
    """The numbers one step's explanation prints, one Term per gradient sent.

    `element` is a flat index into each gradient (it wraps around smaller tensors).
    Terms of kind "chain" satisfy: result == Σ ∏ products == the step's grad_inputs
    element (checked here: a term that does not match becomes "recorded").
    """
    ix = _ix or _Index(graph)
    if isinstance(step, int):
        step = graph.steps[step]
    if step.op == "AccumulateGrad":
        return _accumulate(ix, step, element)
    if step.node not in ix.nodes:
        return []
    return _op_terms(ix, step, element)
