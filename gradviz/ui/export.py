"""Export buttons: the graph's picture (SVG), the standalone HTML stepper, the JSON recording.

Names follow one pattern: `<lesson>-<n>-step-<k>.svg` (graph n after step k, the
stepper's own download button uses it too), `<lesson>.html`, `<lesson>.json`.
Each file is made only when its button is clicked.
"""
from __future__ import annotations

import streamlit as st

from gradviz.recording import Recording
from gradviz.ui.graphs import DisplayOptions
from gradviz.words import tr


def svg_name(stem: str, graph_index: int, step: int) -> str:
    """`<lesson>-<n>-step-<k>.svg`, n and k counted from 1."""
    return f"{stem}-{graph_index + 1}-step-{step}.svg"


def show(rec_key: str, rec: Recording, stem: str, opts: DisplayOptions) -> None:
    lang = opts.lang
    st.markdown("**" + tr("Export", lang) + "**")
    c1, c2, c3, _ = st.columns([1, 1, 1, 2])
    graph = rec.graphs[0] if rec.graphs else None
    if graph is not None:
        last = len(graph.steps)
        c1.download_button(tr("Graph (SVG)", lang), icon=":material/download:", key="gv_dl_svg",
                           on_click="ignore", data=lambda: _make_svg(rec_key, rec, opts),
                           file_name=svg_name(stem, 0, last), mime="image/svg+xml", width="stretch",
                           help=tr("The graph after the last step; the download button on the picture "
                                   "saves the step on screen.", lang))
    c2.download_button(tr("Stepper (HTML)", lang), icon=":material/download:", key="gv_dl_html",
                       on_click="ignore", data=lambda: _make_html(rec_key, lang, rec, stem),
                       file_name=f"{stem}.html", mime="text/html", width="stretch")
    c3.download_button(tr("Recording (JSON)", lang), icon=":material/download:", key="gv_dl_json",
                       on_click="ignore", data=lambda: _make_json(rec_key, rec),
                       file_name=f"{stem}.json", mime="application/json", width="stretch")


_MADE: dict[tuple, bytes] = {}


def _make_svg(rec_key: str, rec: Recording, opts: DisplayOptions) -> bytes:
    """The first graph after its last step, as dot draws it: a valid SVG file, whatever its size."""
    from gradviz.render import graph_svg

    key = ("svg", rec_key, opts)
    if key not in _MADE:
        _trim()
        graph = rec.graphs[0]
        step = len(graph.steps) - 1 if graph.steps else None
        _MADE[key] = graph_svg(graph, **{**opts.dot_kwargs(), "step": step}).encode("utf-8")
    return _MADE[key]


def _make_html(rec_key: str, lang: str, rec: Recording, stem: str = "") -> bytes:
    from gradviz.render.html import recording_html

    key = ("html", rec_key, lang)
    if key not in _MADE:
        _trim()
        _MADE[key] = recording_html(rec, lang=lang, name=stem).encode("utf-8")
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
