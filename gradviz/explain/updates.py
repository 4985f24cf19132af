"""Parameter updates in words: the formula of each update, in numbers, and what it means.

Capture keeps the numbers of an update (recording.ParamUpdate.manual for a
manual `w -= lr * w.grad`, recording.ParamStep for an optimizer's step()), for
the first element of each parameter; this turns them into one line of
arithmetic (`w ← w − lr·grad = 10 − 0.05·20 = 9`, Adam's m, v, m̂ and v̂) and a
sentence in English and Korean (gradviz.words). Plain data in, plain data out: no torch.
"""
from __future__ import annotations

import math

from gradviz.recording import Formula, Iteration, ManualUpdate, ParamStep
from gradviz.words import N_, both

Pair = tuple[str, str]  # (English, Korean)


def explain_updates(iterations: list[Iteration]) -> None:
    """Write each update's formula and words from its numbers (those not written yet).

    An optimizer step whose formula cannot be written shows its error instead,
    as capture shows a step it could not read.
    """
    for it in iterations:
        for name, p in it.params.items():
            if p.manual is not None and p.formula is None:
                p.formula = manual_formula(name, p.manual)
        for step in it.optimizer or ():
            if step.error is not None:
                continue
            try:
                for ps in step.params:
                    if ps.formula is None:
                        ps.formula, ps.explanation, ps.explanation_ko = optimizer_formula(step.type, ps)
            except Exception as e:
                step.error = f"{type(e).__name__}: {e}"


def _num(x: float | None) -> str:
    """A number in a formula: 6 significant digits, negative ones in parentheses."""
    if x is None:
        return "?"
    if x != x or x in (math.inf, -math.inf):
        return str(x)
    s = f"{x:.6g}"
    return f"({s})" if s.startswith("-") else s


def manual_formula(name: str, m: ManualUpdate) -> Formula:
    """`w ← w + Δ`, and the learning rate it implies when Δ is a multiple of -grad."""
    w, g, d, element = m.value, m.grad, m.update, m.first_of_many
    sym = f"{name}[0]" if element else name
    after = None if w is None or d is None else w + d
    text = f"{sym} ← {sym} + Δ = {_num(w)} + {_num(d)} = {_num(after)}"
    words = both(N_("The code changed {name} itself (no optimizer); the first element moved by {d}."),
                 name=name, d=_num(d))
    if g and d is not None and d != 0:
        lr = -d / g
        if lr > 0:
            text = (f"{sym} ← {sym} − lr·grad = {_num(w)} − {_num(lr)}·{_num(g)} = {_num(after)}")
            words = _join(words, both(N_(" That is a gradient-descent step with lr = {lr}."), lr=f"{lr:.6g}"))
    return Formula(text=text, explanation=words[0], explanation_ko=words[1])


def _join(first: Pair, then: Pair) -> Pair:
    return first[0] + then[0], first[1] + then[1]


