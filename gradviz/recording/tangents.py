"""TangentStep: one op of a forward-mode (dual number) pass."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TangentStep:
    """One op of a forward-mode (dual number) pass: the value it made and the tangent it
    carried forward, from the tangents its inputs carried (None: a constant, no tangent)."""

    index: int
    op: str  # the forward function: make_dual, sin, mul
    output: str  # the label of the tensor it made
    inputs: list[str] = field(default_factory=list)  # labels of its tensor inputs, in order
    input_values: list[Any] = field(default_factory=list)  # (None past 64 elements)
    input_tangents: list[Any] = field(default_factory=list)
    value: Any = None
    summary: dict | None = None
    tangent: Any = None
    tangent_summary: dict | None = None
    shape: list[int] = field(default_factory=list)
    line: int | None = None
    source: str | None = None
    explanation: str = ""
    explanation_ko: str = ""
