"""Run Graphviz `dot` under a time limit, with simpler views when a layout takes too long.

No picture may hang the tool. `run_dot` (DOT text in, bytes out) tries:

1. the layout as asked, for `timeout` seconds;
2. a cheaper layout of the same graph (capped network simplex, no crossing
   minimisation, straight edges), for half that, with a notice in the picture;
3. a small placeholder picture that says what happened and how to get a
   smaller view (--depth, --budget, --fold); it needs no layout at all.

`render_graph` (a Graph in) goes one better: before the placeholder it draws
a collapsed view of the graph (render/collapse.py), which usually lays out in
well under a second whatever the size of the recording.
"""
from __future__ import annotations

import atexit
import glob
import html
import os
import re
import shutil
import subprocess
import tempfile
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradviz.recording import Graph

DOT_TIMEOUT = 20.0  # seconds for a layout; the fallbacks get half of it, then a placeholder

# Step 2: cheaper settings of the same layout. nslimit/nslimit1 cap the network
# simplex passes (ranking and placement), mclimit and remincross cut the crossing
# minimisation, splines=line skips spline routing.
CHEAP = ["-Gnslimit=0.05", "-Gnslimit1=0.05", "-Gmclimit=0.05", "-Gremincross=false",
         "-Gsplines=line", "-Gsearchsize=5"]


class DotMissing(RuntimeError):
    pass


def dot_binary() -> str:
    path = shutil.which("dot")
    if path is None:
        raise DotMissing(
            "Graphviz 'dot' was not found. Install it (Debian/Ubuntu: apt-get install graphviz; "
            "macOS: brew install graphviz) or run scripts/setup.sh."
        )
    return path


def _run(cmd: list[str], dot_text: str, timeout: float) -> bytes:
    # SVG: text measured without pango (see lean_text_env); PNG and PDF draw it with pango
    env = lean_text_env() if cmd[1:2] == ["-Tsvg"] else None
    try:
        return subprocess.run(cmd, input=dot_text.encode(), capture_output=True,
                              timeout=max(timeout, 0.001), check=True, env=env).stdout
    except subprocess.CalledProcessError as e:
        if ", concentrate=true" in dot_text:  # merging edges trips some Graphviz versions: without
            return _run(cmd, dot_text.replace(", concentrate=true", "", 1), timeout)
        raise RuntimeError(f"dot failed: {e.stderr.decode(errors='replace').strip()[:300]}") from None


def run_dot(dot_text: str, fmt: str = "svg", timeout: float = DOT_TIMEOUT) -> bytes:
    """Lay out and draw; on a time-out, a cheaper layout, then a placeholder, each with a notice."""
    cmd = [dot_binary(), f"-T{fmt}"]
    try:
        return _run(cmd, dot_text, timeout)
    except subprocess.TimeoutExpired:
        pass
    note = f"layout took over {timeout:.3g} s: simplified layout (straight edges)"
    try:
        return _run(cmd + CHEAP, _note(dot_text, note), timeout / 2)
    except subprocess.TimeoutExpired:
        pass
    return placeholder(fmt, _count_nodes(dot_text), 1.5 * timeout)


def render_graph(graph: "Graph", fmt: str = "svg", timeout: float = DOT_TIMEOUT,
                 **options: Any) -> bytes:
    """A Graph drawn under a time limit: as asked, else collapsed, else a placeholder.

    options are graph_to_dot's (depth, budget, fold, step, values, ...).
    """
    from gradviz.render.dot import graph_to_dot

    options = {**graph.options, **options}  # (graph_dot's rule, once for both attempts below)
    start = time.monotonic()
    cmd = [dot_binary(), f"-T{fmt}"]
    try:
        return _run(cmd, graph_to_dot(graph, **options), timeout)
    except subprocess.TimeoutExpired:
        pass
    left = max(timeout / 2, timeout - (time.monotonic() - start))
    simpler = {**options, "depth": None, "budget": 60, "fold": True}
    note = f"layout took over {timeout:.3g} s: a collapsed view instead (at most 60 nodes)"
    try:
        return _run(cmd + CHEAP, _note(graph_to_dot(graph, **simpler), note), left / 2)
    except subprocess.TimeoutExpired:
        pass
    return placeholder(fmt, len(graph.nodes), timeout)


