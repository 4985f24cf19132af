"""Export buttons: the standalone HTML stepper and the JSON recording.

(The SVG of the graph on screen is offered by the stepper, next to the graph.)
Both files are made only when their button is clicked: the HTML stepper draws
every step of every graph, which is too slow to do on each page run.
"""
from __future__ import annotations

import streamlit as st

from gradviz.recording import Recording
from gradviz.words import tr


def _html_available() -> bool:
    try:
        from gradviz.render.html import recording_html  # noqa: F401
    except ImportError:
        return False
    return True


def show(rec_key: str, rec: Recording, stem: str, lang: str) -> None:
    st.markdown("**" + tr("Export", lang) + "**")
    c1, c2, _ = st.columns([1, 1, 3])
    if _html_available():
        c1.download_button(tr("Stepper (HTML)", lang), icon=":material/download:", key="gv_dl_html",
                           on_click="ignore",
                           data=lambda: _make_html(rec_key, lang, rec), file_name=f"{stem}.html",
                           mime="text/html", width="stretch")
    else:
        c1.caption(tr("The HTML stepper is not available in this version.", lang))
    c2.download_button(tr("Recording (JSON)", lang), icon=":material/download:", key="gv_dl_json",
                       on_click="ignore",
                       data=lambda: _make_json(rec_key, rec), file_name=f"{stem}.json",
                       mime="application/json", width="stretch")


_MADE: dict[tuple, bytes] = {}


def _make_html(rec_key: str, lang: str, rec: Recording) -> bytes:
    from gradviz.render.html import recording_html

    key = ("html", rec_key, lang)
    if key not in _MADE:
        _trim()
        _MADE[key] = recording_html(rec, lang=lang).encode("utf-8")
    return _MADE[key]


def _make_json(rec_key: str, rec: Recording) -> bytes:
    key = ("json", rec_key)
    if key not in _MADE:
        _trim()
        _MADE[key] = rec.to_json(indent=1).encode("utf-8")
    return _MADE[key]


def _trim(keep: int = 12) -> None:
    while len(_MADE) >= keep:
        _MADE.pop(next(iter(_MADE)))
