"""The other tools bench_scale.py times beside gradviz: torchviz and torchlens.

Neither is a dependency of gradviz. Install them in a virtual environment of the
benchmark's own (see bench/RESULTS.md, "Scale"), never into the project's: each
function returns None when its tool is not importable, and the table says so.

- torchviz: `make_dot(loss, show_attrs=True, show_saved=True)` and its SVG, made
  by `dot -Tsvg` as graphviz's `pipe` does (with pango, as a torchviz user gets it).
- torchlens: `trace()` of a module whose forward is the workload, `log_backward()`
  of its loss, and `draw()` to an SVG: forward and backward capture with a picture.
  torchlens wraps torch's functions on its first call and keeps them wrapped, so
  bench_scale runs it after everything else.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
import warnings
from typing import Callable


def version(name: str) -> str:
    try:
        from importlib.metadata import version as v

        __import__(name)
        return v(name)
    except Exception:
        return "not installed"


def torchviz_svg(run: Callable, timeout: float) -> float | None:
    """Seconds for make_dot(show_attrs, show_saved) + its render of a fresh graph;
    None past `timeout`. Raises ImportError without torchviz."""
    from torchviz import make_dot

    loss = run(backward=False)
    t0 = time.perf_counter()
    dot = make_dot(loss, show_attrs=True, show_saved=True)
    try:  # what dot.pipe(format="svg") does, with a time limit
        subprocess.run(["dot", "-Tsvg"], input=dot.source.encode(), capture_output=True,
                       timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - t0


def torchlens_run(run: Callable) -> Callable[[], None] | None:
    """One torchlens capture of the workload, forward and backward, drawn as an SVG;
    None without torchlens."""
    try:
        import torch
        import torchlens as tl
        from torch import nn
    except ImportError:
        return None

    class Workload(nn.Module):
        def forward(self, x):  # the workload's own tensors, as a learner's script holds them
            return run(backward=False)

    model, folder = Workload(), tempfile.mkdtemp(prefix="bench-torchlens-")

    def once() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tr = tl.trace(model, torch.zeros(1))
            tr.log_backward(tr[tr.output_layers[0]].out)
            tr.draw(vis_outpath=os.path.join(folder, "g"), vis_fileformat="svg",
                    vis_save_only=True)
    return once
