"""Every number and every claim of an explanation, against what autograd computed.

For one step and one picked element, `explanation_problems` reads each line of
`explain_step(graph, step, lang, element)`:

- the header's output shapes are the true ones;
- a chain line `lhs = rule = numbers = result`: the result is the true gradient
  element (4 significant digits), the index in lhs is that element's, the printed
  arithmetic adds up to the printed result (within what rounding its factors to 4
  digits allows), and every printed factor is a true number of that step: an
  upstream gradient, an operand, the output, a local derivative ∂y[o]/∂x[j] (the
  node's own Jacobian) or a constant the rule writes out (2 in `2 · a`);
- a row `∂L/∂y[o] · f · g` is the upstream at some o times that o's local derivative;
- `x.grad` lines: the leaf's true .grad, incoming and contributions;
- each note's claim (see NOTES), in English and Korean.

A line that is none of these is a problem, unless UNPARSED allows it (with a reason).
"""
from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable

import numpy as np
import torch

from .compare import Match
from .texts import NUM, REL, close4, flat, number, parse_arith, split_top, value_problem

# Lines this checker cannot read, and why that is acceptable. Empty: every line is read.
UNPARSED: dict[str, str] = {}


class StepTruth:
    """What autograd computed at one step (mapped through a Match)."""

    def __init__(self, m: Match, k: int):
        self.m, self.k = m, k
        self.hooked = m.call.steps[k]
        self.node = m.call.nodes[self.hooked.node]
        self.U = self.hooked.grad_outputs
        fn = self.node.fn
        self.Y = [m.ref.value(fn, q) for q in range(len(self.U))] if self.node.leaf is None else []
        self.X = [self._input(i) for i in range(len(self.node.nexts))]

    def _input(self, i: int) -> torch.Tensor | None:
        nk, nr = self.node.nexts[i]
        if nk is None:
            return None
        nxt = self.m.call.nodes[nk]
        return self.m.call.leaf_value[nk] if nxt.leaf is not None else self.m.ref.value(nxt.fn, nr)

    def flowing(self) -> list[int]:
        """The edges a gradient went along (toward a tensor that takes one)."""
        return [i for i, g in enumerate(self.hooked.grad_inputs)
                if g is not None and self.node.nexts[i][0] is not None]

    def numbers(self, i: int | None, e: int) -> list[float]:
        """The true numbers a factor may be: upstream, output, operands, saved, local derivative."""
        vals: list[float] = []
        for t in [*self.U, *self.Y, *self.X, *self._args()]:
            if isinstance(t, torch.Tensor) and t.numel() <= 4096:
                vals.extend(flat(t))
            elif isinstance(t, (int, float)) and not isinstance(t, bool):
                vals.append(float(t))
        vals += self._derived()
        jac = self.node.jac
        if i is not None and jac is not None and i < len(jac) and jac[i] is not None:
            vals.extend(jac[i][:, e].tolist())
        vals.extend(self._line_sums())
        return sorted(vals)

    def _derived(self) -> list[float]:
        """Numbers one step from the true ones, as rules print them: 1 − y, −x, 1/x, and
        x[j] − t[j] for two operands of one shape (mse's (x − target))."""
        ts = [t.double() for t in [*self.X, *self.Y, *self._args()]
              if isinstance(t, torch.Tensor) and 0 < t.numel() <= 4096 and t.is_floating_point()]
        out = []
        for t in ts:
            out += flat(1 - t) + flat(-t) + flat(1 / t)
            out += [v for u in ts if u.shape == t.shape and u is not t for v in flat(t - u)]
        return out

    def _args(self) -> list:
        fn = self.node.fn
        out = list(self.m.ref.args.get(id(fn), []))
        out.extend(v for v in self.node.saved.values())
        for ins in self.m.ref.internal_args(fn):
            out.extend(ins)
        return out

    def _line_sums(self) -> list[float]:
        """Σₖ g·y and Σₖ g along each dim: the sums softmax and log_softmax print."""
        out = []
        for g, y in zip(self.U, self.Y):
            if g is None or y is None or g.shape != y.shape or g.numel() > 4096:
                continue
            g, y = g.double(), y.double()
            for d in range(max(g.dim(), 1)):
                for t in (g * y, g):
                    out.extend(flat(t.sum(dim=d) if g.dim() else t))
        return out


def _member(f: float, sorted_vals: list[float]) -> bool:
    lo = bisect.bisect_left(sorted_vals, f - 2 * REL * abs(f) - 1e-12)
    for c in sorted_vals[lo:]:
        if c > f + 2 * REL * abs(f) + 1e-12:
            return False
        if close4(f, c):
            return True
    return False


def _rule_constants(rule: str) -> list[float]:
    """Numbers a rule writes out as such (2 in `2 · a`, 1/3, (−1)); not indices like [0]."""
    text = re.sub(r"\[[^\]]*\]", " ", rule)
    out = [1.0 / float(d) for d in re.findall(r"1/(\d+(?:\.\d+)?)", text)]
    out += [-float(d) for d in re.findall(r"\(−(\d+(?:\.\d+)?)\)", text)]
    out += [float(d) for d in re.findall(r"(?<![\w/.^])(\d+(?:\.\d+)?)(?![\w/.])", text)]
    return out


def _unravel(e: int, shape: tuple) -> tuple:
    return tuple(int(v) for v in np.unravel_index(e, shape)) if len(shape) else ()


def _lhs_index(lhs: str) -> tuple | None:
    m = re.search(r"\[([\d,]+)\]$", lhs)
    return tuple(int(v) for v in m.group(1).split(",")) if m else None


