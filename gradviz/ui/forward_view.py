"""Forward mode, step by step: each op's value and the tangent it carried (Recording.tangents)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from gradviz.numbers import fmt_value
from gradviz.recording import Recording
from gradviz.words import pick, tr

if TYPE_CHECKING:  # pandas (about a second to import) comes where a table is made, after the first graph
    import pandas as pd

MAX_ROWS = 300


def show(rec: Recording, lang: str) -> None:
    import pandas as pd

    steps = rec.tangents
    st.markdown(tr("With `torch.autograd.forward_ad`, every op computes its value and its tangent "
                   "t(·) side by side, in the order the code runs: no backward pass. Each row is "
                   "one op; its tangent comes from the tangents of its inputs.", lang))
    rows = [{"#": s.index + 1, tr("line", lang): s.line, "op": s.op, tr("tensor", lang): s.output,
             tr("value", lang): fmt_value(s.value, s.summary),
             tr("tangent", lang): fmt_value(s.tangent, s.tangent_summary),
             tr("how", lang): pick(s.explanation, s.explanation_ko, lang)} for s in steps]
    st.caption(tr("The stepper steps through them one by one, with each step's rule: its Forward mode tab, "
                  "beside the backward steps.", lang))
    st.table(pd.DataFrame(rows[:MAX_ROWS]).set_index("#"))  # a plain table: the "how" column wraps
    if len(rows) > MAX_ROWS:
        st.caption(tr("The first {n} of {total} steps are shown (the JSON export has them all).", lang,
                      n=MAX_ROWS, total=len(rows)))
