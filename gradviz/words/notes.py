"""The notes a recording keeps, written in English, shown in the reader's language.

Recording.notes and Graph.notes are plain strings (the JSON keeps them so). gradviz
writes each from a template here (`note()`); `shown()` finds the template a note was
made from and fills its translation with the same values, so a note reads in Korean
in the CLI, the app and the HTML page. A note from no template shows as written.
"""
from __future__ import annotations

import functools
import re
from typing import Any

from gradviz.words import N_, tr

# Graph notes
GRAPH_INCOMPLETE = N_("graph incomplete: {why}")
STEPS_UNAVAILABLE = N_("backward steps unavailable: {why}")
GRAPH_CUT = N_("graph cut at {n} nodes")
LOG_SHED = N_("the forward op log let go of its {n} oldest ops to stay under {mb} MB of op "
              "outputs: nodes it no longer held show no value")
LOG_OFF = N_("drawn from the grad_fn chain: the forward op log was off during this iteration, "
             "so op source lines and unnamed intermediate values are missing")
LAST_UNPLANNED = N_("drawn after the run from the grad_fn chain: parameters show their value and "
                    "gradient at this iteration; intermediate values and backward steps were not "
                    "recorded because the number of iterations was not known in advance (pass "
                    "total=N, or --total N, to record the last iteration in full)")
GRAD_BATCHED = N_("torch.autograd.grad ran batched (is_grads_batched=True, as jacobian and "
                  "hessian with vectorize=True call it): one backward for all the rows at once. "
                  "The graph and what the call returned are shown; its backward steps are not.")
# Recording notes
ITERATIONS_UNAVAILABLE = N_("iterations unavailable: {why}")
TANGENTS_KEPT = N_("forward mode: the first {kept} ops with a tangent were kept, {more} more were not")
TANGENTS_UNAVAILABLE = N_("forward-mode steps unavailable: {why}")
METRICS_KEPT = N_("logged numbers: the first {kept} were kept, {more} more were not")
NOT_RECORDED = N_("gradviz could not record {what}: {why}")
NO_LAST_GRAPH = N_("no graph of the last iteration: {why}")
# What a note names (filled into another note's {what}, shown translated there too)
BACKWARD_CALL = N_("backward() call {n}")
GRAD_CALL = N_("torch.autograd.grad call {n}")
GRADCHECK_RAN = N_("{fn} on line {line} ran {runs} time(s) and answered {answers}. To compare "
                  "autograd's gradients with numerical ones it made {n} torch.autograd.grad "
                  "call(s) of its own: they are not drawn and not counted as the script's.")
FUNC_TRANSFORM = N_("a torch.func transform on line {line} (grad, vjp, jacrev or hessian) made {n} "
                   "torch.autograd.grad call(s) inside torch.func: gradviz does not show the steps "
                   "of torch.func transforms, only what they returned to the script.")
FUNC_FORWARD = N_("torch.func.{fn} on line {line} ran: gradviz does not show the forward-mode steps "
                  "inside it (only torch.func.jvp called outside other transforms, and "
                  "torch.autograd.forward_ad, are shown step by step).")
# The runner's and the explainers' notes
NEVER_CALLED = N_("The script never called backward(), so there are no gradients to show.")
NEVER_CALLED_DRAWN = N_("The script never called backward(), so there are no gradients to show. "
                        "Drawn instead: the graph behind {names}.")
NEVER_CALLED_NOTHING = N_("The script never called backward(), so there are no gradients to show. "
                          "It left no tensor with a grad_fn to draw.")
STOPPED_BEFORE = N_("The script stopped before it called backward().")
STOPPED_BEFORE_DRAWN = N_("The script stopped before it called backward(). "
                          "Drawn: the graph it had built so far ({names}).")
LEFTOVERS_FAILED = N_("could not draw the tensors the script left: {why}")
KEPT_BEFORE_STOP = N_("the {n} graph(s) recorded before the process stopped are kept")
HANDBACK_DAMAGED = N_("the recording the script's process handed back was damaged; "
                      "only its graphs are shown")
UPDATES_UNAVAILABLE = N_("update formulas unavailable: {why}")
EXPLANATIONS_UNAVAILABLE = N_("explanations unavailable: {why}")
ITERATION_WORDS_UNAVAILABLE = N_("explanations of the iterations unavailable: {why}")