def _result(text: str) -> float | None | str:
    text = text.strip()
    return "—" if text == "—" else number(text)


# a chain line (∂L/∂x[j] = rule = numbers = result) ------------------------------------------
def chain_problems(line: str, st: StepTruth, i: int, e: int) -> list[str]:
    parts = split_top(line, " = ")
    g = st.hooked.grad_inputs[i]
    ei = e % g.numel()
    true = flat(g)[ei]
    out = []
    idx = _lhs_index(parts[0])
    if idx is not None and idx != _unravel(ei, tuple(g.shape)):
        out.append(f"{line!r}: names element {idx}, the gradient's element {e} is "
                   f"{_unravel(ei, tuple(g.shape))}")
    res = _result(parts[-1]) if len(parts) > 1 else None
    if res == "—":
        return out + [f"{line!r}: prints — where autograd sent {true:.7g}"]
    if res is None:
        return out + [f"{line!r}: prints no number where autograd sent {true:.7g}"]
    if not close4(res, true):
        out.append(f"{line!r}: result {res}, autograd sent {true:.7g}")
    arith = parse_arith(parts[-2]) if len(parts) >= 3 else None
    if arith is None:
        return out
    rule = " = ".join(parts[1:-2])
    out += _arith_problems(line, arith, res)
    vals = sorted(st.numbers(i, ei) + _rule_constants(rule))
    claims_upstream = rule.lstrip("Σⱼₖₘₙₚ ").startswith("∂")
    for row in arith.rows:
        unknown = [a for f in row for a in f.atoms if not _member(a, vals)]
        fits = _row_fits(row, st, i, ei, claims_upstream)
        if claims_upstream and fits is False:
            out.append(f"{line!r}: row {[f.value for f in row]} is not ∂L/∂y[o] · ∂y[o]/∂x[j] "
                       "for any o")
        # one factor that is no true number is still true when the rest of its row is and the
        # row is the true local derivative: that factor is then forced (1/(p·(1 − p)) in bce)
        if len(unknown) > 1 or (unknown and not fits):
            out.append(f"{line!r}: factor {unknown[0]:g} is none of the true numbers of this step")
    return out


def _row_fits(row: list, st: StepTruth, i: int, ei: int, upstream_first: bool) -> bool | None:
    """Is the row ∂L/∂y[o] · ∂y[o]/∂x[j] for some o (None: no Jacobian to tell)?

    upstream_first: the row starts with the upstream; else the whole row is that product."""
    jac = st.node.jac
    if jac is None or i >= len(jac) or jac[i] is None:
        return None
    up = _upstream(st)
    col = jac[i][:, ei].tolist()
    local = row[1:] if upstream_first else row
    prod = math.prod(f.value for f in local)
    rel = sum(f.error / max(abs(f.value), 1e-300) for f in local)
    for o, u in enumerate(up[: len(col)]):
        if upstream_first:
            if close4(row[0].value, u) and abs(prod - col[o]) <= rel * abs(prod) + 1e-6 * abs(col[o]) + 1e-9:
                return True
        elif abs(prod - u * col[o]) <= rel * abs(prod) + 2e-6 * abs(u * col[o]) + 1e-9:
            return True
    return False


def _upstream(st: StepTruth) -> list[float]:
    """Every output's gradient, flattened one after another as the Jacobian's rows are; an
    output that got none (unused: None) counts as zeros of its size."""
    try:
        sizes = [int(torch.Size(m.shape).numel()) for m in st.node.fn._input_metadata]
    except Exception:
        sizes = None
    out: list[float] = []
    for q, g in enumerate(st.U):
        if g is not None:
            out.extend(flat(g))
        elif sizes is not None and q < len(sizes):
            out.extend([0.0] * sizes[q])
    return out


def _arith_problems(line: str, arith, res: float) -> list[str]:
    if arith.elided:
        return []
    scale = sum(abs(math.prod(f.value for f in r)) for r in arith.rows)
    slack = arith.error + REL * abs(res) + 1e-5 * scale + 1e-12
    if abs(arith.value - res) > slack:
        return [f"{line!r}: the printed arithmetic makes {arith.value:.7g}, not {res}"]
    return []


# x.grad lines, the fan-in line, the generic text, the header -------------------------------
def accumulate_problems(line: str, st: StepTruth, e: int) -> list[str]:
    k = st.hooked.node
    after, before = st.m.call.grad_after.get(k), st.m.call.grad_before.get(k)
    incoming = st.U[0]
    n = incoming.numel()
    ei = e % n
    true_after = flat(after)[ei] if after is not None else None
    m = re.match(r"^(.*?\.grad(?:\[[\d,]+\])?)( \+= | = |: )(.*)$", line)
    if not m:
        return [f"{line!r}: unreadable .grad line"]
    lhs, sep, rest = m.groups()
    out = []
    idx = _lhs_index(lhs)
    if idx is not None and idx != _unravel(ei, tuple(incoming.shape)):
        out.append(f"{line!r}: names element {idx}, element {e} is {_unravel(ei, tuple(incoming.shape))}")
    if sep == " += " and " → " in rest:
        a, r = (number(x) for x in rest.split(" → "))
        if a is None or r is None or not close4(a, flat(incoming)[ei]) or not close4(r, true_after):
            out.append(f"{line!r}: incoming {flat(incoming)[ei]:.7g}, .grad after {true_after}")
    elif sep == " += ":
        a = number(rest)
        if a is None or not close4(a, flat(incoming)[ei]):
            out.append(f"{line!r}: incoming is {flat(incoming)[ei]:.7g}")
    elif sep == " = ":
        r = _result(rest)
        if r == "—":
            out.append(f"{line!r}: prints — where .grad is {true_after}")
        elif r is None or not close4(r, true_after):
            out.append(f"{line!r}: .grad after is {true_after}")
    else:
        nums, _, r = rest.rpartition(" = ")
        arith, res = parse_arith(nums), number(r)
        if arith is None or res is None:
            return out + [f"{line!r}: unreadable .grad sum"]
        if not close4(res, true_after):
            out.append(f"{line!r}: .grad after is {true_after}")
        out += _arith_problems(line, arith, res)
        vals = sorted(_contributions(st, k, ei) + [flat(incoming)[ei]]
                      + ([flat(before)[ei]] if before is not None else []))
        for f in arith.factors():
            if not _member(f.value, vals):
                out.append(f"{line!r}: {f.value:g} is neither .grad before nor a gradient sent to it")
    return out


