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
    from gradviz.capture.gradcheck import gradcheck
    from gradviz.runner import run_script


def __getattr__(name: str) -> Any:
    # torch is imported only when capture is used: rendering a saved recording needs none.
    if name in ("show", "record", "step"):
        from gradviz import capture

        return getattr(capture, name)
    if name == "gradcheck":
        from gradviz.capture.gradcheck import gradcheck

        return gradcheck
    if name == "run_script":
        from gradviz.runner import run_script

        return run_script
    raise AttributeError(name)
