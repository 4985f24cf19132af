"""Terms to text: one line per Term, the notes under them, a header with the shapes.

`explain_step` gives one step's text for a learner-picked element; `explain_graph`
fills every step's `explanation` and `explanation_ko`. A step's text never raises: an
op without a rule, or anything going wrong, gives the generic text (numbers in and out).
"""
from __future__ import annotations

import numpy as np

from gradviz.explain.chain_rule.reading import _Index
from gradviz.explain.chain_rule.rules import find_rule
from gradviz.explain.chain_rule.steps import step_arithmetic
from gradviz.explain.chain_rule.terms import Term, _fmt_factor, _fmt_products
from gradviz.numbers import flatten, fmt_number, fmt_shape, fmt_value
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
    "no_values_unseen": N_("values not recorded (a tensor of this step was made where gradviz could not "
                           "see it, such as inside one of torch's C++ functions): the rule and the "
                           "result only"),
    "not_kept": N_("the number autograd sent for element {e} was not kept: gradviz keeps the first "
                   "{n} numbers of a bigger gradient"),
    "moved": N_("{op} only moves numbers: each gradient goes back to the place its number came from"),
    "sum_copy": N_("sum copies the gradient to every element it added"),
    "mean_split": N_("mean shares the gradient equally: each element gets 1/{n} of it"),
    "max_pick": N_("only the largest element decides max: the gradient goes there, the others get 0"),
    "min_pick": N_("only the smallest element decides min: the gradient goes there, the others get 0"),
    "max_split": N_("{n} elements tie for the {op}: PyTorch shares the gradient evenly among them, "
                    "1/{n} each; the others get 0"),
    "max_index": N_("{n} elements of {name}{row} tie for the {op}: the gradient goes only to the one "
                    "at the index {op} returned, {name}{idx}; the others get 0"),
    "relu_zero": N_("{name}{idx} is exactly 0: PyTorch takes relu'(0) = 0, so no gradient passes"),
    "abs_zero": N_("{name}{idx} is exactly 0: PyTorch takes abs'(0) = sign(0) = 0"),
    "ties": N_("{n} elements of its row equal {name}{idx}: each gets the gradient of the place {op} "
               "put it (the order of {op}'s indices)"),
    "padding": N_("{name}[{row}] is the padding row (padding_idx={row}): PyTorch gives it no gradient"),
    "unused_output": N_("{name}{idx} went to {out}, which nothing used: its gradient is 0"),
    "copied": N_("{op} copies numbers to the places its index names: each gradient goes back to where "
                 "its number came from, and a number copied to several places gets their sum"),
    "cumsum": N_("{op} adds each element into its own place and every later one: its gradient is the "
                 "sum of the gradients of those places"),
    "pool_max": N_("{op} sends each window's gradient to the largest element in it (the first, if "
                   "several are equal); the others get 0"),
    "pool_avg": N_("{op} shares each window's gradient equally: each element in a window gets 1/{n} "
                   "of it"),
    "conv": N_("{op}: each output adds up kernel × the window of the input under it, so {name}{idx} "
               "gets the gradient of every output whose window holds it, times the kernel weight "
               "that met it"),
    "norm_defs": N_("{op} normalizes each group of {n}: x̂ = (x − mean)·σ⁻¹ with σ⁻¹ = "
                    "1/√(var + eps), and within a group ∂x̂[k]/∂x[j] = σ⁻¹·(δₖⱼ − 1/{n} − "
                    "x̂[k]·x̂[j]/{n})"),
    "norm_eval": N_("{op} in eval mode uses the running statistics: x̂ = (x − running_mean)·σ⁻¹ "
                    "with σ⁻¹ = 1/√(running_var + eps), the same for every element of a channel"),
    "rnn": N_("{op} runs its cell at every time step, so {name}{idx} reaches the outputs of its own "
              "step and of every later one: ∂y[o]/∂{name}{idx} goes through the gates and the "
              "hidden (and cell) state, step after step"),
    "custom": N_("{cls} is a custom autograd.Function: these numbers are what its backward returned; "
                 "it received {up} = {value}"),
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
        if t.result is None:  # not kept: a note says so
            return t.lhs
        sep = " " if t.lhs.endswith("+=") else " = "
        return f"{t.lhs}{sep}{fmt_number(t.result)}"
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


