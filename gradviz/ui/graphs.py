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
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gradviz.recording import Graph
from gradviz.words import tr
from gradviz.render import stepview
from gradviz.render.dot import auto_rankdir
from gradviz.render.html import clean_svg

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
    collapse: str = "auto"  # "auto" (collapse big graphs), "0".."3" (module depth), "open" (every op)
    rankdir: str = "auto"  # "LR", "TB", or "auto": LR for shallow graphs, TB for deep ones
    lang: str = "en"
    fit: bool = True  # scale the picture to the page width (else 1:1 with scroll bars)

    def dot_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = dict(values=self.values, grads=self.grads, constants=self.constants,
                                  attrs=self.attrs, rankdir=self.rankdir, lang=self.lang,
                                  legend=False, title="")
        if self.collapse.isdigit():
            kw["depth"] = int(self.collapse)
        elif self.collapse == "open":
            kw["budget"] = 0
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


SLOW_STEP_S = 1.5  # a step picture that took longer switches its graph to the overview
_MODES: dict[tuple, str] = {}


def resolve(opts: DisplayOptions, graph: Graph) -> DisplayOptions:
    """The options that make the picture: "auto" layout decided, page-only settings dropped."""
    from dataclasses import replace

    rankdir = opts.rankdir if opts.rankdir in ("LR", "TB") else auto_rankdir(graph)
    return replace(opts, rankdir=rankdir, fit=True)


def mode(rec_key: str, gi: int, graph: Graph, opts: DisplayOptions) -> str:
    """"steps" (one layout per step) or "overview" (one layout, the step highlighted)."""
    key = (rec_key, gi, opts)
    if key not in _MODES:
        _MODES[key] = "overview" if stepview.use_overview(graph) else "steps"
    return _MODES[key]


def step_svg(rec_key: str, gi: int, graph: Graph, step: int | None, opts: DisplayOptions,
             prefetch: bool = True) -> str:
    """The picture of `graph` after backward step `step` (None: the finished graph).

    Per-step pictures re-lay the graph out with the gradients sent so far on
    its edges. Graphs too slow for that get one overview picture, and the step
    is shown by CSS: the current node outlined, the nodes still to come faded.
    """
    opts = resolve(opts, graph)
    if step is not None and graph.steps and mode(rec_key, gi, graph, opts) == "overview":
        base = _CACHE.get((rec_key, gi, None, opts), graph, None, opts)
        return highlight(base, graph, step)
    started = time.monotonic()
    svg = _CACHE.get((rec_key, gi, step, opts), graph, step, opts)
    if step is not None and time.monotonic() - started > SLOW_STEP_S:
        _MODES[(rec_key, gi, opts)] = "overview"
        return svg
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


def ready(rec_key: str, gi: int, graph: Graph, step: int | None, opts: DisplayOptions) -> bool:
    """Whether step_svg would answer from the cache (else the page shows a spinner)."""
    opts = resolve(opts, graph)
    if step is not None and graph.steps and mode(rec_key, gi, graph, opts) == "overview":
        step = None
    with _CACHE.lock:
        return (rec_key, gi, step, opts) in _CACHE.done


_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def highlight(svg: str, graph: Graph, step: int) -> str:
    """The overview picture with step `step` marked by a scoped style sheet."""
    from gradviz.render.style import CURRENT

    view = stepview.step_view(graph, step)
    scope = f"gv-o{abs(hash((id(graph), view.k))) % 10**9}"
    rules = []
    for current in sorted(view.current):
        if _SAFE_ID.match(current):
            rules.append(f"#{scope} #node-{current} > ellipse, #{scope} #node-{current} > polygon "
                         f"{{ stroke: {CURRENT}; stroke-width: 4px; }}")
    faded = [f"#{scope} #node-{n}" for n in sorted(view.todo) if _SAFE_ID.match(n)]
    if faded:
        rules.append(", ".join(faded) + " { opacity: .32; }")
    return f'<div id="{scope}"><style>{" ".join(rules)}</style>{svg}</div>'


def clear() -> None:
    _CACHE.clear()


def _draw(graph: Graph, step: int | None, opts: DisplayOptions) -> str:
    try:
        return clean_svg(graph.svg(step=step, **opts.dot_kwargs()))
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


def legend_html(lang: str) -> str:
    """What the colours mean, as a row of chips under the picture."""
    from gradviz.render.stepview import LEGEND_ROLES
    from gradviz.render.style import CURRENT, FILL, GRAD, ROLE_TEXT

    chips = [f'<span class="gv-chip"><i style="background:{FILL[r]}"></i>'
             f'{html.escape(tr(ROLE_TEXT[r], lang))}</span>' for r in LEGEND_ROLES]
    now, flow = tr("this step", lang), tr("gradient sent", lang)
    chips.append(f'<span class="gv-chip"><i style="border:2px solid {CURRENT};background:none"></i>{now}</span>')
    chips.append(f'<span class="gv-chip"><b style="color:{GRAD}">⟵</b>{flow}</span>')
    return f'<div class="gv-legend">{"".join(chips)}</div>'


def show(svg: str, max_height: int = 640, fit: bool = True) -> None:
    import streamlit as st

    block = graph_block(svg, max_height)
    if not fit:
        block = block.replace('class="gv-stage"', 'class="gv-stage gv-actual"', 1)
    st.markdown(block, unsafe_allow_html=True)
