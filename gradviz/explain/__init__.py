"""Words for learners: chain-rule steps, updates, errors and pitfalls, in English and Korean.

Plain data in, words out; no module here imports torch at module level.

    chain_rule.py      one explanation per backward step: the chain rule, with numbers
    checks_text.py     finite-difference check results as text (the checks: capture/gradcheck.py)
    dead_grads.py      why a leaf's grad is None or all zeros, read from a recorded Graph
    exceptions.py      a script's exception explained (explain_error), one detail function per mistake
    i18n.py            the words around the chain-rule formulas and checks, English and Korean (say)
    mistakes.py        the catalogue of common mistakes and warnings: patterns and texts
    pitfalls.py        training pitfalls found in the iteration timeline
    scene.py           what is left of a failure: frames, the failing torch call, the user's names
    shapes.py          broadcast shapes lined up from the right, clashing dimensions marked
    updates.py         parameter updates in numbers: SGD, momentum, Adam(W), manual steps
    source_reading.py  the script's text read with ast/regex: no_grad, detach, loops, in-place edits
    warning_notes.py   a warning's message turned into words (explain_warning)

The runner's hook that writes these into a Recording while a script runs is
gradviz/script_watch.py.
"""
from __future__ import annotations

from gradviz.recording import Recording


def explain_recording(rec: Recording) -> None:
    """Fill each step's explanation and each update's formula (English and Korean). Never raises.

    The iterations may not exist yet (capture makes them when first read): their
    formulas are written as soon as they are made, before anyone reads them.
    """
    from gradviz.explain.updates import explain_updates

    try:
        rec.on_iterations(explain_updates)
    except Exception as e:  # an explanation must never break a recording
        rec.notes.append(f"update formulas unavailable: {type(e).__name__}: {e}")
    try:
        from gradviz.explain.chain_rule import explain_graph
    except ImportError:
        return
    for g in rec.graphs:
        try:
            explain_graph(g)
        except Exception as e:  # an explanation must never break a recording
            g.notes.append(f"explanations unavailable: {type(e).__name__}: {e}")