def _contributions(st: StepTruth, target: int, e: int) -> list[float]:
    """Element e of every gradient an engine step sent toward node `target` in this call
    (a leaf's AccumulateGrad, or the op whose output several ops used)."""
    out = []
    for h in st.m.call.steps:
        for (nk, _), g in zip(st.m.call.nodes[h.node].nexts, h.grad_inputs):
            if nk == target and g is not None:
                out.append(flat(g)[e % g.numel()])
    return out


def fan_in_problems(line: str, st: StepTruth, e: int) -> list[str]:
    g = st.U[0]
    ei = e % g.numel()
    parts = split_top(line, " = ")
    arith, res = parse_arith(parts[-2]) if len(parts) >= 3 else None, number(parts[-1])
    if arith is None or res is None:
        return [f"{line!r}: unreadable fan-in line"]
    out = [] if close4(res, flat(g)[ei]) else [f"{line!r}: arrived {flat(g)[ei]:.7g}"]
    out += _arith_problems(line, arith, res)
    vals = sorted(_contributions(st, st.hooked.node, ei))
    for f in arith.factors():
        if not _member(f.value, vals):
            out.append(f"{line!r}: {f.value:g} is no gradient sent to this output ({st.node.cls})")
    return out


def generic_problems(line: str, st: StepTruth) -> list[str]:
    """`Cls: ∂L/∂y = up → ∂L/∂a = v, ∂L/∂b = w`, each value against the truth."""
    left, _, right = line.partition(" → ")
    out = []
    p = value_problem(split_top(left, " = ")[-1], st.U[0])
    if p:
        out.append(f"{line!r}: upstream {p}")
    downs = [] if right.strip() == "—" else split_top(right, ", ")
    flowing = [i for i, (nk, _) in enumerate(st.node.nexts) if nk is not None]
    if len(downs) != len(flowing):
        return out + [f"{line!r}: {len(downs)} gradients printed, {len(flowing)} edges"]
    for d, i in zip(downs, flowing):
        p = value_problem(split_top(d, " = ")[-1], st.hooked.grad_inputs[i])
        if p:
            out.append(f"{line!r}: {p}")
    return out


_SHAPE = r"\((?:\d+, )*\d+\)|scalar|\?"


def header_problems(line: str, st: StepTruth) -> list[str]:
    shapes = re.findall(_SHAPE, line.rpartition(" → ")[2])
    true = ["scalar" if g.dim() == 0 else "(" + ", ".join(map(str, g.shape)) + ")"
            for g in st.U if g is not None]
    return [] if shapes == true else [f"{line!r}: output shapes {true}"]


def is_header(line: str) -> bool:
    return " → " in line and re.search(rf"(?:{_SHAPE})$", line) is not None and ": " in line


# notes: each sentence's claim, English and Korean ------------------------------------------
def _count_uses(st: StepTruth, target: int, nr: int | None = None) -> int:
    return sum(1 for n in st.m.call.nodes for (nk, r) in n.nexts
               if nk == target and (nr is None or r == nr))


def _numels(st: StepTruth) -> list[int]:
    ts = [*st.U, *st.Y, *st.X, *st.hooked.grad_inputs]
    return [t.numel() for t in ts if isinstance(t, torch.Tensor)]


def _shape_text(t: torch.Tensor) -> str:
    return "scalar" if t.dim() == 0 else "(" + ", ".join(map(str, t.shape)) + ")"


def _claim_big(st, g, e):
    return None if max(_numels(st), default=0) > 64 else \
        f"says more than 64 elements; the tensors of this step have {sorted(set(_numels(st)))}"


def _claim_zero_grad(st, g, e):
    sent = [flat(x)[e % x.numel()] for x in st.hooked.grad_inputs if x is not None]
    return None if any(v == 0 for v in sent) else f"says the gradient is 0; autograd sent {sent}"


def _claim_first(st, g, e):
    before = st.m.call.grad_before.get(st.hooked.node)
    return None if before is None else f"says .grad was None; it held {flat(before)[:6]}"


def _claim_before(st, g, e):
    before = st.m.call.grad_before.get(st.hooked.node)
    if before is None:
        return "says .grad already held a value; it was None"
    v = number(g["before"])
    return None if v is not None and close4(v, flat(before)[e % before.numel()]) else \
        f"says .grad held {g['before']}; it held {flat(before)[e % before.numel()]:.7g}"


def _claim_leaf_uses(st, g, e):
    n = _count_uses(st, st.hooked.node)
    return None if int(g["n"]) == n else f"says used {g['n']} times; autograd has {n} uses"


def _claim_output_uses(st, g, e):
    n = _count_uses(st, st.hooked.node, 0)
    return None if int(g["n"]) == n else f"says used {g['n']} times; autograd has {n} uses"


