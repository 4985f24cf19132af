"""Terms to text: one line per Term, the notes under them, a header with the shapes.

`explain_step` gives one step's text for a learner-picked element; `explain_graph`
fills every step's `explanation` and `explanation_ko`. A step's text never raises: an
op without a rule, or anything going wrong, gives the generic text (numbers in and out).
"""
from __future__ import annotations

from gradviz.explain.chain_rule.reading import _Index
from gradviz.explain.chain_rule.rules import RULES
from gradviz.explain.chain_rule.steps import step_arithmetic
from gradviz.explain.chain_rule.terms import Term, _fmt_factor, _fmt_products
from gradviz.numbers import fmt_number, fmt_shape, fmt_value
from gradviz.opnames import op_word
from gradviz.recording import Graph, Step
from gradviz.words import N_, tr

# the remarks rules/ and steps.py attach to a term, by key; the formulas need no words
NOTES = {
    "broadcast": N_("{name} was broadcast from {src} to {dst}: its gradient sums over {dims}"),
    "fan_in": N_("{name} is used {n} times: the gradients from all its uses add up"),
    "acc_first": N_("{name} is a leaf: AccumulateGrad stores the gradient in {name}.grad (it was None)"),
    "acc_more": N_("{name}.grad already held {before} (not zeroed): gradients accumulate"),
    "acc_fan_in": N_("{name} is used {n} times: the gradients of all its uses add up in {name}.grad"),
    "not_picked": N_("{name}{idx} is not in {expr}: its gradient is 0"),
    "not_target": N_("{name}{idx} is not the target class: only the target's log-probability is in the "
                     "loss, so its gradient is 0"),
    "stopped": N_("{op} is flat at {name}{idx}: the gradient stops there (0)"),
    "no_values": N_("values not kept (more than 64 elements): the rule and the result only"),
    "moved": N_("{op} only moves numbers: each gradient goes back to the place its number came from"),
    "sum_copy": N_("sum copies the gradient to every element it added"),
    "mean_split": N_("mean shares the gradient equally: each element gets 1/{n} of it"),
    "max_pick": N_("only the largest element decides max: the gradient goes there, the others get 0"),
    "min_pick": N_("only the smallest element decides min: the gradient goes there, the others get 0"),
    "softmax_sum": N_("{defs}g = ∂{root}/∂{y}: Σₖ g{k}·{y}{k} = {value}"),
    "log_softmax_sum": N_("{defs}g = ∂{root}/∂{y}: Σₖ g{k} = {value}"),
}


def _term_line(t: Term) -> str:
    if t.kind == "accumulate" and t.products is not None:
        nums = [_fmt_factor(p[0], True) for p in t.products]
        res = fmt_number(t.result)
        if len(nums) == 1:
            return f"{t.lhs} += {nums[0]} → {res}"
        return f"{t.lhs}: {_fmt_products(t.products, limit=6)} = {res}"
    if t.kind == "fan_in" and t.products is not None:
        return f"{t.lhs} = {_fmt_products(t.products, limit=6)} = {fmt_number(t.result)}"
    if t.kind == "rule":
        parts = [t.lhs] + ([t.rule] if t.rule else []) + \
            ([fmt_number(t.result)] if t.result is not None else [])
        return " = ".join(parts)
    if t.kind == "recorded" or t.products is None:
        sep = " " if t.lhs.endswith("+=") else " = "
        return f"{t.lhs}{sep}{fmt_number(t.result) if t.result is not None else '—'}"
    parts = [t.lhs]
    if t.rule:
        parts.append(t.rule)
    nums = _fmt_products(t.products) if t.products else ""
    if nums and nums != parts[-1]:
        parts.append(nums)
    res = fmt_number(t.result)
    if parts[-1] != res:
        parts.append(res)
    return " = ".join(parts)


def _note_text(key: str, kw: dict, lang: str) -> str:
    kw = dict(kw)
    if key == "broadcast":
        dims = kw.get("dims", [])
        shown = ", ".join(str(d) for d in dims)
        kw["dims"] = (tr("dim {dims}", lang, dims=shown) if len(dims) == 1
                      else tr("dims {dims}", lang, dims=shown))
    return tr(NOTES.get(key, key), lang, **kw)


