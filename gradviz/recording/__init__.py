"""The data model: what a recording holds once capture is over.

Everything here is plain data (numbers, strings, lists, dicts), so a Recording
can be cached, pickled across processes, written as JSON and rendered without
importing torch. One exception keeps capture cheap: the summaries of big
tensors (min, max, mean, norm) are computed when first read, all of a graph's
at once (see `Deferred` in capture/values.py). Until then those objects hold
the tensors; reading any summary field, pickling, copying or writing JSON
fills them in and lets the tensors go.

Import every name from here (`from gradviz.recording import Recording`); the
files, one line each:

    recording.py  Recording (everything one run captured), ErrorInfo, and their JSON
    graph.py      Graph, Node, Edge, Step, GradInput: one graph as backward() ran it
    timeline.py   Iteration, ParamUpdate, ParamStep, OptimizerStep, ...: training over time
    pitfalls.py   Pitfall: a training pitfall seen in a recording
    tangents.py   TangentStep: one op of a forward-mode (dual number) pass
    later.py      fields whose values capture fills in later, a batch at once
    plain.py      plain values in and out of JSON (NaN as strings, unknown keys dropped)

Nothing here imports the rest of gradviz at module level (tests/test_layers.py):
the notebook conveniences (Graph.svg, Recording.save, ...) reach the render
façade inside their methods.
"""
from __future__ import annotations

from gradviz.recording.graph import Edge, GradInput, Graph, Node, Step
from gradviz.recording.pitfalls import Pitfall
from gradviz.recording.recording import JSON_VERSION, ErrorInfo, Recording, RecordingFormatError
from gradviz.recording.tangents import TangentStep
from gradviz.recording.timeline import (Formula, Iteration, ManualUpdate, OptimizerStep, ParamStep, ParamUpdate,
                                        TimelineFacts)

__all__ = ["Recording", "ErrorInfo", "RecordingFormatError", "JSON_VERSION",
           "Graph", "Node", "Edge", "Step", "GradInput",
           "Iteration", "ParamUpdate", "ParamStep", "OptimizerStep", "Formula", "ManualUpdate", "TimelineFacts",
           "Pitfall", "TangentStep"]