def optimizer_formula(kind: str, ps: ParamStep) -> tuple[str, str, str]:
    """The step of optimizer `kind` (SGD, Adam, AdamW; others as a Δ) in numbers: formula, en, ko."""
    h = ps.hyper
    name = ps.name + ("[0]" if ps.first_of_many else "")
    w0, w1, g = ps.value_before, ps.value_after, ps.grad
    lr = h.get("lr")
    lines: list[str] = []
    if g is not None and h.get("maximize"):
        g = -g
        lines.append(f"g ← −grad = {_num(g)}  (maximize)")
    wd = h.get("weight_decay") or 0.0
    decoupled = kind == "AdamW" or h.get("decoupled_weight_decay")
    if kind == "SGD":
        if wd and g is not None:
            g2 = g + wd * w0
            lines.append(f"g ← grad + wd·{name} = {_num(g)} + {_num(wd)}·{_num(w0)} = {_num(g2)}")
            g = g2
        mom = h.get("momentum") or 0.0
        step_sym = "grad" if not lines else "g"
        if mom:
            buf0, buf1 = ps.state_before.get("momentum_buffer"), ps.state_after.get("momentum_buffer")
            damp = h.get("dampening") or 0.0
            if buf0 is None:
                lines.append(f"buf ← g = {_num(buf1)}  (first step)")
            else:
                lines.append(f"buf ← μ·buf + (1−dampening)·g = {_num(mom)}·{_num(buf0)} + "
                             f"{_num(1 - damp)}·{_num(g)} = {_num(buf1)}")
            if h.get("nesterov") and buf1 is not None and g is not None:
                g = g + mom * buf1
                lines.append(f"g ← g + μ·buf = {_num(g)}  (Nesterov)")
                step_sym = "g"
            else:
                g, step_sym = buf1, "buf"
        lines.append(f"{name} ← {name} − lr·{step_sym} = {_num(w0)} − {_num(lr)}·{_num(g)} = {_num(w1)}")
        words = both(N_("SGD moves each weight against its gradient, scaled by the learning rate lr."))
        if mom:
            words = _join(words, both(N_(" With momentum the step follows buf, a running sum of past "
                                         "gradients.")))
    elif kind in ("Adam", "AdamW") and g is not None:
        b1, b2 = (h.get("betas") or [0.9, 0.999])[:2]
        eps, t = h.get("eps", 1e-8), ps.step or 1.0
        w = w0
        if wd and decoupled:
            w = w0 * (1 - lr * wd)
            lines.append(f"{name} ← {name} − lr·wd·{name} = {_num(w0)} − {_num(lr)}·{_num(wd)}·{_num(w0)} = {_num(w)}")
        elif wd:
            g2 = g + wd * w0
            lines.append(f"g ← grad + wd·{name} = {_num(g)} + {_num(wd)}·{_num(w0)} = {_num(g2)}")
            g = g2
        m0, m1 = ps.state_before.get("exp_avg", 0.0) or 0.0, ps.state_after.get("exp_avg")
        v0, v1 = ps.state_before.get("exp_avg_sq", 0.0) or 0.0, ps.state_after.get("exp_avg_sq")
        lines.append(f"m ← β1·m + (1−β1)·g = {_num(b1)}·{_num(m0)} + {_num(1 - b1)}·{_num(g)} = {_num(m1)}")
        lines.append(f"v ← β2·v + (1−β2)·g² = {_num(b2)}·{_num(v0)} + {_num(1 - b2)}·{_num(g)}² = {_num(v1)}")
        if m1 is not None and v1 is not None:
            mh, vh = m1 / (1 - b1 ** t), v1 / (1 - b2 ** t)
            if h.get("amsgrad") and ps.state_after.get("max_exp_avg_sq") is not None:
                vh = ps.state_after["max_exp_avg_sq"] / (1 - b2 ** t)
                lines.append("v̂ uses max(v) over all steps (AMSGrad)")
            lines.append(f"m̂ = m/(1−β1^t) = {_num(mh)},  v̂ = v/(1−β2^t) = {_num(vh)}  (t = {t:g})")
            lines.append(f"{name} ← {name} − lr·m̂/(√v̂ + ε) = {_num(w)} − {_num(lr)}·{_num(mh)}/"
                         f"({_num(math.sqrt(max(vh, 0.0)))} + {_num(eps)}) = {_num(w1)}")
        words = both(N_("Adam keeps running averages of the gradient (m) and of its square (v), "
                        "corrects their start-up bias (m̂, v̂), and steps by lr·m̂/√v̂: every weight gets "
                        "its own step size."))
        if decoupled and wd:
            words = _join(words, both(N_(" AdamW first shrinks the weight by lr·wd (decoupled weight "
                                         "decay).")))
    else:
        d = None if w0 is None or w1 is None else w1 - w0
        lines.append(f"{name} ← {name} + Δ = {_num(w0)} + {_num(d)} = {_num(w1)}")
        states = ", ".join(f"{k} = {_num(v)}" for k, v in ps.state_after.items())
        if states:
            lines.append(f"state after the step: {states}")
        words = both(N_("{kind} moved this weight by Δ, computed from its gradient and its state."),
                     kind=kind)
    return "; ".join(lines), words[0], words[1]
