"""Words for learners: chain-rule steps, errors and pitfalls, in English and Korean."""
from __future__ import annotations

from gradviz.recording import Recording


def explain_recording(rec: Recording) -> None:
    """Fill each step's explanation (English and Korean). Never raises."""
    try:
        from gradviz.explain.chain_rule import explain_graph
    except ImportError:
        return
    for g in rec.graphs:
        try:
            explain_graph(g)
        except Exception as e:  # an explanation must never break a recording
            g.notes.append(f"explanations unavailable: {type(e).__name__}: {e}")