def placeholder(fmt: str, nodes: int, seconds: float) -> bytes:
    """A picture that needs no layout: what happened, and what to try instead."""
    lines = [f"This graph ({nodes} nodes) could not be laid out in {seconds:.3g} s.",
             "Try a smaller view: --depth 1, --budget 100 or --fold",
             "(Python: graph.svg(depth=1), graph.svg(budget=100, fold=True))."]
    if fmt == "svg":
        body = "".join(f'<text x="12" y="{28 + 22 * i}">{html.escape(t)}</text>'
                       for i, t in enumerate(lines))
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="620pt" height="{40 + 22 * len(lines)}pt" '
                f'viewBox="0 0 620 {40 + 22 * len(lines)}" font-family="Helvetica,Arial,sans-serif" '
                f'font-size="14" fill="#868e96"><g id="gradviz-placeholder">{body}</g></svg>').encode()
    text = "\\n".join(t.replace('"', "'") for t in lines)
    tiny = f'digraph gradviz {{ node [shape=box, fontname="Helvetica"]; note [label="{text}"]; }}'
    return _run([dot_binary(), f"-T{fmt}"], tiny, 10.0)


_LEAN: dict[str, Any] = {}


def lean_text_env() -> dict | None:
    """An environment where `dot` measures text from its built-in font metrics.

    With its pango plugin, dot asks pango for the size of every line of every
    label: about a third of the layout time of a 1600-node graph, and loading
    pango and fontconfig alone costs more than laying out a small graph (W1:
    21 ms with pango, 3 ms without; a lesson's step pictures are small). SVG output
    does not need pango (the browser draws the text), and the built-in metrics
    of Helvetica give boxes within a few points of pango's (Korean and math signs
    a little wider, so nothing overflows). So every SVG runs
    with GVBINDIR pointing at a private folder that holds only dot's core and
    layout plugins. Where that cannot be set up, None: dot as usual.
    GRADVIZ_DOT_PANGO=1 turns this off.
    """
    if os.environ.get("GRADVIZ_DOT_PANGO") == "1":
        return None
    if "env" in _LEAN:
        return _LEAN["env"]
    _LEAN["env"] = None
    try:
        dot = dot_binary()
        info = subprocess.run([dot, "-v", "-Tsvg"], input=b"digraph{}", capture_output=True,
                              timeout=10).stderr.decode(errors="replace")
        m = re.search(r'libdir = "([^"]+)"', info)
        if not m:
            return None
        libs = [f for name in ("core", "dot_layout")
                for f in glob.glob(os.path.join(m.group(1), f"libgvplugin_{name}.*"))]
        if not any("dot_layout" in f for f in libs) or not any("core" in f for f in libs):
            return None
        folder = tempfile.mkdtemp(prefix="gradviz-dot-")
        atexit.register(shutil.rmtree, folder, True)
        for f in libs:
            os.symlink(f, os.path.join(folder, os.path.basename(f)))
        env = {**os.environ, "GVBINDIR": folder}
        subprocess.run([dot, "-c"], env=env, capture_output=True, timeout=10, check=True)
        test = subprocess.run([dot, "-Tsvg"], input=b'digraph{a[label=<<B>x</B>>]}', env=env,
                              capture_output=True, timeout=10)
        if test.returncode == 0 and b"<svg" in test.stdout:
            _LEAN["env"] = env
    except (OSError, subprocess.SubprocessError, DotMissing):
        pass
    return _LEAN["env"]


def _count_nodes(dot_text: str) -> int:
    return sum(1 for line in dot_text.splitlines() if line.startswith('  "') and "->" not in line)


def _note(dot_text: str, note: str) -> str:
    """Put `note` at the bottom of the picture (its own label: a heading stays as it was)."""
    safe = html.escape(note, quote=True)
    return dot_text.replace(
        "digraph gradviz {",
        "digraph gradviz {\n  subgraph cluster_gradviz_note { label=\"\"; color=\"transparent\"; "
        f'gradviz_note [shape=plaintext, fontsize=10, label=<<I>{safe}</I>>]; }}', 1)


def render_svg(dot_text: str, timeout: float = DOT_TIMEOUT) -> str:
    return run_dot(dot_text, "svg", timeout).decode("utf-8")