# The dead-gradient notes (explain/dead_grads.py), kept on graphs in English
DEAD_ON_LINE = N_(" on line {line}")
DEAD_ON_LINE_OF = N_(" on line {line} ({name})")
DEAD_A_LEAF = N_("a leaf")
DEAD_CAME_FROM = N_("the tensors it came from")
DEAD_STAYS_NONE = N_(" {missing} stays None.")
DEAD_RELU = N_("{label}.grad is all zeros: every input of the ReLU{where}{shown} was <= 0, so "
               "the ReLU passed back 0 everywhere (a dead ReLU) and no gradient reaches "
               "{label}. Fix: start from other weights (a different seed or initialisation), "
               "use a smaller learning rate, or try LeakyReLU.")
DEAD_ZERO = N_("{label}.grad is all zeros: the gradient becomes 0 at {fop}{where}, whose local "
               "derivative is 0 at these values, so nothing reaches {label}.")
DEAD_NO_GRAD = N_("{name} was computed inside torch.no_grad() (line {line}), so autograd did not "
                  "record it: here it is a constant, and no gradient flows back through it to "
                  "{src}.{tail} Fix: compute {name} outside torch.no_grad() if gradients should "
                  "reach {src}.")
DEAD_DETACHED = N_("{name} comes from .detach() (line {line}): a copy cut off from the graph, so "
                   "gradients stop at {name} and never reach {src}.{tail} Fix: use {src} itself "
                   "(without .detach()) where gradients should flow.")
DEAD_LINE_DETACH = N_("Line {line} uses {var}{why}: a copy cut off from the graph, so {var} is not in "
                      "it and gets no gradient from here ({var}.grad stays None). Fix: use {var} itself "
                      "where gradients should flow.")

TEMPLATES = (GRAPH_INCOMPLETE, STEPS_UNAVAILABLE, GRAPH_CUT, LOG_SHED, LOG_OFF, LAST_UNPLANNED,
             GRAD_BATCHED, ITERATIONS_UNAVAILABLE, TANGENTS_KEPT, TANGENTS_UNAVAILABLE,
             METRICS_KEPT, NOT_RECORDED, NO_LAST_GRAPH, BACKWARD_CALL, GRAD_CALL, GRADCHECK_RAN,
             FUNC_TRANSFORM, FUNC_FORWARD,
             NEVER_CALLED, NEVER_CALLED_DRAWN, NEVER_CALLED_NOTHING, STOPPED_BEFORE,
             STOPPED_BEFORE_DRAWN, LEFTOVERS_FAILED, KEPT_BEFORE_STOP, HANDBACK_DAMAGED,
             UPDATES_UNAVAILABLE, EXPLANATIONS_UNAVAILABLE, ITERATION_WORDS_UNAVAILABLE,
             DEAD_ON_LINE, DEAD_ON_LINE_OF, DEAD_A_LEAF, DEAD_CAME_FROM, DEAD_STAYS_NONE, DEAD_RELU,
             DEAD_ZERO, DEAD_NO_GRAD, DEAD_DETACHED, DEAD_LINE_DETACH)


def note(template: str, **values: Any) -> str:
    """A note as the recording keeps it: the template in English, filled."""
    return tr(template, "en", **values)


@functools.cache
def _patterns() -> list[tuple[re.Pattern, str]]:
    out = []
    for t in TEMPLATES:
        parts = re.split(r"\{(\w+)\}", t)  # text, name, text, name, ..., text
        seen: set[str] = set()
        rx = ""
        for i, p in enumerate(parts):
            if i % 2 == 0:
                rx += re.escape(p)
            else:  # a value named twice is the same text twice
                rx += f"(?P={p})" if p in seen else f"(?P<{p}>.*?)"
                seen.add(p)
        out.append((re.compile(rx + r"\Z", re.S), t))
    # the template with the most fixed text first: " on line 6 (z)" is " on line {line} ({name})"
    return sorted(out, key=lambda p: -len(re.sub(r"\{\w+\}", "", p[1])))


def shown(text: str, lang: str) -> str:
    """A kept note in `lang`: its template's translation with the note's own values.

    A value that is itself a note ("backward() call 3" inside "could not record {what}")
    is shown in `lang` too; an error message (`{why}`) stays as Python wrote it."""
    if not lang or lang == "en":
        return text
    for rx, template in _patterns():
        m = rx.match(text)
        if m:
            values = {k: (v if k == "why" else shown(v, lang)) for k, v in m.groupdict().items()}
            return tr(template, lang, **values)
    return text