def _claim_returned(st, g, e):
    """The note of a torch.autograd.grad step: what the call returned for an input it feeds."""
    m = st.m
    if m.call.kind != "grad":
        return "names a torch.autograd.grad result in a backward() call"
    fed = []
    for t, r in zip(m.call.inputs, m.call.returned):
        if t.grad_fn is None:
            k = next((k for k, n in enumerate(m.call.nodes) if n.leaf is t), None)
            key = (k, 0)
        else:
            key = (m.call.index(t.grad_fn), t.output_nr)
        if key in st.node.nexts:
            fed.append(r)
    if not fed:
        return "no input of the grad call is fed by this step"
    problems = [value_problem(g["value"], r) for r in fed]
    return None if not all(problems) else problems[0]


def _values(t) -> list[float]:
    return sorted(flat(t)) if isinstance(t, torch.Tensor) else []


def _sent_to(st: StepTruth, target: tuple[int, int]) -> torch.Tensor | None:
    """The sum of what earlier steps sent along edges into (node index, output nr)."""
    total = None
    for h in st.m.call.steps[: st.k]:
        for i, g in enumerate(h.grad_inputs):
            if g is not None and st.m.call.nodes[h.node].nexts[i] == target:
                total = g.double() if total is None else total + g.double()
    return total


def _claim_hook(st, g, e):
    """'a hook on h changed ∂l/∂h from a to b': b arrived here, a was what was sent to h."""
    a, b = number(g["a"]), number(g["b"])
    if st.node.leaf is not None:
        targets = [(st.hooked.node, 0)]
    else:
        targets = [(st.hooked.node, q) for q in range(len(st.U))]
    for q, target in enumerate(targets):
        sent = _sent_to(st, target)
        arrived = st.U[q] if q < len(st.U) else None
        if sent is not None and _member(a, _values(sent)) and _member(b, _values(arrived)):
            return None
    return f"no gradient sent here holds {g['a']} with {g['b']} arriving"


def _claim_post_hook(st, g, e):
    k = st.hooked.node
    before = st.m.call.grad_before.get(k)
    stored = st.U[0] if before is None else before + st.U[0]
    ok = _member(number(g["a"]), _values(stored)) and \
        _member(number(g["b"]), _values(st.m.call.grad_after.get(k)))
    return None if ok else f"stored {flat(stored)[:6]}, .grad after {flat(st.m.call.grad_after.get(k))[:6]}"


def _claim_module_hook(st, g, e):
    ok = st.node.cls == "BackwardHookFunctionBackward" and \
        _member(number(g["a"]), sorted(v for u in st.U for v in _values(u))) and \
        _member(number(g["b"]), sorted(v for x in st.hooked.grad_inputs for v in _values(x)))
    return None if ok else "no module hook step with these numbers"


def _claim_retain(st, g, e):
    m = st.m
    outs = [t for t in m.call.retained if t.grad_fn is st.node.fn]
    if not outs:
        return "says retain_grad() keeps a .grad here; this output does not retain its grad"
    return value_problem(g["value"], m.call.retained_after.get(id(outs[0])))


def _claim_broadcast(st, g, e):
    ins = [_shape_text(x) for x in st.X if x is not None]
    outs = [_shape_text(u) for u in st.U if u is not None]
    ok = g["src"] in ins and g["dst"] in outs
    return None if ok else f"says broadcast {g['src']} -> {g['dst']}; shapes {ins} -> {outs}"


def _jac_col(st: StepTruth, e: int) -> list[float] | None:
    jac = st.node.jac
    flowing = st.flowing()
    if jac is None or not flowing or jac[flowing[0]] is None:
        return None
    j = jac[flowing[0]]
    return j[:, e % j.shape[1]].tolist()


def _claim_copies(st, g, e):
    col = _jac_col(st, e)
    return None if col is None or all(v in (0.0, 1.0) for v in col) else \
        f"says the gradient is only moved/copied; ∂y/∂x column is {col[:8]}"


def _claim_mean(st, g, e):
    col = _jac_col(st, e)
    nz = [v for v in (col or []) if v != 0]
    n = float(g["n"])
    return None if col is None or all(abs(v - 1 / n) <= 1e-6 / n for v in nz) else \
        f"says each element gets 1/{g['n']}; ∂y/∂x column is {nz[:8]}"


def _claim_single_pick(st, g, e):
    """'only the largest element decides max: the gradient goes there, the others get 0'."""
    x = next((t for t in st.X if t is not None), None)
    col = _jac_col(st, e)
    if x is None or col is None:
        return None
    jac = st.node.jac[st.flowing()[0]]
    shares = [v for v in jac.reshape(-1).tolist() if v not in (0.0, 1.0)]
    return None if not shares else \
        f"says the gradient goes to one element; autograd split it ({sorted(set(shares))}) among ties"


def _claim_constant(st, g, e):
    """'x is a constant (requires_grad=False)': the op took an input that needs no grad."""
    took = st.m.ref.arg_grad.get(id(st.node.fn))
    no_grad_slot = any(nk is None for nk, _ in st.node.nexts)
    # an op made inside a C++ function: the aten op that made it read a tensor needing no grad
    inside = any(not a.requires_grad for ins in st.m.ref.internal_args(st.node.fn) for a in ins)
    return None if no_grad_slot or inside or (took and not all(took)) else \
        "says an input is a constant; every input of this op requires grad"


def _claim_line_sum(st, g, e):
    v = number(g["value"])
    return None if v is not None and _member(v, sorted(st._line_sums())) else \
        f"the sum {g['value']} is none of the true row sums"


