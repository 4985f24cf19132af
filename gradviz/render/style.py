"""Colours, shapes and legend words (msgids, see gradviz.words) shared by every picture and page.

Numbers are formatted by gradviz.numbers.

Fills are light with dark text and the edges mid-grey, so a graph reads on a
light page and on a dark one alike (the SVG background stays transparent).
"""
from __future__ import annotations

from gradviz.words import N_

FILL = {
    "leaf": "#ffd43b",  # a leaf that requires grad: what training changes
    "intermediate": "#a5d8ff",  # made by an op
    "constant": "#dee2e6",  # takes part, gets no gradient
    "output": "#b2f2bb",  # where backward() starts
    "op": "#ffc9c9",  # an autograd node
}
ROLE_TEXT = {  # the legend: tr(ROLE_TEXT[role], lang)
    "leaf": N_("leaf (requires grad)"),
    "intermediate": N_("intermediate"),
    "constant": N_("constant (no grad)"),
    "output": N_("output (backward starts here)"),
    "op": N_("autograd op"),
}
TEXT = "#1a1a1a"
EDGE = "#868e96"
GRAD = "#e8590c"  # gradients flowing backward: readable on white and on dark grey
CURRENT = "#d6336c"
FUTURE_FILL = "#f1f3f5"
FONT = "Helvetica,Arial,Noto Sans CJK KR,sans-serif"

OP_SYMBOL = {
    "add": "+", "sub": "−", "rsub": "−", "mul": "×", "div": "÷", "neg": "−x", "pow": "xⁿ",
    "matmul": "@", "mm": "@", "bmm": "@", "addmm": "x@W+b", "linear": "x@Wᵀ+b",
    "sum": "Σ", "mean": "mean", "exp": "eˣ", "log": "log", "sqrt": "√",
}
