"""gradviz: see PyTorch autograd at work.

    import gradviz
    gradviz.show(loss)                 # the graph behind a tensor
    with gradviz.record() as rec:      # everything a block of code does
        ...
    gradviz.step(loss)                 # run backward() and step through it
    gradviz.gradcheck(lambda: loss_fn(w))   # autograd against finite differences
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gradviz.recording import Graph, Recording

__version__ = "0.2.0"
__all__ = ["show", "record", "step", "gradcheck", "run_script", "Recording", "Graph", "__version__"]

if TYPE_CHECKING:
    from gradviz.capture import record, show, step
    from gradviz.runner import run_script


def gradcheck(fn: Any, *leaves: Any, names: list[str] | None = None, **options: Any) -> list[dict]:
    """Autograd's leaf gradients against finite differences; each result with a note in words.

    `gradcheck(lambda: (w * 3) ** 2)` finds the leaves itself; `gradcheck(fn, w, b)` takes
    them as arguments (see gradviz.capture.gradcheck for the options).
    """
    from gradviz.capture.gradcheck import gradcheck as check
    from gradviz.explain.checks_text import add_notes

    return add_notes(check(fn, *leaves, names=names, **options))


def __getattr__(name: str) -> Any:
    # torch is imported only when capture is used: rendering a saved recording needs none.
    if name in ("show", "record", "step"):
        from gradviz import capture

        return getattr(capture, name)
    if name == "run_script":
        from gradviz.runner import run_script

        return run_script
    raise AttributeError(name)
