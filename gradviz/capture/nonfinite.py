"""Where a NaN or inf came from: the leaf or first logged op holding one, and the first
backward step that sent a non-finite gradient (the recorder's NaN events point there).
"""
from __future__ import annotations

import math
from typing import Any

import torch

from gradviz.capture.forward import source_line
from gradviz.capture.graph import LiveGraph
from gradviz.recording import Recording


def _nonfinite_tensor(t: torch.Tensor) -> bool:
    if not (t.is_floating_point() or t.is_complex()):
        return False
    return not bool(torch.isfinite(t.detach()).all())


def first_nonfinite(live: LiveGraph, calls: dict) -> dict:
    """The leaf, or else the first logged op in forward order, holding NaN or inf."""
    live.resolve()
    g = live.graph
    for nid, t in live.leaf_tensors.items():
        if _nonfinite_tensor(t):
            node = live.node(nid)
            return {"graph": g.index, "node": nid, "param": node.name, "op": None,
                    "line": None, "source": None, "cause": "param"}
    for call in list(calls.values()):
        out = call.output
        if _nonfinite_tensor(out):
            op_id = live.key_of.get(id(out.grad_fn))
            return {"graph": g.index, "node": op_id, "op": call.op, "line": call.line,
                    "source": source_line(call.file, call.line), "cause": "op"}
    return {}


def locate_grad_events(events: list[dict], rec: Recording) -> None:
    """A NaN/inf gradient: the first backward step that sent one, when the graph was kept."""
    for e in events:
        if e.get("kind") != "nonfinite" or e.get("what") != "grad":
            continue
        graph = next((g for g in rec.graphs if g.iteration == e["iteration"]), None)
        if graph is None:
            continue
        for step in graph.steps:
            if any(_has_nonfinite(gi.grad) or _has_nonfinite(gi.summary) for gi in step.grad_inputs):
                e.update(graph=graph.index, node=step.node, op=step.op, step=step.index)
                break


def _has_nonfinite(x: Any) -> bool:
    if isinstance(x, float):
        return not math.isfinite(x)
    if isinstance(x, list):
        return any(_has_nonfinite(v) for v in x)
    if isinstance(x, dict):
        return any(_has_nonfinite(x.get(k)) for k in ("min", "max", "norm"))
    return False
