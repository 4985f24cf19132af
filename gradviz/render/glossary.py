"""The glossary: the words of autograd a graph uses, and which of them each drawn node shows.

A learner who hovers (or taps) a node gets a card with just the entries that node
needs: a leaf box is a leaf with an AccumulateGrad step, an oval is a grad_fn with
its saved attributes, a big tensor prints as a summary. The whole glossary is also
one click away from the step's card. The words live here, in every language, and
ride in the page's data.
"""
from __future__ import annotations

from typing import Callable

from gradviz.recording import Graph, Node
from gradviz.words import N_

TERMS = ("leaf", "grad_fn", "AccumulateGrad", "retain_grad", "saved", "summary")

WORDS = {
    "glossary": N_("Glossary"),
    "glossary_hint": N_("Hover over or tap a node of the graph for the words it uses."),
    "close": N_("Close"),
    "g_leaf_t": N_("leaf tensor"),
    "g_leaf": N_("A tensor you made yourself, not computed from tensors that require grad "
                 "(`w = torch.tensor(1.0, requires_grad=True)`). After backward(), only leaves keep "
                 "their gradient in `.grad`."),
    "g_grad_fn_t": "grad_fn",
    "g_grad_fn": N_("An op on tensors that require grad records how to go backward, and the tensor it "
                    "makes points to it (`a = w * 3` gives `a.grad_fn` = MulBackward0). backward() runs "
                    "these nodes, the ovals, from the output back to the leaves."),
    "g_AccumulateGrad_t": "AccumulateGrad",
    "g_AccumulateGrad": N_("The last step on the way to a leaf: it adds the arriving gradient to the "
                           "leaf's `.grad`. It adds, so a second backward() without `zero_grad()` piles "
                           "the gradients up."),
    "g_retain_grad_t": "retain_grad()",
    "g_retain_grad": N_("A tensor that is not a leaf keeps no `.grad` (its box says “not a leaf”). Call "
                        "`t.retain_grad()` before backward() and its gradient is kept in `t.grad`."),
    "g_saved_t": N_("saved attributes (`self=1`, `other=3`)"),
    "g_saved": N_("What an op kept from the forward pass because its backward needs it: `a = w * 3` "
                  "keeps `other=3`, and its backward multiplies the arriving gradient by 3."),
    "g_summary_t": N_("mean [min, max] ‖·‖"),
    "g_summary": N_("A tensor too big to print is summed up: the mean of its elements, the smallest "
                    "and the largest in brackets, and its norm ‖·‖ (the square root of the sum of "
                    "the squares)."),
}


def node_terms(node: Node) -> list[str]:
    """The glossary entries a node's box or oval uses, in glossary order."""
    out: list[str] = []
    if node.kind == "op":
        out.append("grad_fn")
        if node.attrs and not node.attrs.get("copies"):
            out.append("saved")
        return out
    if node.is_leaf:
        out.append("leaf")
        if node.requires_grad and not node.constant:
            out.append("AccumulateGrad")
    else:
        out += ["grad_fn", "retain_grad"]
    if (node.value is None and node.summary) or (node.grad is None and node.grad_summary):
        out.append("summary")
    return out


def graph_terms(graph: Graph, visible: Callable[[str], list[str]]) -> dict[str, list[str]]:
    """Drawn node id -> its glossary entries (nodes drawn as themselves; not a collapsed block)."""
    out: dict[str, list[str]] = {}
    for n in graph.nodes:
        if n.id in visible(n.id):
            terms = node_terms(n)
            if terms:
                out[n.id] = terms
    return out


__all__ = ["TERMS", "WORDS", "node_terms", "graph_terms"]
