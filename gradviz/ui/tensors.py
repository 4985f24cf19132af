"""The table of a graph's tensors under the stepper: name, shape, flags, grad_fn, value, grad."""
from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from gradviz.numbers import fmt_shape, fmt_value
from gradviz.recording import Graph, Recording
from gradviz.words import tr
from gradviz.words.notes import shown

if TYPE_CHECKING:  # pandas (about a second to import) comes where a table is made, after the first graph
    import pandas as pd


def frame(graph: Graph, lang: str) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for n in graph.nodes:
        if n.kind != "tensor":
            continue
        shape = fmt_shape(n.shape)
        rows.append({
            tr("name", lang): n.name or n.label or n.id,
            tr("shape", lang): tr("scalar", lang) if shape == "scalar" else shape,
            "requires_grad": bool(n.requires_grad),
            "is_leaf": bool(n.is_leaf),
            "grad_fn": n.op or "",
            tr("value", lang): fmt_value(n.value, n.summary),
            tr("grad (after backward)", lang): (fmt_value(n.grad, n.grad_summary)
                                                if (n.grad is not None or n.grad_summary) else "None"),
        })
    return pd.DataFrame(rows)


def show(rec: Recording, lang: str) -> None:
    """One table per recorded graph, folded away: the stepper above is what a learner reads first."""
    for i, graph in enumerate(rec.graphs[:3]):
        title = tr("Tensors in this graph", lang) + (f" · {graph.title or i + 1}" if len(rec.graphs) > 1 else "")
        with st.expander(title, expanded=False):
            st.dataframe(frame(graph, lang), hide_index=True, width="stretch")
            for note in graph.notes:
                st.caption(shown(note, lang))
