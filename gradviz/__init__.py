"""gradviz: see PyTorch autograd at work.

    import gradviz
    gradviz.show(loss)                 # the graph behind a tensor
    with gradviz.record() as rec:      # everything a block of code does
        ...
    gradviz.step(loss)                 # run backward() and step through it
    gradviz.gradcheck(lambda: loss_fn(w))   # autograd against finite differences

This module is the library's face: it joins capture (the live torch objects) and
explain (the words about them). torch is imported only when capture is used:
loading, drawing and explaining a saved recording needs none.

The package, one line a part (each folder's __init__ lists its own files):

    recording/      the plain-data Recording / Graph / Node / Step / Iteration and their JSON
    capture/        the only code that touches live torch objects
    explain/        words for learners: chain rule per step, updates, errors, pitfalls
    render/         DOT, SVG / PNG / PDF, the HTML stepper, TensorBoard events
    runner/         run a script in this process, or in a sandboxed child with time and memory caps
    script_watch.py while a script runs: its warnings and dead gradients, as notes
    lessons/        the lesson scripts and their catalogue
    cli.py          `gradviz render | lessons | app`
    ui/             the Streamlit app in pieces (ui/app.py is its table of contents)
    numbers.py      how numbers, values and shapes are written
    opnames.py      autograd class names and the forward op words learners know
    names.py        the names a learner gave to tensors, read from their namespaces
    user_code.py    which files and frames are the learner's code
    progress.py     progress reports of long runs (tqdm in the terminal)
    safe_pickle.py  a pickle loader that only accepts arrays of numbers
    words/          every word shown: tr(), both(), N_(); translations in gettext catalogs
    assets/         the HTML stepper's stylesheet and script (stepper.css, stepper.js)
    __main__.py     `python -m gradviz`: the CLI
"""
from __future__ import annotations

import os as _os
import sys as _sys

# `python -m gradviz` puts the current folder first on sys.path, so a learner's json.py or
# math.py there would be imported by gradviz itself, in this process: drop that entry.
if _sys.argv[:1] == ["-m"] and _sys.path and _sys.path[0] in ("", _os.getcwd()):
    del _sys.path[0]

from typing import TYPE_CHECKING, Any  # noqa: E402

from gradviz.recording import Graph, Recording

__version__ = "0.2.0"
__all__ = ["show", "record", "step", "gradcheck", "run_script", "Recording", "Graph", "__version__"]

if TYPE_CHECKING:
    import torch

    from gradviz.capture import Recorder
    from gradviz.runner import run_script


def record(explain: bool = True, **options: Any) -> "Recorder":
    """Record what runs inside a `with` block: ops, values, every backward().

    Options: at="1,100,last", total=N, progress=callback, max_graphs=100,
    snapshots=256 (see gradviz.capture.Recorder). explain=False keeps the numbers
    and leaves out the words (chain-rule texts, update formulas, pitfalls).
    """
    from gradviz.capture import Recorder
    from gradviz.explain import explain_recording

    return Recorder(on_finish=explain_recording if explain else None, **options)


def step(tensor: "torch.Tensor", explain: bool = True, **options: Any) -> Recording:
    """Run tensor.backward(**options) while recording it; returns the Recording."""
    with record(explain=explain) as rec:
        tensor.backward(**options)
    return rec


def show(tensor: "torch.Tensor", **options: Any) -> Graph:
    """The graph behind `tensor`, from its grad_fn chain, after the fact."""
    from gradviz.capture import show as draw

    return draw(tensor, **options)


def gradcheck(fn: Any, *leaves: Any, names: list[str] | None = None, **options: Any) -> list[dict]:
    """Autograd's leaf gradients against finite differences; each result with a note in words.

    `gradcheck(lambda: (w * 3) ** 2)` finds the leaves itself; `gradcheck(fn, w, b)` takes
    them as arguments (see gradviz.capture.gradcheck for the options).
    """
    from gradviz.capture.gradcheck import gradcheck as check
    from gradviz.explain.checks_text import add_notes

    return add_notes(check(fn, *leaves, names=names, **options))


def __getattr__(name: str) -> Any:
    if name == "run_script":
        from gradviz.runner import run_script

        return run_script
    raise AttributeError(name)