_NOTE_TEXTS: dict[tuple, str] = {}  # notes of plain words and counts, made once (most repeat)


def _plain(v: object) -> bool:
    """A value a note's text depends on only through its words and digits (memo-safe)."""
    t = type(v)
    return t is str or t is int or (t is list and all(type(x) is int or type(x) is str for x in v))


def _note_text(key: str, kw: dict, lang: str) -> str:
    if all(_plain(v) for v in kw.values()):  # (a broadcast note's dims: a list of ints)
        memo = (key, lang, *((k, tuple(v) if type(v) is list else v) for k, v in kw.items()))
        text = _NOTE_TEXTS.get(memo)
        if text is None:
            if len(_NOTE_TEXTS) > 4096:
                _NOTE_TEXTS.clear()
            text = _NOTE_TEXTS[memo] = _make_note_text(key, kw, lang)
        return text
    return _make_note_text(key, kw, lang)


def _make_note_text(key: str, kw: dict, lang: str) -> str:
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
    if len(step.grad_outputs) > 1:  # several outputs: in their order, those that got a gradient
        by_q = [_output_shape(ix, step, q) for q in range(len(step.grad_outputs))]
        if all(s is not None for s in by_q):
            out_shapes = [s for s in by_q if s is not False]
    if not any(shapes) and not any(out_shapes):
        return None
    full = ix.expr(step.node, depth=0, limit=48)
    expr = full or f"{op_word(node)}(…)"
    if len(outs) == 1 and len(step.grad_outputs) <= 1:
        # the name the lines below use for the output, defined by its expression
        short, word = ix.label(outs[0]), op_word(node)
        if full:
            expr = full if short == full else f"{short} = {full}"
        else:
            expr = f"{word}(…)" if short in (word, f"{word}(…)") else f"{short} = {word}(…)"
    ins = ", ".join(fmt_shape(s) for s in shapes)
    return f"{expr}: {ins} → {', '.join(fmt_shape(s) for s in out_shapes) or '?'}"


def _output_shape(ix: _Index, step: Step, q: int) -> list[int] | bool | None:
    """Output q's shape: its tensor's, or its gradient's; False when no gradient came to it,
    None when one came but its shape is not known here (not kept, no tensor matched)."""
    node = ix.output_of(step.node, q)
    if node is not None:
        return list(node.shape)
    g = step.grad_outputs[q]
    if g is None:
        summary = step.grad_output_summaries[q] if q < len(step.grad_output_summaries) else None
        return None if summary else False
    return list(np.shape(g))


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


def _render(ix: _Index, step: Step, terms: list[Term], langs: tuple[str, ...],
            element: int = 0) -> list[str]:
    """The step's text in each of `langs`: the header and the term lines (the same in every
    language) are made once."""
    chain = [t for t in terms if t.kind in ("chain", "fan_in")]
    if step.op != "AccumulateGrad" and find_rule(step.op) is None and not chain:
        return [_generic(ix, step, lang) for lang in langs]
    lines: list[str] = []
    header = _header(ix, step)
    if header:
        lines.append(header)
    lines.extend(_term_line(t) for t in terms)
    return [_with_notes(ix, step, terms, lines, lang, element) for lang in langs]


def _with_notes(ix: _Index, step: Step, terms: list[Term], lines: list[str], lang: str,
                element: int) -> str:
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
    notes += _returned_notes(ix, step, lang)
    notes += _hook_notes(ix, step, lang, element)
    if not lines and not notes:
        return _generic(ix, step, lang)
    return "\n".join(lines + notes)


def _element(v, summary: dict | None, e: int) -> float | None:
    """Element e (wrapping) of a recorded gradient: its value, or the summary's first ones."""
    flat = flatten(v) if v is not None else []
    if flat and flat[0] is not None:
        return float(flat[e % len(flat)])
    first = (summary or {}).get("first") or []
    return float(first[e]) if e < len(first) else None