def _header(ix: _Index, step: Step) -> str | None:
    """The op with its shapes, for tensors: `y = (x × w): (3), (3) → (3)`."""
    node = ix.nodes.get(step.node)
    if node is None or step.op == "AccumulateGrad":
        return None
    outs = [ix.nodes[o] for o in ix.outputs.get(step.node, []) if o in ix.nodes]
    operands = [n for n in ix.operands(step.node) if n is not None]
    shapes = [list(n.shape) for n in operands if not (n.constant and not n.shape)]
    out_shapes = [list(o.shape) for o in outs]
    if not any(shapes) and not any(out_shapes):
        return None
    full = ix.expr(step.node, depth=0, limit=48)
    expr = full or op_word(node)
    if len(outs) == 1:
        # the name the lines below use for the output, defined by its expression
        short, word = ix.label(outs[0]), op_word(node)
        if full:
            expr = full if short == full else f"{short} = {full}"
        else:
            expr = f"{word}(…)" if short == word else f"{short} = {word}(…)"
    ins = ", ".join(fmt_shape(s) for s in shapes)
    return f"{expr}: {ins} → {', '.join(fmt_shape(s) for s in out_shapes) or '?'}"


def _generic(ix: _Index, step: Step, lang: str) -> str:
    node = ix.nodes.get(step.node)
    root = ix.root_label
    up = fmt_value(step.grad_outputs[0] if step.grad_outputs else None,
                   step.grad_output_summaries[0] if step.grad_output_summaries else None)
    if step.op == "AccumulateGrad":
        name = ix.label(node)
        return f"{name}.grad = {fmt_value(step.grad_after)}"
    outs = [ix.nodes[o] for o in ix.outputs.get(step.node, []) if o in ix.nodes]
    y = ix.label(outs[0]) if len(outs) == 1 else (node.forward_op if node else step.op)
    downs = [f"∂{root}/∂{ix.label(ix.nodes.get(gi.edge_to))} = {fmt_value(gi.grad, gi.summary)}"
             for gi in step.grad_inputs if gi.edge_to]
    line = f"{step.op}: ∂{root}/∂{y} = {up} → " + (", ".join(downs) if downs else "—")
    return line + "\n" + tr("(no formula for this op here: the numbers in and out)", lang)


def _render(ix: _Index, step: Step, terms: list[Term], lang: str) -> str:
    lines: list[str] = []
    chain = [t for t in terms if t.kind in ("chain", "fan_in")]
    if step.op != "AccumulateGrad" and step.op not in RULES and not chain:
        return _generic(ix, step, lang)
    header = _header(ix, step)
    if header:
        lines.append(header)
    lines.extend(_term_line(t) for t in terms)
    notes: list[str] = []
    for t in terms:
        for key, kw in t.notes:
            text = _note_text(key, kw, lang)
            if text not in notes:
                notes.append(text)
    if step.op != "AccumulateGrad":
        outs = [ix.nodes[o] for o in ix.outputs.get(step.node, []) if o in ix.nodes]
        if len(outs) == 1 and outs[0].retains_grad and step.grad_outputs:
            out = outs[0]
            value = fmt_value(step.grad_outputs[0],
                              step.grad_output_summaries[0] if step.grad_output_summaries else None)
            notes.append(tr("{name}.retain_grad(): {name}.grad = {value} is kept here", lang,
                             name=ix.label(out), value=value))
        for n in ix.operands(step.node):
            if n is not None and n.constant and n.name and n.kind == "tensor":
                text = tr("{name} is a constant (requires_grad=False): it gets no gradient", lang,
                          name=n.name)
                if text not in notes:
                    notes.append(text)
    if not lines and not notes:
        return _generic(ix, step, lang)
    return "\n".join(lines + notes)


def _explain(ix: _Index, step: Step, langs: tuple[str, ...], element: int) -> list[str]:
    """The step's text in each language; never raises."""
    try:
        terms = step_arithmetic(ix.graph, step, element, _ix=ix)
        return [_render(ix, step, terms, lang) for lang in langs]
    except Exception:  # never let an explanation break a recording
        out = []
        for lang in langs:
            try:
                out.append(_generic(ix, step, lang))
            except Exception:
                out.append(step.op)
        return out


def explain_step(graph: Graph, step: Step | int, lang: str = "en", element: int = 0) -> str:
    """The explanation of one step for a learner-picked element (flat index), in `lang`."""
    try:
        ix = _Index(graph)
        if isinstance(step, int):
            step = graph.steps[step]
        return _explain(ix, step, (lang,), element)[0]
    except Exception:
        return str(getattr(step, "op", ""))


def explain_graph(graph: Graph, element: int = 0) -> None:
    """Fill `explanation` (English) and `explanation_ko` (Korean) of every step."""
    ix = _Index(graph)
    for step in graph.steps:
        step.explanation, step.explanation_ko = _explain(ix, step, ("en", "ko"), element)
