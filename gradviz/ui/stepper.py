"""backward() step by step in the app: the HTML stepper of render/html.py, embedded.

The app shows the very page `gradviz html` writes (render/html.py with
assets/stepper.js), in a component frame, so stepping (buttons, keys, Play, the
camera) happens in the browser: no rerun, no server round trip per step. The
page is made once per (run, language, display options) and kept; making it
draws every step's picture with `dot`, in parallel.
"""
from __future__ import annotations

import streamlit as st

from gradviz.recording import Recording
from gradviz.render.html import recording_html
from gradviz.ui import disk_cache
from gradviz.ui.graphs import DisplayOptions
from gradviz.ui.kept import Kept
from gradviz.words import tr

HEIGHT = 700  # px: the frame fits under Streamlit's top bar on a 1280x800 screen
KEEP = 16  # pages kept (one per run, language and display options)

_PAGES = Kept(KEEP)


def page(rec_key: str, rec: Recording, opts: DisplayOptions, name: str) -> str:
    """The stepper page for one run as the app shows it (made once, then kept; on disk too
    when the recording came from the disk cache, so a restarted server does not draw it again)."""
    def make() -> str:
        return recording_html(rec, lang=opts.lang, face="app", options=opts.dot_kwargs(), name=name)

    return _PAGES.get((rec_key, opts, name), lambda: disk_cache.page(rec, ("app", repr(opts), name), make))


def show(rec_key: str, rec: Recording, opts: DisplayOptions, name: str) -> None:
    """The stepper for one recording, or a short note when there is nothing to step through."""
    lang = opts.lang
    if not rec.graphs:
        if rec.error is None:
            st.info(tr("Nothing was recorded: the code never built a graph with a grad_fn.", lang))
        return
    if not any(g.steps for g in rec.graphs):
        st.info(tr("This graph has no backward steps to step through (backward() was not called on "
                   "it).", lang))
    with st.spinner(tr("Drawing the graph…", lang)):
        html = page(rec_key, rec, opts, name)
    frame(html)


def frame(html: str) -> None:
    """The page in a frame of the app (st.iframe; components.html before Streamlit had it)."""
    if hasattr(st, "iframe"):
        st.iframe(html, height=HEIGHT)
    else:  # pragma: no cover - older Streamlit
        import streamlit.components.v1 as components

        components.html(html, height=HEIGHT, scrolling=True)


def clear() -> None:
    _PAGES.clear()