def _changed(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(a - b) > 1e-6 * (abs(a) + abs(b)) + 1e-12


def _hook_notes(ix: _Index, step: Step, lang: str, element: int) -> list[str]:
    """What the tensor hooks in the way of this step did to the numbers it shows.

    register_hook on a tensor runs when its gradient is complete, before the step that
    receives it: the gradient the step shows is the hook's. A leaf's post-accumulate-grad
    hook runs after its .grad is stored, and may change .grad."""
    out = []
    root = ix.root_label
    if step.op == "AccumulateGrad":
        received = [(0, ix.nodes.get(step.node))]
    else:
        received = [(q, ix.output_of(step.node, q)) for q in range(len(step.grad_outputs))]
    for q, node in received:
        if node is None or "register_hook" not in node.hooks:
            continue
        n = max(1, node.numel)
        e = element % n
        sent = [_element(g, None, e) for _, g in ix.sent_before(node.id, step.index)]
        summaries = step.grad_output_summaries
        arrived = _element(step.grad_outputs[q], summaries[q] if q < len(summaries) else None, e)
        if not sent or any(v is None for v in sent) or not _changed(sum(sent), arrived):
            continue
        idx = _index_text(node.shape, e)
        out.append(tr("a hook on {name} (register_hook) changed ∂{root}/∂{name}{idx} from {a} to "
                      "{b}: the steps after it use {b}", lang, name=ix.label(node), root=root,
                      idx=idx, a=fmt_number(sum(sent)), b=fmt_number(arrived)))
    if step.op == "BackwardHookFunctionBackward" and step.grad_outputs and step.grad_inputs:
        gi = step.grad_inputs[0]
        target = ix.nodes.get(gi.edge_to)
        if target is not None:
            e = element % max(1, target.numel)
            a = _element(step.grad_outputs[0], (step.grad_output_summaries or [None])[0], e)
            b = _element(gi.grad, gi.summary, e)
            if _changed(a, b):
                out.append(tr("a module's backward hook (register_full_backward_hook) changed "
                              "∂{root}/∂{name}{idx} from {a} to {b}", lang, root=root,
                              name=ix.label(target), idx=_index_text(target.shape, e),
                              a=fmt_number(a), b=fmt_number(b)))
    leaf = ix.nodes.get(step.node) if step.op == "AccumulateGrad" else None
    if leaf is not None and "post_accumulate_grad" in leaf.hooks and step.grad_outputs:
        e = element % max(1, leaf.numel)
        incoming = _element(step.grad_outputs[0], (step.grad_output_summaries or [None])[0], e)
        before = _element(step.grad_before, None, e) if step.grad_before is not None else 0.0
        after = _element(step.grad_after, None, e)
        if incoming is not None and before is not None and _changed(before + incoming, after):
            out.append(tr("a hook on {name} (register_post_accumulate_grad_hook) changed "
                          "{name}.grad{idx} from {a} to {b} after it was stored", lang,
                          name=ix.label(leaf), idx=_index_text(leaf.shape, e),
                          a=fmt_number(before + incoming), b=fmt_number(after)))
    return out


def _index_text(shape: list[int], e: int) -> str:
    """[i,j] of flat element e in shape; empty for a scalar."""
    if not shape:
        return ""
    return "[" + ",".join(str(int(v)) for v in np.unravel_index(e, shape)) + "]"


def _returned_notes(ix: _Index, step: Step, lang: str) -> list[str]:
    """A torch.autograd.grad call: the gradient it returns for an input this step sends to."""
    if ix.graph.call != "grad":
        return []
    returned = {r.get("node"): r for r in ix.graph.returned if r.get("node")}
    out = []
    targets = [step.node] if step.op == "AccumulateGrad" else [gi.edge_to for gi in step.grad_inputs]
    for nid in targets:
        r = returned.get(nid)
        if r is None:
            continue
        text = tr("torch.autograd.grad returns the whole ∂{root}/∂{name} = {value} as its result: "
                  "it goes into no .grad", lang, root=ix.root_label, name=ix.label(ix.nodes.get(nid)),
                  value=fmt_value(r.get("value"), r.get("summary")))
        if text not in out:
            out.append(text)
    return out


def _explain(ix: _Index, step: Step, langs: tuple[str, ...], element: int) -> list[str]:
    """The step's text in each language; never raises."""
    try:
        terms = step_arithmetic(ix.graph, step, element, _ix=ix)
        return _render(ix, step, terms, langs, element)
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