def _made_unseen(st: StepTruth) -> list[str]:
    """The step's tensors no Python-level op made (made inside torch's C++ functions): its
    outputs, and inputs that are not leaves, missing from the reference's Python-level log,
    and tensors its aten op read that are none of the Python-level arguments (dropout's mask)."""
    ref, call = st.m.ref, st.m.call
    out = [f"output {q}" for q in range(len(st.U)) if (id(st.node.fn), q) not in ref.values]
    for nk, nr in st.node.nexts:
        nxt = call.nodes[nk] if nk is not None else None
        if nxt is not None and nxt.leaf is None and (id(nxt.fn), nr) not in ref.values:
            out.append(f"input from {nxt.cls}")
    known = [t for t in [*st.X, *ref.args.get(id(st.node.fn), [])] if isinstance(t, torch.Tensor)]
    scalars = {float(a) for a in ref.args.get(id(st.node.fn), [])
               if isinstance(a, (int, float)) and not isinstance(a, bool)}
    for ins in ref.internal_args(st.node.fn):
        for t in ins:
            if t.dim() == 0 and float(t.detach()) in scalars:
                continue
            if not any(k.shape == t.shape and torch.equal(k.to(t.dtype), t) for k in known):
                out.append(f"an argument {tuple(t.shape)} made inside")
    return out


def _claim_unseen(st, g, e):
    return None if _made_unseen(st) else \
        "says a tensor of this step was made out of gradviz's sight; Python made every one of them"


def _claim_not_kept(st, g, e):
    big = max(_numels(st), default=0) > int(g["n"])
    return None if big and int(g["e"]) >= int(g["n"]) else \
        f"says element {g['e']} was not kept; the step's tensors have {sorted(set(_numels(st)))}"


def _at_index(t: torch.Tensor, idx: str) -> float | None:
    parts = [int(v) for v in idx.strip("[]").split(",")] if idx.strip("[]") else []
    try:
        return float(t[tuple(parts)])
    except (IndexError, TypeError):
        return None


def _claim_exact_zero(st, g, e):
    """'x[j] is exactly 0: PyTorch takes relu'(0) = 0': the input there is 0, no gradient."""
    x = next((t for t in st.X if t is not None), None)
    v = _at_index(x, g["idx"]) if x is not None else None
    if v != 0.0:
        return f"says {g['idx']} is exactly 0; it is {v}"
    return _claim_zero_grad(st, g, e)


def _claim_even_split(st, g, e):
    """'n elements tie: PyTorch shares the gradient evenly, 1/n each': some output's local
    derivatives are n shares of 1/n."""
    jac = st.node.jac[st.flowing()[0]] if st.node.jac is not None and st.flowing() else None
    if jac is None:
        return None
    n = int(g["n"])
    for row in jac.tolist():
        nz = [v for v in row if v != 0]
        if len(nz) == n and all(abs(v - 1 / n) <= 1e-9 for v in nz):
            return None
    return f"says {n} tied elements share 1/{n} each; no output's local derivatives show that"


def _claim_index_pick(st, g, e):
    """'n elements of x[1,:] tie for the max: the gradient goes only to x[1,0]'."""
    x = next((t for t in st.X if t is not None), None)
    jac = st.node.jac[st.flowing()[0]] if st.node.jac is not None and st.flowing() else None
    if x is None or jac is None:
        return None
    row = tuple(slice(None) if p == ":" else int(p) for p in g["row"].strip("[]").split(","))
    v = _at_index(x, g["idx"])
    ties = int((x[row] == v).sum()) if v is not None else 0
    k = int(np.ravel_multi_index([int(p) for p in g["idx"].strip("[]").split(",")], x.shape))
    goes = [o for o in range(jac.shape[0]) if jac[o, k] == 1.0]
    if ties != int(g["n"]):
        return f"says {g['n']} elements tie; {ties} equal {g['idx']}"
    others = [j for o in goes for j in range(jac.shape[1]) if j != k and jac[o, j] != 0]
    return None if goes and not others else \
        f"says the gradient goes only to {g['idx']}; the local derivatives say otherwise"


def _claim_unused(st, g, e):
    if any(u is None for u in st.U):
        return _claim_zero_grad(st, g, e)
    return "says an output was not used; every one got a gradient"


def _claim_class(*words: str):
    """A note that defines the op's formula: the op is of that kind."""
    def check(st, g, e):
        return None if any(w in st.node.cls for w in words) else \
            f"a note for {words} on {st.node.cls}"
    return check


def _claim_custom(st, g, e):
    if st.node.cls != f"{g['cls']}Backward":
        return f"says {g['cls']} is a custom Function; the node is {st.node.cls}"
    problems = [value_problem(g["value"], u) for u in st.U if u is not None]
    return None if any(p is None for p in problems) else f"received: {problems[0]}"


