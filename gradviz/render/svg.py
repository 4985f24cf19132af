"""Run Graphviz `dot`, with a time limit and a plain fallback when layout takes too long."""
from __future__ import annotations

import shutil
import subprocess

DOT_TIMEOUT = 20.0  # seconds; a layout that takes longer falls back to a simpler engine


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


def run_dot(dot_text: str, fmt: str = "svg", timeout: float = DOT_TIMEOUT) -> bytes:
    """Lay out and draw; on a time-out, retry with a cheaper layout and say so."""
    cmd = [dot_binary(), f"-T{fmt}"]
    try:
        return subprocess.run(cmd, input=dot_text.encode(), capture_output=True,
                              timeout=timeout, check=True).stdout
    except subprocess.TimeoutExpired:
        fallback = dot_text.replace("digraph gradviz {", "digraph gradviz {\n  graph [splines=false];", 1)
        fallback = _note(fallback, f"layout took over {timeout:.0f} s: simplified view (straight edges)")
        try:
            return subprocess.run(cmd + ["-Gnslimit=1", "-Gmclimit=0.1"], input=fallback.encode(),
                                  capture_output=True, timeout=timeout, check=True).stdout
        except subprocess.TimeoutExpired:
            fallback = _note(fallback, "the graph is too big to lay out in time: grid view")
            return subprocess.run([cmd[0], "-Kosage", f"-T{fmt}"], input=fallback.encode(),
                                  capture_output=True, timeout=timeout, check=True).stdout
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"dot failed: {e.stderr.decode(errors='replace').strip()[:300]}") from None


def _note(dot_text: str, note: str) -> str:
    safe = note.replace('"', "'")
    return dot_text.replace("digraph gradviz {", f'digraph gradviz {{\n  label="{safe}"; labelloc="b";', 1)


def render_svg(dot_text: str, timeout: float = DOT_TIMEOUT) -> str:
    return run_dot(dot_text, "svg", timeout).decode("utf-8")
