"""Pictures and pages of a recording: DOT, SVG / PNG / PDF, the HTML stepper, TensorBoard.

This package's functions below are the one door the data model goes through for its
conveniences (Graph.svg(), Graph.save(), Recording.save(), the notebook reprs):
gradviz.recording imports this package inside those methods only, never at module
level, and nothing here imports torch at module level (tests/test_layers.py).

    dot.py          Graph -> Graphviz DOT: micrograd's record boxes for real tensors
    collapse.py     views of big graphs: modules collapsed, repeated blocks folded
    svg.py          run Graphviz `dot` under a time limit, with simpler fallbacks
    files.py        write pictures and data atomically (no half-written file)
    html.py         the standalone HTML stepper (one self-contained page)
    notebook.py     the stepper inside an <iframe srcdoc> for notebooks (the app embeds it too)
    stepview.py     what backward step k looks like: one model for the SVG, the HTML stepper and the app
    stepsvg.py      --steps pictures of a big graph: one layout, each step marked by CSS
    predict.py      predict mode's questions: the gradient a learner types before a step shows it
    glossary.py     the glossary's entries, and which of them each drawn node shows on hover
    forward.py      forward mode's steps (Recording.tangents) for the stepper page
    contours.py     contour lines of a sampled 2-D loss (the optimizer playground's picture)
    style.py        colours, shapes and legend words shared by pictures and pages
    tensorboard.py  the timeline and the graphs as TensorBoard events (lazy torch)
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradviz.recording import Graph, Recording

__all__ = ["graph_dot", "graph_svg", "save_graph", "save_recording", "stepper_html",
           "write_tensorboard"]


def graph_dot(graph: "Graph", **options: Any) -> str:
    """DOT text of `graph` (its own `options` as defaults)."""
    from gradviz.render.dot import graph_dot as make

    return make(graph, **options)


def graph_svg(graph: "Graph", **options: Any) -> str:
    """SVG text of `graph`, laid out by Graphviz under a time limit."""
    from gradviz.render.svg import render_graph

    return render_graph(graph, "svg", **options).decode("utf-8")


def save_graph(graph: "Graph", path: Path, **options: Any) -> Path:
    """The picture or data of `graph` in the format its suffix names (.svg .png .pdf .dot .json)."""
    from gradviz.render.files import save_graph as save

    return save(graph, path, **options)


def save_recording(rec: "Recording", path: Path) -> Path:
    """`.html`: the stepper page; anything else: the recording's JSON."""
    from gradviz.render.files import atomic_write

    if path.suffix == ".html":
        atomic_write(path, stepper_html(rec).encode())
    else:
        text = rec.to_json()
        if len(text) < INDENT_BELOW:  # small enough to read by eye: indented
            text = rec.to_json(indent=1)
        atomic_write(path, text.encode())
    return path


# JSON indented only below this size: indenting takes Python's pure-Python encoder, twice
# the time of the compact one (lesson 17's 11 MB: 0.62 s against 0.30 s)
INDENT_BELOW = 1024 * 1024


def stepper_html(rec: "Recording", embed: bool = False, lang: str = "en") -> str:
    """The standalone stepper page (embed=True: an <iframe> fragment for notebooks)."""
    from gradviz.render.html import recording_html

    return recording_html(rec, embed=embed, lang=lang)


def write_tensorboard(rec: "Recording", logdir: Path, pictures: bool = True) -> Path:
    """The timeline and graph pictures as TensorBoard events (needs the tensorboard package)."""
    from gradviz.render.tensorboard import write_tensorboard as write

    return write(rec, logdir, pictures)
