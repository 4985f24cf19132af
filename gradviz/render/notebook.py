"""Notebook display: a full gradviz page inside an <iframe srcdoc>.

An iframe is the one container that behaves the same in JupyterLab, classic
Notebook and VS Code: its scripts run in their own document (no ipywidgets, no
clashing ids, no styles leaking either way), and it needs no server or network.
The page inside resizes the frame to its content when the host allows it.
"""
from __future__ import annotations

import html
import uuid

DEFAULT_HEIGHT = 720  # px, until the page inside has measured itself


def iframe(page: str, title: str = "gradviz", height: int = DEFAULT_HEIGHT) -> str:
    """An HTML fragment that shows the standalone `page` in a notebook output."""
    frame_id = f"gradviz-frame-{uuid.uuid4().hex[:12]}"
    return (
        f'<iframe id="{frame_id}" class="gradviz-frame" title="{html.escape(title)}" '
        f'data-gv-autosize="1" srcdoc="{html.escape(page, quote=True)}" '
        f'style="width:100%;height:{int(height)}px;border:0;display:block;'
        f'background:transparent" loading="eager"></iframe>'
    )


__all__ = ["iframe"]
