"""Graph pictures outside the stepper: the display options, and one finished graph's SVG, cached.

The stepper (ui/stepper.py) draws its own pictures, in the page it embeds. The
training view shows the graph of one iteration: drawn once per (run, graph,
options) and kept, since `dot` takes up to a second on a big graph.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from gradviz.recording import Graph
from gradviz.render.html import clean_svg
from gradviz.ui.kept import Kept
from gradviz.words import tr

CACHE_SIZE = 64


@dataclass(frozen=True)
class DisplayOptions:
    """What the picture shows; part of every cache key."""

    values: bool = True
    grads: bool = True
    constants: bool = True
    attrs: bool = True
    collapse: str = "auto"  # "auto" (collapse big graphs), "0".."3" (module depth), "open" (every op)
    rankdir: str = "auto"  # "LR", "TB", or "auto": LR for shallow graphs, TB for deep ones
    lang: str = "en"

    def dot_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = dict(values=self.values, grads=self.grads, constants=self.constants,
                                  attrs=self.attrs, rankdir=self.rankdir, lang=self.lang,
                                  legend=False, title="")
        if self.collapse.isdigit():
            kw["depth"] = int(self.collapse)
        elif self.collapse == "open":
            kw["budget"] = 0
        return kw


_DONE = Kept(CACHE_SIZE)


def graph_svg(rec_key: str, gi: int, graph: Graph, opts: DisplayOptions) -> str:
    """The picture of `graph` after backward (an inline SVG, or a note saying why there is none)."""
    return _DONE.get((rec_key, gi, opts), lambda: _draw(graph, opts))


def clear() -> None:
    _DONE.clear()


def _draw(graph: Graph, opts: DisplayOptions) -> str:
    try:
        return clean_svg(graph.svg(**opts.dot_kwargs()))
    except Exception as e:  # no dot binary, a layout that failed: say so in the page
        msg = html.escape(f"{type(e).__name__}: {e}"[:400])
        failed = html.escape(tr("The graph could not be drawn: {msg}", opts.lang, msg=""))
        return f'<div class="gv-nosvg">{failed}{msg}</div>'


_BLANK = re.compile(r"\n\s*\n+")


def graph_block(svg: str, max_height: int = 640) -> str:
    """The HTML that holds one picture on the page (for st.markdown: st.html drops SVG).

    One HTML block for the Markdown parser: no blank line inside, no indented line.
    """
    body = "\n".join(line.lstrip() for line in _BLANK.sub("\n", svg).splitlines())
    return f'<div class="gv-stage" style="max-height:{max_height}px">\n{body}\n</div>'


def show(svg: str, max_height: int = 640) -> None:
    import streamlit as st

    st.markdown(graph_block(svg, max_height), unsafe_allow_html=True)
