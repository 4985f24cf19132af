"""Chain-rule text for each backward step, with the numbers that step really saw.

    ∂l/∂w = ∂l/∂a · 3 = 6 · 3 = 18

Every explanation is rendered from a structured form, `step_arithmetic(graph,
step, element)`, which returns one `Term` per gradient the step sent: the rule
(`rule`, symbols), the numbers it multiplies (`products`: the result is the sum
over products of the product of their factors) and the `result`. Tests recompute
those numbers from the recorded forward values and compare them with the
gradients autograd actually produced; at run time each term is checked the same
way against the step's `grad_inputs`, and a term whose arithmetic does not match
(an op used in a way these rules do not model, e.g. a loss with a `weight=`)
prints only the number autograd sent. An explanation never raises.

For tensors, a term explains one element: `element` is a flat index into the
gradient being explained (the input's shape; it wraps around smaller tensors).
Reductions that undo broadcasting show as a sum (Σⱼ) with a note. Tensors of more
than 64 elements keep no values: their terms show the rule and the number autograd
sent (capture keeps the first 64 numbers of a big gradient; past those the text says
the number was not kept, it never prints a dash). Values of tensors made inside
torch's own functions (the weight.t() in F.linear, the log_softmax in F.cross_entropy)
are recomputed from their input where that is simple; where not, the note says the
values were not recorded (not that they were too many). Where PyTorch picks a
convention (relu'(0) = 0, abs'(0) = 0, how max shares a tie, which index sort gives
equal values) a note says so. Tensors print under the learner's names or their
expression, the same in every line (reading.py).

Public: `explain_graph(graph, element=0)` fills every step's `explanation` and
`explanation_ko`; `explain_step(graph, step, lang="en", element=0)` gives one text
for a learner-picked element; `step_arithmetic(graph, step, element=0)` the Terms.
`RULES` maps autograd class names to their rules (`find_rule` adds custom
autograd.Functions); any other op gets a generic text with the numbers in and out.

No torch here: everything is read from the plain Graph.

Files of this package, each with one job:

    terms.py        Term and Num (what an explanation prints) and how factors print
    indices.py      index and dim arithmetic: [0,2], negative dims, reduced indices
    reading.py      _Index: look-ups over one Graph, recomputed values, printed names
    op_context.py   _Op: everything one rule needs about one op step
    rules/          the RULES registry and one module per family of ops (listed there)
    steps.py        the Terms of one step: accumulate, fan-in, checked against autograd
    text.py         Terms -> text, and explain_step / explain_graph
"""
from __future__ import annotations

from gradviz.explain.chain_rule.rules import RULES
from gradviz.explain.chain_rule.rules import RuleFn as RuleFn  # to add a rule, with `rule`
from gradviz.explain.chain_rule.rules import rule as rule
from gradviz.explain.chain_rule.steps import step_arithmetic
from gradviz.explain.chain_rule.terms import Num, Term
from gradviz.explain.chain_rule.text import explain_graph, explain_step
from gradviz.opnames import op_word as op_word  # lives in gradviz.opnames now

__all__ = ["Term", "Num", "step_arithmetic", "explain_step", "explain_graph", "RULES"]