_N = r"(?P<n>\d+)"
# (English pattern, Korean pattern, check(step truth, match groups, element) -> problem or None)
NOTES: list[tuple[str, str, Callable[[StepTruth, dict, int], str | None]]] = [
    (rf"a hook on .+ \(register_hook\) changed ∂.+ from (?P<a>{NUM}) to (?P<b>{NUM}): the steps "
     rf"after it use (?P=b)",
     rf".+의 훅\(register_hook\)이 ∂.+(?:을|를) (?P<a>{NUM})에서 (?P<b>{NUM})(?:으로|로) 바꿨습니다: "
     rf"이후 단계는 (?P=b)(?:을|를) 씁니다", _claim_hook),
    (rf"a hook on .+ \(register_post_accumulate_grad_hook\) changed .+\.grad.* from (?P<a>{NUM}) "
     rf"to (?P<b>{NUM}) after it was stored",
     rf".+의 훅\(register_post_accumulate_grad_hook\)이 저장된 .+\.grad.*(?:을|를) (?P<a>{NUM})에서 "
     rf"(?P<b>{NUM})(?:으로|로) 바꿨습니다", _claim_post_hook),
    (rf"a module's backward hook \(register_full_backward_hook\) changed ∂.+ from (?P<a>{NUM}) to "
     rf"(?P<b>{NUM})",
     rf"모듈의 backward 훅\(register_full_backward_hook\)이 ∂.+(?:을|를) (?P<a>{NUM})에서 "
     rf"(?P<b>{NUM})(?:으로|로) 바꿨습니다", _claim_module_hook),
    (r"torch\.autograd\.grad returns the whole ∂.+/∂.+ = (?P<value>.+) as its result: it goes "
     r"into no \.grad",
     r"torch\.autograd\.grad는 ∂.+/∂.+ 전체 = (?P<value>.+)(?:을|를) 결과로 돌려줍니다: 어떤 "
     r"\.grad에도 들어가지 않습니다", _claim_returned),
    (r"values not kept \(more than 64 elements\): the rule and the result only",
     r"값이 저장되지 않았습니다 \(원소 64개 초과\): 규칙과 결과만 보여 줍니다", _claim_big),
    (r".+ is a constant \(requires_grad=False\): it gets no gradient",
     r".+(?:은|는) 상수입니다 \(requires_grad=False\): 기울기를 받지 않습니다", _claim_constant),
    (r"(?P<name>.+)\.retain_grad\(\): (?P=name)\.grad = (?P<value>.+) is kept here",
     r"(?P<name>.+)\.retain_grad\(\) 덕분에 여기서 (?P=name)\.grad = (?P<value>.+) 값이 저장됩니다",
     _claim_retain),
    (r".+ is a leaf: AccumulateGrad stores the gradient in .+\.grad \(it was None\)",
     r".+(?:은|는) 리프 텐서: AccumulateGrad가 기울기를 .+\.grad에 저장합니다 \(이전 값은 None\)",
     _claim_first),
    (rf".+\.grad already held (?P<before>{NUM}) \(not zeroed\): gradients accumulate",
     rf".+\.grad에 이미 (?P<before>{NUM})(?:이|가) 있었습니다 \(zero_grad 하지 않음\): 기울기가 누적됩니다",
     _claim_before),
    (rf".+ is used {_N} times: the gradients of all its uses add up in .+\.grad",
     rf".+(?:이|가) {_N}번 쓰였으므로, 모든 경로의 기울기가 .+\.grad에 더해집니다", _claim_leaf_uses),
    (rf".+ is used {_N} times: the gradients from all its uses add up",
     rf".+(?:이|가) {_N}번 쓰였으므로, 각 경로에서 온 기울기를 모두 더합니다", _claim_output_uses),
    (rf".+ was broadcast from (?P<src>{_SHAPE}) to (?P<dst>{_SHAPE}): its gradient sums over .+",
     (rf"브로드캐스팅: .+의 모양이 (?P<src>{_SHAPE})에서 (?P<dst>{_SHAPE})(?:으로|로) 늘어났으므로, "
      r"기울기는 .+에 걸쳐 더해집니다"), _claim_broadcast),
    (r".+ is not in .+: its gradient is 0", r".+(?:은|는) .+에 들어가지 않으므로 기울기는 0입니다",
     _claim_zero_grad),
    ((r".+ is not the target class: only the target's log-probability is in the loss, so its "
      r"gradient is 0"),
     (r".+(?:은|는) 정답 클래스가 아닙니다: 손실에는 정답의 로그 확률만 들어가므로 "
      r"기울기는 0입니다"), _claim_zero_grad),
    (r".+ is flat at .+: the gradient stops there \(0\)",
     r".+에서 .+의 기울기가 0이므로 기울기가 더 흐르지 않습니다", _claim_zero_grad),
    (r".+ only moves numbers: each gradient goes back to the place its number came from",
     r".+(?:은|는) 숫자의 자리만 옮깁니다: 각 기울기는 그 숫자가 원래 있던 자리로 돌아갑니다",
     _claim_copies),
    (r"sum copies the gradient to every element it added",
     r"sum은 더한 모든 원소에 기울기를 그대로 복사해 줍니다", _claim_copies),
    (rf"mean shares the gradient equally: each element gets 1/{_N} of it",
     rf"mean은 기울기를 똑같이 나눕니다: 각 원소는 1/{_N}씩 받습니다", _claim_mean),
    ((r"only the (largest|smallest) element decides (max|min): the gradient goes there, the "
      r"others get 0"),
     (r"(max|min)의 값은 가장 (큰|작은) 원소 하나로 정해지므로, 기울기는 그 원소로만 "
      r"가고 나머지는 0입니다"), _claim_single_pick),
    (rf"(.+, )?g = ∂.+: Σₖ g.*= (?P<value>{NUM})", rf"(.+, )?g = ∂.+: Σₖ g.*= (?P<value>{NUM})",
     _claim_line_sum),
    ((r"values not recorded \(a tensor of this step was made where gradviz could not see it, "
      r"such as inside one of torch's C\+\+ functions\): the rule and the result only"),
     (r"값이 기록되지 않았습니다 \(이 단계의 텐서가 gradviz가 볼 수 없는 곳, 예를 들어 torch의 "
      r"C\+\+ 함수 안에서 만들어졌습니다\): 규칙과 결과만 보여 줍니다"), _claim_unseen),
    ((r"the number autograd sent for element (?P<e>\d+) was not kept: gradviz keeps the first "
      r"(?P<n>\d+) numbers of a bigger gradient"),
     (r"autograd가 원소 (?P<e>\d+)에 보낸 값은 저장되지 않았습니다: gradviz는 큰 기울기의 처음 "
      r"(?P<n>\d+)개 값만 저장합니다"), _claim_not_kept),
    (rf"{_N} elements tie for the (max|min): PyTorch shares the gradient evenly among them, "
     rf"1/(?P=n) each; the others get 0",
     rf"{_N}개의 원소가 똑같이 (max|min) 값입니다: PyTorch는 기울기를 이들에게 1/(?P=n)씩 똑같이 "
     r"나누고, 나머지는 0입니다", _claim_even_split),
    (rf"{_N} elements of .+(?P<row>\[[\d,:]+\]) tie for the (max|min): the gradient goes only to "
     r"the one at the index (max|min) returned, .+(?P<idx>\[[\d,]+\]); the others get 0",
     rf".+(?P<row>\[[\d,:]+\])에서 {_N}개의 원소가 똑같이 (max|min) 값입니다: 기울기는 (max|min)"
     r"이\(가\) 돌려준 인덱스의 원소 .+(?P<idx>\[[\d,]+\])에만 가고, 나머지는 0입니다",
     _claim_index_pick),
    (r".+(?P<idx>\[[\d,]*\]) is exactly 0: PyTorch takes relu'\(0\) = 0, so no gradient passes",
     r".+(?P<idx>\[[\d,]*\])이\(가\) 정확히 0입니다: PyTorch는 relu'\(0\) = 0으로 정하므로 기울기가 "
     r"흐르지 않습니다", _claim_exact_zero),
    (r".+(?P<idx>\[[\d,]*\]) is exactly 0: PyTorch takes abs'\(0\) = sign\(0\) = 0",
     r".+(?P<idx>\[[\d,]*\])이\(가\) 정확히 0입니다: PyTorch는 abs'\(0\) = sign\(0\) = 0으로 "
     r"정합니다", _claim_exact_zero),
    (rf"{_N} elements of its row equal .+: each gets the gradient of the place .+ put it \(the "
     r"order of .+'s indices\)",
     rf"행에서 {_N}개의 원소가 .+와\(과\) 같습니다: 각 원소는 .+이\(가\) 그것을 놓은 자리의 "
     r"기울기를 받습니다 \(.+이\(가\) 돌려준 인덱스의 순서\)", _claim_copies),
    (r".+\[\d+\] is the padding row \(padding_idx=\d+\): PyTorch gives it no gradient",
     r".+\[\d+\]은\(는\) 패딩 행입니다 \(padding_idx=\d+\): PyTorch는 이 행에 기울기를 주지 않습니다",
     _claim_zero_grad),
    (r".+ went to .+, which nothing used: its gradient is 0",
     r".+은\(는\) .+\(으\)로 갔지만 그 출력은 어디에도 쓰이지 않았으므로 기울기는 0입니다", _claim_unused),
    (r".+ copies numbers to the places its index names: each gradient goes back to where its "
     r"number came from, and a number copied to several places gets their sum",
     r".+은\(는\) 인덱스가 가리키는 자리로 숫자를 복사합니다: 각 기울기는 숫자가 온 자리로 돌아가고, "
     r"여러 자리로 복사된 숫자는 그 기울기들의 합을 받습니다", _claim_copies),
    (r".+ adds each element into its own place and every later one: its gradient is the sum of "
     r"the gradients of those places",
     r".+은\(는\) 각 원소를 자기 자리와 그 뒤의 모든 자리에 더합니다: 기울기는 그 자리들의 기울기의 "
     r"합입니다", _claim_copies),
    (r".+ sends each window's gradient to the largest element in it \(the first, if several are "
     r"equal\); the others get 0",
     r".+은\(는\) 각 창의 기울기를 그 안에서 가장 큰 원소\(같은 값이 여럿이면 첫 번째\)로만 보내고, "
     r"나머지는 0입니다", _claim_copies),
    (rf".+ shares each window's gradient equally: each element in a window gets 1/{_N} of it",
     rf".+은\(는\) 각 창의 기울기를 똑같이 나눕니다: 창 안의 각 원소는 1/{_N}씩 받습니다", _claim_mean),
    (r".+: each output adds up kernel × the window of the input under it, so .+ gets the gradient "
     r"of every output whose window holds it, times the kernel weight that met it",
     r".+: 각 출력은 커널 × 그 아래 입력 창을 더한 값이므로, .+은\(는\) 자신을 창 안에 담은 모든 "
     r"출력의 기울기에 자신과 만난 커널 가중치를 곱한 값을 받습니다", _claim_class("Convolution")),
    (rf".+ normalizes each group of {_N}: x̂ = \(x − mean\)·σ⁻¹ with σ⁻¹ = 1/√\(var \+ eps\), and "
     r"within a group ∂x̂\[k\]/∂x\[j\] = σ⁻¹·\(δₖⱼ − 1/(?P=n) − x̂\[k\]·x̂\[j\]/(?P=n)\)",
     rf".+은\(는\) 원소 {_N}개씩 묶어 정규화합니다: x̂ = \(x − mean\)·σ⁻¹, σ⁻¹ = 1/√\(var \+ eps\)"
     r"이고, 한 묶음 안에서 ∂x̂\[k\]/∂x\[j\] = σ⁻¹·\(δₖⱼ − 1/(?P=n) − x̂\[k\]·x̂\[j\]/(?P=n)\)"
     r"입니다", _claim_class("LayerNorm", "BatchNorm")),
    (r".+ in eval mode uses the running statistics: x̂ = \(x − running_mean\)·σ⁻¹ with σ⁻¹ = "
     r"1/√\(running_var \+ eps\), the same for every element of a channel",
     r"eval 모드의 .+은\(는\) 누적 통계를 씁니다: x̂ = \(x − running_mean\)·σ⁻¹, σ⁻¹ = "
     r"1/√\(running_var \+ eps\)이며, 한 채널의 모든 원소에 같습니다", _claim_class("BatchNorm")),
    (r".+ runs its cell at every time step, so .+ reaches the outputs of its own step and of every "
     r"later one: ∂y\[o\]/∂.+ goes through the gates and the hidden \(and cell\) state, step after "
     r"step",
     r".+은\(는\) 모든 시간 단계에서 셀을 실행하므로, .+은\(는\) 자기 단계와 그 뒤 모든 단계의 "
     r"출력에 닿습니다: ∂y\[o\]/∂.+은\(는\) 게이트와 은닉\(및 셀\) 상태를 따라 단계마다 이어집니다",
     _claim_class("Rnn")),
    (r"(?P<cls>\w+) is a custom autograd.Function: these numbers are what its backward "
     r"returned; it received .+? = (?P<value>.+)",
     r"(?P<cls>\w+)은\(는\) 사용자 정의 autograd.Function입니다: 이 값들은 그 backward가 돌려준 "
     r"것이며, 받은 값은 .+? = (?P<value>.+)입니다", _claim_custom),
    (r"\(no formula for this op here: the numbers in and out\)",
     r"\(이 연산의 공식은 준비되지 않았습니다: 들어오고 나간 값만 보여 줍니다\)", lambda *a: None),
]


