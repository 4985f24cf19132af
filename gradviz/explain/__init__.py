"""Words for learners: chain-rule steps, updates, errors and pitfalls (English msgids, see gradviz.words).

Plain data in, words out; no module here imports torch at module level.

    chain_rule/        one explanation per backward step: the chain rule, with numbers
    checks_text.py     finite-difference check results as text (the checks: capture/gradcheck.py)
    dead_grads.py      why a leaf's grad is None or all zeros, read from a recorded Graph
    exceptions.py      a script's exception explained (explain_error), one detail function per mistake
    mistakes.py        the catalogue of common mistakes and warnings: patterns and texts
    pitfalls.py        training pitfalls found in the iteration timeline
    scene.py           what is left of a failure: frames, the failing torch call, the user's names
    shapes.py          broadcast shapes lined up from the right, clashing dimensions marked
    updates.py         parameter updates in numbers: SGD, momentum, Adam(W), manual steps
    source_reading.py  the script's text read with ast/regex: no_grad, detach, loops, in-place edits
    warning_notes.py   a warning's message turned into words (explain_warning)
    tangents.py        forward-mode steps: each op's tangent from its inputs' tangents, with numbers

The runner's hook that writes these into a Recording while a script runs is
gradviz/script_watch.py.
"""
from __future__ import annotations

from gradviz.recording import Recording, TimelineFacts
from gradviz.recording.plain import paused_gc
from gradviz.words import notes as said
from gradviz.words.notes import note


def _explain_iterations(rec: Recording, facts: TimelineFacts | None) -> None:
    """The update formulas, and (from what capture saw along the way) the pitfalls."""
    from gradviz.explain.pitfalls import find_pitfalls
    from gradviz.explain.updates import explain_updates

    explain_updates(rec.iterations)
    if facts is not None:  # (a recording read from JSON has its pitfalls already)
        rec.pitfalls.extend(find_pitfalls(rec.iterations, facts.events, facts.lines))


def explain_recording(rec: Recording) -> None:
    """Fill each step's explanation, each update's formula and the pitfalls. Never raises.

    The iterations may not exist yet (capture makes them when first read): their
    words are written as soon as they are made, before anyone reads them.
    """
    try:
        rec.on_iterations(_explain_iterations)
    except Exception as e:  # an explanation must never break a recording
        rec.notes.append(note(said.UPDATES_UNAVAILABLE, why=f"{type(e).__name__}: {e}"))
    from gradviz.explain.tangents import explain_tangents

    explain_tangents(rec)
    # thousands of small objects per graph, none of them garbage: no collector passes meanwhile
    with paused_gc():
        _explain_graphs(rec)


def _explain_graphs(rec: Recording) -> None:
    from gradviz.explain.chain_rule import explain_graph

    for g in rec.graphs:
        try:
            explain_graph(g)
        except Exception as e:  # an explanation must never break a recording
            g.notes.append(note(said.EXPLANATIONS_UNAVAILABLE, why=f"{type(e).__name__}: {e}"))
