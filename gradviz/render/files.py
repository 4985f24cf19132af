"""Write pictures and data to disk atomically: a killed run leaves no half file."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradviz.recording import Graph

FORMATS = ("svg", "png", "pdf", "dot", "json", "html")


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def graph_bytes(graph: "Graph", fmt: str, **options: Any) -> bytes:
    from gradviz.render.dot import graph_dot
    from gradviz.render.svg import render_graph

    if fmt == "json":
        return json.dumps(graph.to_dict(), ensure_ascii=False, indent=1).encode()
    if fmt == "dot":
        return graph_dot(graph, **options).encode()
    if fmt == "svg" and options.get("step") is not None:
        from gradviz.render.stepview import use_overview

        if use_overview(graph):  # a big graph: one layout for every step (render/stepsvg.py)
            from gradviz.render.stepsvg import overview_step_svg

            rest = {k: v for k, v in options.items() if k != "step"}
            return overview_step_svg(graph, options["step"], **rest)
    if fmt in ("svg", "png", "pdf"):  # time-limited, with a collapsed view as the fallback
        return render_graph(graph, fmt, **options)
    raise ValueError(f"unknown format {fmt!r}: use one of svg, png, pdf, dot, json")


def save_graph(graph: "Graph", path: Path, **options: Any) -> Path:
    fmt = path.suffix.lstrip(".").lower()
    atomic_write(path, graph_bytes(graph, fmt, **options))
    return path
