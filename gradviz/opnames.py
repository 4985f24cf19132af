"""Autograd class name -> the forward op word a learner knows: MulBackward0 -> mul.

One rule for it, used by capture (an op node the forward log did not see is named
with `forward_name`) and by the chain-rule texts (`op_word`). No torch and nothing
of gradviz here: it works on names.
"""
from __future__ import annotations

import re
from typing import Protocol

_SUFFIX = re.compile(r"Backward\d*$")
_NAMES: dict[str, str] = {}  # class name -> forward name, filled as classes are seen

# The forward names a class may be called by; anything else gets the class's own word
# (the view at the end of F.linear is a view, not a "linear").
_ALIASES = {
    "ViewBackward0": ("view", "reshape", "flatten", "view_as", "reshape_as"),
    "UnsafeViewBackward0": ("view", "reshape", "flatten"),
    "ReshapeAliasBackward0": ("reshape", "flatten"),
    "TransposeBackward0": ("transpose", "swapaxes", "swapdims"),
    "ExpandBackward0": ("expand", "expand_as", "broadcast_to"),
    "CatBackward0": ("cat", "concat", "concatenate", "hstack", "vstack"),
    "SliceBackward0": ("narrow",),
    "SelectBackward0": ("select",),
}
# Classes whose own word is not their name without the suffix.
_WORD = {"UnsafeViewBackward0": "view", "ReshapeAliasBackward0": "reshape", "TBackward0": "t",
         "ToCopyBackward0": "to", "AliasBackward0": "alias"}


class OpNode(Protocol):
    """What op_word reads of a graph node (gradviz.recording.Node has both)."""

    op: str | None  # the autograd class: MulBackward0
    forward_op: str | None  # the forward call the log saw: mul, or None


def forward_name(cls_name: str) -> str:
    """MulBackward0 -> mul, AddmmBackward0 -> addmm, PowBackward2 -> pow."""
    hit = _NAMES.get(cls_name)
    if hit is None:
        hit = _NAMES[cls_name] = _SUFFIX.sub("", cls_name).lower() or cls_name
    return hit


def op_word(node: OpNode) -> str:
    """The forward name of an op node, as a learner would call it: mul, view, softmax."""
    cls = node.op or ""
    fwd = node.forward_op
    own = _WORD.get(cls) or forward_name(cls) or (fwd or "?")
    if cls in _ALIASES:
        return fwd if fwd in _ALIASES[cls] else own
    return fwd or own
