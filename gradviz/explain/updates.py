"""Parameter updates in words: the formula of each update, in numbers, and what it means.

Capture keeps the numbers of an update (recording.ParamUpdate.manual for a
manual `w -= lr * w.grad`, recording.ParamStep for an optimizer's step()), for
the first element of each parameter; this turns them into one line of
arithmetic (`w ← w − lr·grad = 10 − 0.05·20 = 9`, Adam's m, v, m̂ and v̂) and a
sentence in English and Korean (gradviz.words). Plain data in, plain data out: no torch.
"""
from __future__ import annotations

import math

from gradviz.numbers import fmt_exact, fmt_operand
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


def manual_formula(name: str, m: ManualUpdate) -> Formula:
    """`w ← w + Δ`; `w ← w − lr·grad` when capture found the step to be -lr·grad with an lr
    the code itself holds (never an lr guessed from the numbers)."""
    w, g, d, element = m.value, m.grad, m.update, m.first_of_many
    sym = f"{name}[0]" if element else name
    after = None if w is None or d is None else w + d
    text = f"{sym} ← {sym} + Δ = {fmt_operand(w)} + {fmt_operand(d)} = {fmt_operand(after)}"
    words = both(N_("The code changed {name} itself (no optimizer); the first element moved by {d}."),
                 name=name, d=fmt_operand(d))
    if m.lr is not None:
        lr = fmt_exact(m.lr)
        text = f"{sym} ← {sym} − lr·grad = {fmt_operand(w)} − {lr}·{fmt_operand(g)} = {fmt_operand(after)}"
        if m.lr_name:
            words = _join(words, both(N_(" That is a gradient-descent step with lr = {lr} (`{name}` in the code)."),
                                      lr=lr, name=m.lr_name))
        else:
            words = _join(words, both(N_(" That is a gradient-descent step with lr = {lr}."), lr=lr))
    return Formula(text=text, explanation=words[0], explanation_ko=words[1])


def _join(first: Pair, then: Pair) -> Pair:
    return first[0] + then[0], first[1] + then[1]