# Korean particle pairs as the catalog writes them, and the forms gradviz.words resolves them to
_PARTICLES = {r"은\(는\)": "은|는", r"이\(가\)": "이|가", r"\(으\)로": "으로|로", r"와\(과\)": "와|과"}


def _resolved(ko: str) -> str:
    """A Korean pattern that also matches its particle pairs resolved (x는, 6이, (3)으로)."""
    for pair, forms in _PARTICLES.items():
        ko = ko.replace(pair, f"(?:{pair}|{forms})")
    return ko


def note_problem(line: str, lang: str, st: StepTruth, e: int) -> str | None:
    """The claim of one note line, checked; 'unparsed' when no known note matches."""
    for en, ko, check in NOTES:
        m = re.fullmatch(_resolved(ko) if lang == "ko" else en, line)
        if m:
            p = check(st, m.groupdict(), e)
            return f"note {line!r}: {p}" if p else None
    for pattern in UNPARSED:
        if re.search(pattern, line):
            return None
    return f"unparsed line {line!r}"


def explanation_problems(text: str, lang: str, st: StepTruth, e: int) -> list[str]:
    lines = [x for x in text.split("\n") if x.strip()]
    out: list[str] = []
    if st.node.leaf is not None:
        terms = [x for x in lines if re.match(r"^\S.*?\.grad(\[[\d,]+\])?( \+=|:| =)", x)]
        if len(terms) != 1:
            out.append(f"{len(terms)} .grad lines for one AccumulateGrad: {lines}")
        for x in terms:
            out += accumulate_problems(x, st, e)
        rest = [x for x in lines if x not in terms]
    else:
        if lines and is_header(lines[0]) and not lines[0].startswith("∂"):
            out += header_problems(lines[0], st)
            lines = lines[1:]
        generic = [x for x in lines if re.match(r"^\w+: ∂", x)]
        for x in generic:
            out += generic_problems(x, st)
        terms = [x for x in lines if x.startswith("∂")]
        flowing = st.flowing()
        if generic and not terms:
            flowing = []
        if len(terms) == len(flowing) + 1:
            out += fan_in_problems(terms[0], st, e)
            terms = terms[1:]
        if len(terms) != len(flowing):
            out.append(f"{len(terms)} gradient lines, autograd sent {len(flowing)}: {terms}")
        for x, i in zip(terms, flowing):
            out += chain_problems(x, st, i, e)
        rest = [x for x in lines if x not in terms and x not in generic and not x.startswith("∂")]
    for x in rest:
        p = note_problem(x, lang, st, e)
        if p:
            out.append(p)
    return out


def elements_of(st: StepTruth) -> int:
    """How many elements to pick for this step: its largest gradient's, at most 64."""
    sizes = [g.numel() for g in (*st.hooked.grad_inputs, *st.U) if isinstance(g, torch.Tensor)]
    return min(64, max(sizes, default=1))


def check_explanations(m: Match, langs: tuple = ("en", "ko"), max_elements: int = 64) -> list[str]:
    """Every step's explanation, for each element up to 64, in each language."""
    from gradviz.explain.chain_rule import explain_step

    graph = m.graph
    out: list[str] = []
    for k, s in enumerate(graph.steps[: len(m.call.steps)]):
        st = StepTruth(m, k)
        if m.op_of.get(st.hooked.node) != s.node:
            out.append(f"step {k}: not the engine's step; explanations not checked")
            continue
        for e in range(min(elements_of(st), max_elements)):
            for lang in langs:
                text = explain_step(graph, s, lang, e)
                out += [f"step {k} ({s.op}) element {e} [{lang}]: {p}"
                        for p in explanation_problems(text, lang, st, e)]
    return _dedupe(out)


def _dedupe(problems: list[str]) -> list[str]:
    seen, out = set(), []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out
