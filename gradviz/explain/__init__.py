"""Words for learners: chain-rule steps, updates, errors and pitfalls, in English and Korean."""
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
