"""Graph pictures for the page: one SVG per (recording, graph, step, options), cached.

`dot` lays a small graph out in 30 to 60 ms and a 150-node one in over half a
second, too slow for a step click. So each picture is drawn once, kept in a
process-wide LRU cache, and the steps next to the one on screen are drawn in the
background while the learner reads: a click on "next" finds its picture ready.
Recordings are plain data that no one mutates, so worker threads may read them.
"""
from __future__ import annotations

import html
import re
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gradviz.recording import Graph

CACHE_SIZE = 600
PREFETCH_AHEAD = 3
PREFETCH_ALL_MAX_STEPS = 40  # small graphs: draw every step in the background


@dataclass(frozen=True)
class DisplayOptions:
    """What the picture shows; part of every cache key."""

    values: bool = True
    grads: bool = True
    constants: bool = True
    attrs: bool = True
    depth: int = 0
    rankdir: str = "LR"
    lang: str = "en"

    def dot_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = dict(values=self.values, grads=self.grads, constants=self.constants,
                                  attrs=self.attrs, rankdir=self.rankdir, lang=self.lang,
                                  legend=False, title="")
        if self.depth:
            kw["depth"] = self.depth
        return kw


class _SvgCache:
    def __init__(self, size: int):
        self.size = size
        self.lock = threading.Lock()
        self.done: OrderedDict[tuple, str] = OrderedDict()
        self.running: dict[tuple, Future] = {}
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gradviz-svg")

    def get(self, key: tuple, graph: Graph, step: int | None, opts: DisplayOptions) -> str:
        with self.lock:
            if key in self.done:
                self.done.move_to_end(key)
                return self.done[key]
            fut = self.running.get(key)
        if fut is not None:
            return fut.result()
        svg = _draw(graph, step, opts)
        self._store(key, svg)
        return svg

    def prefetch(self, key: tuple, graph: Graph, step: int | None, opts: DisplayOptions) -> None:
        with self.lock:
            if key in self.done or key in self.running:
                return
            fut = self.pool.submit(self._background, key, graph, step, opts)
            self.running[key] = fut

    def _background(self, key: tuple, graph: Graph, step: int | None, opts: DisplayOptions) -> str:
        try:
            svg = _draw(graph, step, opts)
            self._store(key, svg)
            return svg
        finally:
            with self.lock:
                self.running.pop(key, None)

    def _store(self, key: tuple, svg: str) -> None:
        with self.lock:
            self.done[key] = svg
            self.done.move_to_end(key)
            while len(self.done) > self.size:
                self.done.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.done.clear()


_CACHE = _SvgCache(CACHE_SIZE)


def step_svg(rec_key: str, gi: int, graph: Graph, step: int | None, opts: DisplayOptions,
             prefetch: bool = True) -> str:
    """The picture of `graph` after backward step `step` (None: the finished graph)."""
    svg = _CACHE.get((rec_key, gi, step, opts), graph, step, opts)
    if prefetch and step is not None and graph.steps:
        n = len(graph.steps)
        if n <= PREFETCH_ALL_MAX_STEPS:
            order = list(range(step + 1, n)) + list(range(step - 1, -1, -1))
        else:
            order = [k for k in (step + 1, step - 1, *range(step + 2, step + 1 + PREFETCH_AHEAD), n - 1, 0)
                     if 0 <= k < n]
        for k in order:
            _CACHE.prefetch((rec_key, gi, k, opts), graph, k, opts)
    return svg


def clear() -> None:
    _CACHE.clear()


def _draw(graph: Graph, step: int | None, opts: DisplayOptions) -> str:
    try:
        return clean_svg(graph.svg(step=step, **opts.dot_kwargs()))
    except Exception as e:  # no dot binary, a layout that failed: say so in the page
        from gradviz.ui.i18n import t

        msg = html.escape(f"{type(e).__name__}: {e}"[:400])
        return f'<div class="gv-nosvg">{html.escape(t("render_failed", opts.lang, msg=""))}{msg}</div>'


_PROLOG = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", re.S)
_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')


def clean_svg(svg: str) -> str:
    """dot's SVG, ready to inline: no prolog or comments, px sizes that scale down to fit."""
    svg = _PROLOG.sub("", svg).strip()
    m = _SIZE.search(svg)
    if m:
        w, h = (float(v) * 4 / 3 for v in m.groups())  # pt -> CSS px
        svg = svg.replace(m.group(0), f'<svg class="gv-svg" width="{w:.0f}" height="{h:.0f}" '
                                      f'style="--w:{w:.0f}px"', 1)
    return svg


_BLANK = re.compile(r"\n\s*\n+")


def graph_block(svg: str, max_height: int = 640) -> str:
    """The HTML that holds one picture on the page (for st.markdown: st.html drops SVG).

    One HTML block for the Markdown parser: no blank line inside, no indented line.
    """
    body = "\n".join(line.lstrip() for line in _BLANK.sub("\n", svg).splitlines())
    return f'<div class="gv-stage" style="max-height:{max_height}px">\n{body}\n</div>'


def legend_html(lang: str) -> str:
    """What the colours mean, as a row of chips under the picture."""
    from gradviz.render.style import CURRENT, FILL, GRAD, ROLE_TEXT

    words = ROLE_TEXT.get(lang, ROLE_TEXT["en"])
    chips = [f'<span class="gv-chip"><i style="background:{FILL[r]}"></i>{html.escape(words[r])}</span>'
             for r in ("leaf", "intermediate", "constant", "output", "op")]
    now = "현재 단계" if lang == "ko" else "this step"
    flow = "전달된 기울기" if lang == "ko" else "gradient sent"
    chips.append(f'<span class="gv-chip"><i style="border:2px solid {CURRENT};background:none"></i>{now}</span>')
    chips.append(f'<span class="gv-chip"><b style="color:{GRAD}">⟵</b>{flow}</span>')
    return f'<div class="gv-legend">{"".join(chips)}</div>'


def show(svg: str, max_height: int = 640) -> None:
    import streamlit as st

    st.markdown(graph_block(svg, max_height), unsafe_allow_html=True)