def optimizer_formula(kind: str, ps: ParamStep) -> tuple[str, str, str]:
    """The step of optimizer `kind` (SGD, Adam, AdamW, plain RMSprop; others as a Δ) in numbers: formula, en, ko."""
    h = ps.hyper
    name = ps.name + ("[0]" if ps.first_of_many else "")
    w0, w1, g = ps.value_before, ps.value_after, ps.grad
    lr = h.get("lr")
    lines: list[str] = []
    if g is not None and h.get("maximize"):
        g = -g
        lines.append(f"g ← −grad = {fmt_operand(g)}  (maximize)")
    wd = h.get("weight_decay") or 0.0
    decoupled = kind == "AdamW" or h.get("decoupled_weight_decay")
    if kind == "SGD":
        if wd and g is not None:
            g2 = g + wd * w0
            lines.append(f"g ← grad + wd·{name} = {fmt_operand(g)} + {fmt_operand(wd)}·{fmt_operand(w0)} = {fmt_operand(g2)}")
            g = g2
        mom = h.get("momentum") or 0.0
        step_sym = "grad" if not lines else "g"
        if mom:
            buf0, buf1 = ps.state_before.get("momentum_buffer"), ps.state_after.get("momentum_buffer")
            damp = h.get("dampening") or 0.0
            if buf0 is None:
                lines.append(f"buf ← g = {fmt_operand(buf1)}  (first step)")
            else:
                lines.append(f"buf ← μ·buf + (1−dampening)·g = {fmt_operand(mom)}·{fmt_operand(buf0)} + "
                             f"{fmt_operand(1 - damp)}·{fmt_operand(g)} = {fmt_operand(buf1)}")
            if h.get("nesterov") and buf1 is not None and g is not None:
                g = g + mom * buf1
                lines.append(f"g ← g + μ·buf = {fmt_operand(g)}  (Nesterov)")
                step_sym = "g"
            else:
                g, step_sym = buf1, "buf"
        lines.append(f"{name} ← {name} − lr·{step_sym} = {fmt_operand(w0)} − {fmt_operand(lr)}·{fmt_operand(g)} = {fmt_operand(w1)}")
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
            lines.append(f"{name} ← {name} − lr·wd·{name} = {fmt_operand(w0)} − {fmt_operand(lr)}·{fmt_operand(wd)}·{fmt_operand(w0)} = {fmt_operand(w)}")
        elif wd:
            g2 = g + wd * w0
            lines.append(f"g ← grad + wd·{name} = {fmt_operand(g)} + {fmt_operand(wd)}·{fmt_operand(w0)} = {fmt_operand(g2)}")
            g = g2
        m0, m1 = ps.state_before.get("exp_avg", 0.0) or 0.0, ps.state_after.get("exp_avg")
        v0, v1 = ps.state_before.get("exp_avg_sq", 0.0) or 0.0, ps.state_after.get("exp_avg_sq")
        lines.append(f"m ← β1·m + (1−β1)·g = {fmt_operand(b1)}·{fmt_operand(m0)} + {fmt_operand(1 - b1)}·{fmt_operand(g)} = {fmt_operand(m1)}")
        lines.append(f"v ← β2·v + (1−β2)·g² = {fmt_operand(b2)}·{fmt_operand(v0)} + {fmt_operand(1 - b2)}·{fmt_operand(g)}² = {fmt_operand(v1)}")
        if m1 is not None and v1 is not None:
            mh, vh = m1 / (1 - b1 ** t), v1 / (1 - b2 ** t)
            if h.get("amsgrad") and ps.state_after.get("max_exp_avg_sq") is not None:
                vh = ps.state_after["max_exp_avg_sq"] / (1 - b2 ** t)
                lines.append("v̂ uses max(v) over all steps (AMSGrad)")
            lines.append(f"m̂ = m/(1−β1^t) = {fmt_operand(mh)},  v̂ = v/(1−β2^t) = {fmt_operand(vh)}  (t = {t:g})")
            lines.append(f"{name} ← {name} − lr·m̂/(√v̂ + ε) = {fmt_operand(w)} − {fmt_operand(lr)}·{fmt_operand(mh)}/"
                         f"({fmt_operand(math.sqrt(max(vh, 0.0)))} + {fmt_operand(eps)}) = {fmt_operand(w1)}")
        words = both(N_("Adam keeps running averages of the gradient (m) and of its square (v), "
                        "corrects their start-up bias (m̂, v̂), and steps by lr·m̂/√v̂: every weight gets "
                        "its own step size."))
        if decoupled and wd:
            words = _join(words, both(N_(" AdamW first shrinks the weight by lr·wd (decoupled weight "
                                         "decay).")))
    elif kind == "RMSprop" and g is not None and not (wd or h.get("centered") or h.get("momentum")):
        alpha, eps = h.get("alpha", 0.99), h.get("eps", 1e-8)
        v0, v1 = ps.state_before.get("square_avg", 0.0) or 0.0, ps.state_after.get("square_avg")
        lines.append(f"v ← α·v + (1−α)·g² = {fmt_operand(alpha)}·{fmt_operand(v0)} + {fmt_operand(1 - alpha)}·"
                     f"{fmt_operand(g)}² = {fmt_operand(v1)}")
        if v1 is not None:
            lines.append(f"{name} ← {name} − lr·g/(√v + ε) = {fmt_operand(w0)} − {fmt_operand(lr)}·{fmt_operand(g)}/"
                         f"({fmt_operand(math.sqrt(max(v1, 0.0)))} + {fmt_operand(eps)}) = {fmt_operand(w1)}")
        words = both(N_("RMSprop divides each step by √v, a running average of the squared gradient: a steep "
                        "direction gets small steps, a flat one large steps."))
    else:
        d = None if w0 is None or w1 is None else w1 - w0
        lines.append(f"{name} ← {name} + Δ = {fmt_operand(w0)} + {fmt_operand(d)} = {fmt_operand(w1)}")
        states = ", ".join(f"{k} = {fmt_operand(v)}" for k, v in ps.state_after.items())
        if states:
            lines.append(f"state after the step: {states}")
        words = both(N_("{kind} moved this weight by Δ, computed from its gradient and its state."),
                     kind=kind)
    return "; ".join(lines), words[0], words[1]
