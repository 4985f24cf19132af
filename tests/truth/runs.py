"""Run one seeded program three ways: plainly, under Reference, under gradviz.record().

A program is a function of no arguments that does its own backward() calls and
returns a dict of what its user would look at (the loss, leaves, buffers, the result
of autograd.grad). Each run starts from the same seed; the next torch.rand(1) draw
after it shows whether anything consumed random numbers.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

import gradviz
from gradviz.recording import Recording

from .reference import Reference

SEED = 1234


def dense(t: torch.Tensor) -> torch.Tensor:
    return t.to_dense() if t.layout != torch.strided else t


def plain(v: Any) -> Any:
    """What the user sees of a returned value: numbers, and .grad for tensors."""
    if isinstance(v, torch.Tensor):
        has_grad = (v.is_leaf or v.retains_grad) and v.grad is not None
        grad = dense(v.grad.detach()).tolist() if has_grad else None
        return {"value": dense(v.detach()).tolist(), "grad": grad}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


@dataclass
class Runs:
    plain: Any
    plain_draw: list
    ref: Reference
    ref_out: Any
    ref_raw: dict  # what the program returned under the Reference: the tensors themselves
    ref_draw: list
    rec: Recording | None
    rec_out: Any
    rec_draw: list
    error: BaseException | None = None  # what record() raised, if it did

    @property
    def graphs(self) -> list:
        return self.rec.graphs if self.rec is not None else []


def _seeded(fn: Callable[[], Any]) -> tuple[Any, list]:
    torch.manual_seed(SEED)
    out = fn()
    return out, torch.rand(1).tolist()


def run_three(prog: Callable[[], dict], **record_options: Any) -> Runs:
    plain_out, plain_draw = _seeded(lambda: plain(prog()))
    ref = Reference()
    raw: dict = {}

    def under_ref() -> Any:
        with ref:
            raw.update(prog())
        return plain(raw)

    ref_out, ref_draw = _seeded(under_ref)
    holder: dict = {}

    def under_gradviz() -> Any:
        try:
            with gradviz.record(**record_options) as rec:
                holder["rec"] = rec
                out = prog()
        except Exception as e:  # a defect under test: the run goes on without it
            holder["error"] = e
            return None
        return plain(out)

    rec_out, rec_draw = _seeded(under_gradviz)
    return Runs(plain_out, plain_draw, ref, ref_out, raw, ref_draw, holder.get("rec"), rec_out,
                rec_draw, holder.get("error"))
