"""Errors as lessons: the explained error box, and a guard for the page's own parts."""
from __future__ import annotations

import html
import re
import traceback
from contextlib import contextmanager
from typing import Iterator

import streamlit as st

from gradviz.recording import ErrorInfo
from gradviz.words import pick, tr


_LIMIT = re.compile(r"longer than ([\d.]+) s")


def show_error(err: ErrorInfo, lang: str) -> None:
    """A script's error: what happened, where, why and how to fix it."""
    if err.type == "TimeLimit":
        _time_limit(err, lang)
        return
    title = tr("{type} at line {line}", lang, type=err.type, line=err.line) if err.line else err.type
    words = pick(err.explanation, err.explanation_ko, lang)
    body = [f"**{title}**", f"`{err.message}`" if err.message else ""]
    if words:
        body.append(words)
    hint = pick(err.hint, err.hint_ko, lang)
    if hint:
        body.append("**" + tr("Fix", lang) + f":** {hint}")
    st.error("\n\n".join(b for b in body if b), icon=":material/error:")


def _time_limit(err: ErrorInfo, lang: str) -> None:
    """The time limit in the page's language, with what the learner can do here (the app has no
    --timeout option to offer)."""
    m = _LIMIT.search(err.message or "")
    seconds = m.group(1) if m else "?"
    where = tr(" at line {line}", lang, line=err.line) if err.line else ""
    st.error(tr("The code ran longer than {s} s{where} and was stopped.", lang, s=seconds, where=where)
             + "\n\n" + tr("Look for a loop that never ends, or make the work smaller (fewer iterations, "
                             "smaller tensors).", lang), icon=":material/timer_off:")


@contextmanager
def guarded(lang: str, where: str = "") -> Iterator[None]:
    """Run a part of the page; a bug in it becomes a short note, never a traceback box."""
    try:
        yield
    except Exception as e:
        if _is_streamlit_control_flow(e):
            raise
        st.warning(tr("Something went wrong while showing this part ({type}: {msg}). The rest of the "
                      "page still works.", lang, type=type(e).__name__, msg=html.escape(str(e))[:300]),
                   icon=":material/warning:")
        with st.expander("details", expanded=False):
            st.code("".join(traceback.format_exception(e))[-4000:], language="text")


def _is_streamlit_control_flow(e: BaseException) -> bool:
    """Streamlit's rerun / stop signals must pass through untouched."""
    name = type(e).__name__
    return name in ("RerunException", "StopException", "FragmentHandledException",
                    "FragmentStorageKeyError") or type(e).__module__.startswith("streamlit.runtime.scriptrunner")
