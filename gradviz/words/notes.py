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

TEMPLATES = (GRAPH_INCOMPLETE, STEPS_UNAVAILABLE, GRAPH_CUT, LOG_SHED, LOG_OFF, LAST_UNPLANNED,
             GRAD_BATCHED, ITERATIONS_UNAVAILABLE, TANGENTS_KEPT, TANGENTS_UNAVAILABLE,
             METRICS_KEPT, NOT_RECORDED, NO_LAST_GRAPH)


def note(template: str, **values: Any) -> str:
    """A note as the recording keeps it: the template in English, filled."""
    return tr(template, "en", **values)


@functools.cache
def _patterns() -> list[tuple[re.Pattern, str]]:
    out = []
    for t in TEMPLATES:
        parts = re.split(r"\{(\w+)\}", t)  # text, name, text, name, ..., text
        rx = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.*?)" for i, p in enumerate(parts))
        out.append((re.compile(rx + r"\Z", re.S), t))
    return out


def shown(text: str, lang: str) -> str:
    """A kept note in `lang`: its template's translation with the note's own values."""
    if not lang or lang == "en":
        return text
    for rx, template in _patterns():
        m = rx.match(text)
        if m:
            return tr(template, lang, **m.groupdict())
    return text
