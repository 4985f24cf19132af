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
sent. Values of tensors made inside torch's own functions (the weight.t() in
F.linear, the log_softmax in F.cross_entropy) are recomputed from their input.

Public: `explain_graph(graph, element=0)` fills every step's `explanation` and
`explanation_ko`; `explain_step(graph, step, lang="en", element=0)` gives one text
for a learner-picked element; `step_arithmetic(graph, step, element=0)` the Terms.
`RULES` maps autograd class names to their rules; any other op gets a generic text
with the numbers in and out.

No torch here: everything is read from the plain Graph.
"""
from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from gradviz.explain.i18n import say
from gradviz.numbers import flatten, fmt_number, fmt_shape, fmt_value
from gradviz.recording import Graph, Node, Step

__all__ = ["Term", "Num", "step_arithmetic", "explain_step", "explain_graph", "RULES"]

_LETTERS = "jkmnp"
_SUBSCRIPT = str.maketrans("ijkmnp", "ᵢⱼₖₘₙₚ")
_REL_TOL = 1e-4
_ABS_TOL = 1e-12


class Num(float):
    """A number that prints its own way, e.g. (0.5 − 0.2), while staying a float."""

    shown: str

    def __new__(cls, value: float, shown: str) -> "Num":
        obj = float.__new__(cls, value)
        obj.shown = shown
        return obj


@dataclass
class Term:
    """One number an explanation prints, and how it was computed.

    kind: "chain" (a gradient computed by the op's rule), "accumulate" (a leaf's
    .grad), "fan_in" (gradients from several uses of a tensor added up), "rule"
    (the rule only: the values were too large to keep), "recorded" (the number
    autograd sent, with no arithmetic shown).
    `products`: result = Σ over products of ∏ factors (None for "rule"/"recorded");
    for "chain" terms `result` is the recorded gradient element and Σ∏ equals it.
    """

    kind: str
    edge: int  # index into step.grad_inputs; -1 for accumulate and fan_in
    target: str  # id of the tensor node the gradient belongs to
    label: str  # that tensor's name as printed
    element: int  # flat index into that gradient
    index: list[int]
    lhs: str  # "∂l/∂w", "x.grad"
    rule: str = ""  # "∂l/∂a · 3"
    products: list[list[float]] | None = None
    result: float | None = None
    notes: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def value(self) -> float | None:
        """Σ ∏ products: what the printed arithmetic adds up to."""
        if self.products is None:
            return None
        return float(sum(math.prod(p) for p in self.products))


class _Missing(Exception):
    """A value the rule needs was not kept (too large, or not recorded)."""


class _Unsupported(Exception):
    """The op was used in a way these rules do not model."""


# ---------------------------------------------------------------------------------------
# Reading the graph


def _signed(v: Any) -> Any:
    """Saved int64 attributes can arrive as unsigned (dim=-1 as 2**64-1): undo that."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v >= 2**63:
        return v - 2**64
    if isinstance(v, list):
        return [_signed(x) for x in v]
    return v




def _idx(parts: list[str] | tuple) -> str:
    return "[" + ",".join(str(p) for p in parts) + "]" if len(parts) else ""


def _numel(shape: list[int]) -> int:
    return int(math.prod(shape)) if shape else 1


def _close(a: float, b: float, scale: float) -> bool:
    if a is None or b is None:
        return False
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= _REL_TOL * (scale + abs(b)) + _ABS_TOL


def _fmt_factor(f: float, first: bool) -> str:
    if isinstance(f, Num):
        return f.shown
    s = fmt_number(float(f))
    return s if first or not s.startswith("-") else f"({s})"


def _fmt_product(p: list[float], first: bool) -> str:
    return " · ".join(_fmt_factor(f, first and k == 0) for k, f in enumerate(p))


def _fmt_products(products: list[list[float]], limit: int = 4) -> str:
    shown = products if len(products) <= limit else products[: limit - 1] + [products[-1]]
    out = ""
    for k, p in enumerate(shown):
        if k == 0:
            out = _fmt_product(p, True)
            continue
        if k == limit - 1 and len(products) > limit:
            out += " + …"
        neg = p and not isinstance(p[0], Num) and float(p[0]) < 0
        if neg:
            out += " − " + _fmt_product([abs(float(p[0]))] + list(p[1:]), True)
        else:
            out += " + " + _fmt_product(p, True)
    return out


class _Index:
    """Look-ups over one Graph, built once per graph."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.nodes = {n.id: n for n in graph.nodes}
        self.inputs: dict[str, list[str]] = defaultdict(list)
        self.outputs: dict[str, list[str]] = defaultdict(list)
        self.producer: dict[str, str] = {}  # tensor id -> the op that made it
        for e in graph.edges:
            src = self.nodes.get(e.src)
            if src is not None and src.kind == "op":
                self.outputs[e.src].append(e.dst)
                self.producer.setdefault(e.dst, e.src)
            else:
                self.inputs[e.dst].append(e.src)
        self.step_of: dict[str, Step] = {}
        self.sent_to: dict[str, list[tuple[Step, int]]] = defaultdict(list)
        for s in graph.steps:
            if s.op != "AccumulateGrad":
                self.step_of.setdefault(s.node, s)
            for k, gi in enumerate(s.grad_inputs):
                if gi.edge_to:
                    self.sent_to[gi.edge_to].append((s, k))
        roots = [n for n in graph.nodes if n.output]
        self.root_id = graph.root or (roots[0].id if roots else None)
        rn = self.nodes.get(self.root_id) if self.root_id else None
        self.root_label = rn.name if rn is not None and rn.name and len(roots) <= 1 else "L"
        self._labels: dict[str, str] = {}
        self._values: dict[str, np.ndarray | None] = {}

    # values --------------------------------------------------------------------------
    def value(self, node: Node | None, depth: int = 0) -> np.ndarray | None:
        """A tensor's forward value: as recorded, or recomputed from its producer's inputs.

        Tensors made inside torch's own functions (the weight.t() in F.linear, the
        log_softmax in F.cross_entropy) were never seen by the forward log; for view-like
        ops and a few elementwise ones their value follows from their input.
        """
        if node is None:
            return None
        shape = tuple(node.shape)
        if node.value is not None:
            try:
                return np.asarray(node.value, dtype=float).reshape(shape)
            except (TypeError, ValueError):
                return None
        if node.id in self._values:
            return self._values[node.id]
        self._values[node.id] = None  # also guards against cycles
        if depth > 8 or _numel(list(shape)) > 4096:
            return None
        producer = self.producer.get(node.id)
        if producer is None:
            return None
        op = self.nodes[producer]
        fn = _FORWARD.get(op.op or "")
        args = self.operands(op.id)
        if fn is None or not args:
            return None
        x = self.value(args[0], depth + 1)
        if x is None:
            return None
        try:
            with np.errstate(all="ignore"):
                v = np.asarray(fn(x, {k: _signed(a) for k, a in op.attrs.items()}, shape),
                               dtype=float)
            v = v.reshape(shape)
        except Exception:
            v = None
        self._values[node.id] = v
        return v

    # names ---------------------------------------------------------------------------
    def label(self, node: Node | None, depth: int = 0) -> str:
        if node is None:
            return "?"
        if depth == 0 and node.id in self._labels:
            return self._labels[node.id]
        if node.name:
            out = node.name
        elif node.id == self.root_id or node.output:
            out = self.root_label
        elif node.constant:
            out = node.label or "c"
        else:
            out = ""
            if node.kind == "tensor" and node.op and depth < 2:
                producer = self.producer.get(node.id)
                if producer is not None:
                    out = self.expr(producer, depth + 1) or ""
            out = out or node.label or node.id
        if depth == 0:
            self._labels[node.id] = out
        return out

    def operands(self, op_id: str) -> list[Node | None]:
        """The op's forward inputs: its gradient slots, constants filling the empty ones."""
        step = self.step_of.get(op_id)
        ins = [self.nodes[i] for i in self.inputs.get(op_id, []) if i in self.nodes]
        if step is None:
            return list(ins)
        consts = iter(n for n in ins if n.constant)
        out: list[Node | None] = []
        for gi in step.grad_inputs:
            out.append(self.nodes.get(gi.edge_to) if gi.edge_to else next(consts, None))
        out.extend(consts)  # constants with no slot (the 2 in 2 - x, an index)
        return out

    def expr(self, op_id: str, depth: int = 1, limit: int = 28) -> str | None:
        """A short forward expression for an unnamed tensor: (f + x), exp(a), Wᵀ."""
        op = self.nodes.get(op_id)
        if op is None:
            return None
        fwd = op_word(op)
        cls = op.op or ""
        attrs = {k: _signed(v) for k, v in op.attrs.items()}
        args = []
        for k, n in enumerate(self.operands(op_id)):
            key = ("self", "other")[k] if k < 2 else ""
            if n is None and isinstance(attrs.get(key), (int, float)):
                args.append(fmt_number(attrs[key]))
            else:
                args.append(self.label(n, depth) if n is not None else "const")
        if cls.startswith("Rsub") and len(args) >= 2:
            text = f"({args[1]} − {args[0]})"
        elif cls.startswith("Pow") and "exponent" in attrs and args:
            text = _pow_text(args[0], attrs["exponent"])
        elif cls.startswith("Addmm") and len(args) >= 3:
            text = f"({args[1]} @ {args[2]} + {args[0]})"
        elif cls.startswith(("Add", "Sub", "Mul", "Div", "Mm", "Mv", "Dot", "Bmm")) \
                and len(args) >= 2:
            sym = {"Add": "+", "Sub": "−", "Mul": "×", "Div": "/"}.get(cls[:3], "@")
            if cls.startswith(("Mm", "Mv", "Dot", "Bmm")):
                sym = "@"
            text = f"({args[0]} {sym} {args[1]})"
        elif cls.startswith("Mul") and args and "other" in attrs:
            text = f"({args[0]} × {fmt_number(attrs['other'])})"
        elif cls.startswith("Neg") and args:
            text = f"(−{args[0]})"
        elif cls in ("TBackward0", "TransposeBackward0") and args:
            text = f"{args[0]}ᵀ"
        elif cls == "SelectBackward0" and args and "index" in attrs:
            text = f"{args[0]}[{':, ' * int(attrs.get('dim', 0) or 0)}{attrs['index']}]"
        elif cls == "SliceBackward0" and args and "start" in attrs:
            end = attrs.get("end", 0)
            end = "" if end >= 2**62 else str(end)
            step = f":{attrs['step']}" if attrs.get("step", 1) != 1 else ""
            text = f"{args[0]}[{':, ' * int(attrs.get('dim', 0) or 0)}{attrs['start']}:{end}{step}]"
        elif cls == "IndexBackward0" and len(args) >= 2:
            text = f"{args[0]}[{args[1]}]"
        else:
            name = {"_threshold": "threshold"}.get(fwd, fwd)
            inner = [a[1:-1] if a.startswith("(") and a.endswith(")") else a for a in args[:3]]
            text = f"{name}({', '.join(inner)})"
        return text if len(text) <= limit else None


def _softmax_np(x: np.ndarray, d: int) -> np.ndarray:
    z = np.exp(x - x.max(axis=d, keepdims=True))
    return z / z.sum(axis=d, keepdims=True)


def _log_softmax_np(x: np.ndarray, d: int) -> np.ndarray:
    m = x.max(axis=d, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=d, keepdims=True))


def _dim_of(a: dict, x: np.ndarray, key: str = "dim", default: int = -1) -> int:
    return _norm_dim(int(a.get(key, default)), x.ndim)


# Forward functions for recomputing an unrecorded tensor from its single input.
_FORWARD: dict[str, Callable[[np.ndarray, dict, tuple], np.ndarray]] = {
    "TBackward0": lambda x, a, s: x.T,
    "TransposeBackward0": lambda x, a, s: np.swapaxes(
        x, _dim_of(a, x, "dim0", 0), _dim_of(a, x, "dim1", 1)),
    "PermuteBackward0": lambda x, a, s: np.transpose(
        x, [_norm_dim(int(d), x.ndim) for d in a["dims"]]),
    "ExpandBackward0": lambda x, a, s: np.broadcast_to(x, s),
    "SoftmaxBackward0": lambda x, a, s: _softmax_np(x, _dim_of(a, x)),
    "LogSoftmaxBackward0": lambda x, a, s: _log_softmax_np(x, _dim_of(a, x)),
    "SigmoidBackward0": lambda x, a, s: 1.0 / (1.0 + np.exp(-x)),
    "TanhBackward0": lambda x, a, s: np.tanh(x),
    "ExpBackward0": lambda x, a, s: np.exp(x),
    "NegBackward0": lambda x, a, s: -x,
    "ReluBackward0": lambda x, a, s: np.maximum(x, 0.0),
    "ReciprocalBackward0": lambda x, a, s: 1.0 / x,
}
for _name in ("ViewBackward0", "ReshapeAliasBackward0", "UnsafeViewBackward0", "SqueezeBackward0",
              "SqueezeBackward1", "SqueezeBackward2", "SqueezeBackward3", "UnsqueezeBackward0",
              "UnsqueezeBackward1", "CloneBackward0", "ToCopyBackward0", "AliasBackward0"):
    _FORWARD[_name] = lambda x, a, s: x.reshape(s)


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
_WORD = {"UnsafeViewBackward0": "view", "ReshapeAliasBackward0": "reshape", "TBackward0": "t",
         "ToCopyBackward0": "to", "AliasBackward0": "alias"}


def op_word(node: Node) -> str:
    """The forward name of an op node, as a learner would call it: mul, view, softmax."""
    cls = node.op or ""
    fwd = node.forward_op
    own = _WORD.get(cls) or re.sub(r"Backward\d*$", "", cls).lower() or (fwd or "?")
    if cls in _ALIASES:
        return fwd if fwd in _ALIASES[cls] else own
    return fwd or own


def _pow_text(base: str, n: Any) -> str:
    sup = {2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹"}
    if isinstance(n, (int, float)) and float(n).is_integer() and int(n) in sup:
        return f"{base}{sup[int(n)]}"
    return f"{base}^{fmt_number(n)}"


class _Op:
    """Everything one rule needs about an op step."""

    def __init__(self, ix: _Index, step: Step, symbolic: bool = False):
        self.ix = ix
        self.symbolic = symbolic  # stand-in ones for values that were not kept: rule text only
        self.step = step
        self.node = ix.nodes[step.node]
        self.cls = step.op
        self.attrs = {k: _signed(v) for k, v in (self.node.attrs or {}).items()}
        outs = [ix.nodes[o] for o in ix.outputs.get(step.node, []) if o in ix.nodes]
        self.out: Node | None = outs[0] if len(outs) == 1 else None
        self.slots = [ix.nodes.get(gi.edge_to) if gi.edge_to else None for gi in step.grad_inputs]
        self.ops = ix.operands(step.node)
        self.consts = [ix.nodes[i] for i in ix.inputs.get(step.node, [])
                       if i in ix.nodes and ix.nodes[i].constant]
        self.root = ix.root_label
        up = step.grad_outputs[0] if step.grad_outputs else None
        if self.out is not None:
            self.out_shape = list(self.out.shape)
        else:
            self.out_shape = list(np.shape(up)) if up is not None else []
        self.up: np.ndarray | None = None
        if up is not None and len(step.grad_outputs) == 1:
            try:
                self.up = np.asarray(up, dtype=float).reshape(self.out_shape)
            except (ValueError, TypeError):
                self.up = None
        self.omit_up = bool(self.out is not None and (self.out.output or self.out.id == ix.root_id)
                            and self.up is not None and np.all(self.up == 1.0))

    # values --------------------------------------------------------------------------
    def val(self, k: int) -> np.ndarray:
        n = self.ops[k] if k < len(self.ops) else None
        if n is not None:
            v = self.ix.value(n)
            if v is None:
                if self.symbolic:
                    return np.ones(list(n.shape) if n.shape else ())
                raise _Missing(n.id)
            return v
        key = ("self", "other")[k] if k < 2 else None
        if key and key in self.attrs and isinstance(self.attrs[key], (int, float)):
            return np.asarray(float(self.attrs[key]))
        raise _Missing(f"operand {k}")

    def raw(self, node: Node) -> np.ndarray:
        if node.value is None:
            raise _Missing(node.id)
        return np.asarray(node.value)

    def y(self) -> np.ndarray:
        v = self.ix.value(self.out)
        if v is None:
            if self.symbolic:
                return np.ones(self.out_shape)
            raise _Missing("output")
        return v.reshape(self.out_shape)

    def U(self) -> np.ndarray:
        if self.up is None:
            if self.symbolic:
                return np.ones(self.out_shape)
            raise _Missing("upstream")
        return self.up

    def in_shape(self, i: int) -> list[int]:
        gi = self.step.grad_inputs[i]
        if gi.shape or gi.grad is not None:
            return list(gi.shape)
        n = self.ops[i] if i < len(self.ops) else None
        return list(n.shape) if n is not None else []

    def operand_shape(self, k: int) -> list[int]:
        if k < len(self.step.grad_inputs) and self.step.grad_inputs[k].edge_to:
            return list(self.step.grad_inputs[k].shape)
        n = self.ops[k] if k < len(self.ops) else None
        if n is None:
            return []
        if n.shape:
            return list(n.shape)
        return list(np.shape(n.value)) if n.value is not None else []

    # symbols -------------------------------------------------------------------------
    def name(self, k: int) -> str:
        n = self.ops[k] if k < len(self.ops) else None
        if n is None:
            key = ("self", "other")[k] if k < 2 else ""
            if key in self.attrs:
                return fmt_number(self.attrs[key])
            return "abc"[k] if k < 3 else "?"
        return self.ix.label(n)

    def osym(self, k: int, parts: list[str]) -> str:
        """Operand k at an index given for its own dimensions."""
        shape = self.operand_shape(k)
        return self.name(k) + (_idx(parts) if shape else "")

    def bsym(self, k: int, out_expr: list[str], ref: list[int] | None = None) -> str:
        """Operand k at a position of the output (or of `ref`): broadcast dims read 0."""
        ref = self.out_shape if ref is None else ref
        shape = self.operand_shape(k)
        off = len(out_expr) - len(shape)
        parts = []
        for d, s in enumerate(shape):
            D = d + off
            inside = 0 <= D < len(out_expr)
            stretched = s == 1 and not (inside and D < len(ref) and ref[D] == 1)
            parts.append("0" if stretched or not inside else out_expr[D])
        return self.name(k) + _idx(parts)

    def ylabel(self) -> str:
        return self.ix.label(self.out) if self.out is not None else "y"

    def ysym(self, out_expr: list[str]) -> str:
        return self.ylabel() + _idx(out_expr)

    def up_sym(self, out_expr: list[str]) -> str:
        return f"∂{self.root}/∂{self.ysym(out_expr)}"

    def fill(self, template: str, out_expr: list[str], ref: list[int] | None = None) -> str:
        s = template
        for k in range(min(len(self.ops), 4)):
            tag = "{a%d}" % k
            if tag in s:
                s = s.replace(tag, self.bsym(k, out_expr, ref))
        if "{y}" in s:
            s = s.replace("{y}", self.ysym(out_expr))
        return s

    def target(self, i: int) -> Node | None:
        return self.slots[i] if i < len(self.slots) else None

    def lhs(self, i: int, j: tuple) -> str:
        return f"∂{self.root}/∂{self.ix.label(self.target(i))}{_idx(j)}"

    # terms ---------------------------------------------------------------------------
    def chain(self, i: int, j: tuple, up_expr: list[str], letters: list[str], symbols: list[str],
              rows: list[tuple[tuple, list[float]]], notes: list | None = None,
              upstream: bool = True) -> Term:
        """A term: Σ over rows of ∂R/∂y[o] · factors (the upstream left out at the root)."""
        use_up = upstream and not self.omit_up
        U = self.U() if use_up else None
        products: list[list[float]] = []
        for o, fs in rows:
            p = ([float(U[o])] if use_up else []) + list(fs)
            products.append(p or [1.0])
        if use_up and len(rows) > 1 and not letters and not symbols:
            rule = " + ".join(self.up_sym([str(x) for x in o]) for o, _ in rows)
        else:
            syms = ([self.up_sym(up_expr)] if use_up else []) + list(symbols)
            rule = " · ".join(syms) if syms else "1"
            if letters and rows:
                rule = "Σ" + "".join(letters).translate(_SUBSCRIPT) + " " + rule
        if not rows:
            rule, products = "0", []
        target = self.target(i)
        t = Term(kind="chain", edge=i, target=target.id if target else "",
                 label=self.ix.label(target), element=0, index=list(j), lhs=self.lhs(i, j),
                 rule=rule, products=products, notes=list(notes or []))
        t.result = t.value
        return t


# ---------------------------------------------------------------------------------------
# Rule helpers


def _norm_dim(d: int, nd: int) -> int:
    nd = max(nd, 1)
    return d % nd if d < 0 or d >= nd else d


def _dims(v: Any, nd: int) -> list[int]:
    if v is None:
        return list(range(nd))
    if isinstance(v, (list, tuple)):
        return sorted({_norm_dim(int(d), nd) for d in v}) if len(v) else list(range(nd))
    return [_norm_dim(int(v), nd)]


def _pointwise(op: _Op, i: int, j: tuple, factors: list[tuple[str, Any]],
               notes: list | None = None) -> Term:
    """An elementwise rule: ∂R/∂x[j] = Σ over the output places x[j] reached of ∂R/∂y · factors."""
    out_shape = op.out_shape
    in_shape = op.in_shape(i)
    nd = len(out_shape)
    off = nd - len(in_shape)
    if off < 0:
        raise _Unsupported("input larger than output")
    out_expr: list[str] = []
    ranges: list = []
    letters: list[str] = []
    bdims: list[int] = []
    pool = iter(_LETTERS)
    for D in range(nd):
        d = D - off
        if d < 0 or (in_shape[d] == 1 and out_shape[D] != 1):
            letter = next(pool, "q")
            letters.append(letter)
            out_expr.append(letter)
            ranges.append(range(out_shape[D]))
            bdims.append(D)
        else:
            if in_shape[d] != out_shape[D]:
                raise _Unsupported("shapes do not broadcast")
            out_expr.append(str(j[d]))
            ranges.append((j[d],))
    arrays = [np.broadcast_to(np.asarray(a, dtype=float), out_shape) for _, a in factors]
    if op.symbolic:  # the rule text only: one place is enough
        ranges = [r[:1] for r in ranges]
    rows = [(o, [float(a[o]) for a in arrays]) for o in itertools.product(*ranges)]
    symbols = [op.fill(t, out_expr) for t, _ in factors]
    notes = list(notes or [])
    if bdims:
        notes.append(("broadcast", {"name": op.ix.label(op.target(i)), "src": fmt_shape(in_shape),
                                    "dst": fmt_shape(out_shape), "dims": bdims}))
    return op.chain(i, j, out_expr, letters, symbols, rows, notes)


def _masked(op: _Op, i: int, j: tuple, template: str, mask: np.ndarray) -> Term:
    """relu, clamp, threshold: the gradient passes (1) or stops (0)."""
    mask = np.broadcast_to(np.asarray(mask, dtype=float), op.out_shape)
    notes = []
    if mask.size and float(mask[j if len(j) == mask.ndim else ()]) == 0.0:
        notes.append(("stopped", {"op": op_word(op.node),
                                  "name": op.ix.label(op.target(i)), "idx": _idx(j)}))
    return _pointwise(op, i, j, [(template, mask)], notes)


def _moved(op: _Op, i: int, j: tuple, o: tuple | None, note: str = "moved") -> Term:
    """View-like ops: the gradient of x[j] is the upstream at the place it moved to."""
    if o is None:
        return op.chain(i, j, [], [], [], [], [("not_picked", {
            "name": op.ix.label(op.target(i)), "idx": _idx(j), "op": op_word(op.node),
            "expr": op.ylabel()})])
    o = tuple(int(x) for x in o)
    return op.chain(i, j, [str(x) for x in o], [], [], [(o, [])],
                    [(note, {"op": op_word(op.node)})])


def _reduce_index(j: tuple, dims: list[int], keepdim: bool) -> tuple:
    out = []
    for d, x in enumerate(j):
        if d in dims:
            if keepdim:
                out.append(0)
        else:
            out.append(x)
    return tuple(out)


def _matmul(op: _Op, i: int, j: tuple, a: int, b: int, which: str,
            scale: tuple[str, float] | None = None) -> Term:
    """y = A @ B (batched when 3-d): ∂A[r,c] = Σₖ ∂y[r,k]·B[c,k]; ∂B[c,q] = Σₖ ∂y[k,q]·A[k,c]."""
    A, B = op.val(a), op.val(b)
    pre = [(scale[0], scale[1])] if scale else []
    batch = j[:-2] if A.ndim == 3 else ()
    bx = [str(x) for x in batch]
    rows = []
    if which == "A":
        r, c = j[-2], j[-1]
        m = B.shape[-1]
        for q in range(m):
            rows.append((batch + (r, q), [f for _, f in pre] + [float(B[batch + (c, q)])]))
        up_expr = bx + [str(r), "k"]
        symbols = [s for s, _ in pre] + [op.osym(b, bx + [str(c), "k"])]
    else:
        c, q = j[-2], j[-1]
        n = A.shape[-2]
        for r in range(n):
            rows.append((batch + (r, q), [f for _, f in pre] + [float(A[batch + (r, c)])]))
        up_expr = bx + ["k", str(q)]
        symbols = [s for s, _ in pre] + [op.osym(a, bx + ["k", str(c)])]
    return op.chain(i, j, up_expr, ["k"], symbols, rows)


RuleFn = Callable[[_Op, int, tuple], "Term | None"]
RULES: dict[str, RuleFn] = {}


def rule(*names: str) -> Callable[[RuleFn], RuleFn]:
    def deco(fn: RuleFn) -> RuleFn:
        for n in names:
            RULES[n] = fn
        return fn

    return deco


# ---------------------------------------------------------------------------------------
# Rules, one per autograd class (or family)


@rule("AddBackward0")
def _add(op: _Op, i: int, j: tuple) -> Term:
    alpha = op.attrs.get("alpha", 1)
    f = [(fmt_number(alpha), alpha)] if i == 1 and alpha != 1 else []
    return _pointwise(op, i, j, f)


@rule("SubBackward0")
def _sub(op: _Op, i: int, j: tuple) -> Term:
    alpha = op.attrs.get("alpha", 1)
    f = [(f"(−{fmt_number(alpha)})", -alpha)] if i == 1 else []
    return _pointwise(op, i, j, f)


@rule("RsubBackward0", "RsubBackward1")
def _rsub(op: _Op, i: int, j: tuple) -> Term:
    alpha = op.attrs.get("alpha", 1)
    f = [(f"(−{fmt_number(alpha)})", -alpha)] if i == 0 else []
    return _pointwise(op, i, j, f)


@rule("MulBackward0")
def _mul(op: _Op, i: int, j: tuple) -> Term:
    other = 1 - i
    return _pointwise(op, i, j, [("{a%d}" % other, op.val(other))])


@rule("MulBackward1")
def _mul_scalar(op: _Op, i: int, j: tuple) -> Term:
    o = op.attrs["other"]
    return _pointwise(op, i, j, [(fmt_number(o), o)])


@rule("DivBackward0")
def _div(op: _Op, i: int, j: tuple) -> Term:
    a, b = op.val(0), op.val(1)
    if i == 0:
        return _pointwise(op, i, j, [("1/{a1}", 1.0 / b)])
    return _pointwise(op, i, j, [("(−{a0}/{a1}²)", -a / b**2)])


@rule("DivBackward1")
def _div_scalar(op: _Op, i: int, j: tuple) -> Term:
    o = op.attrs["other"]
    return _pointwise(op, i, j, [(f"1/{fmt_number(o)}", 1.0 / o)])


@rule("NegBackward0")
def _neg(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [("(−1)", -1.0)])


@rule("PowBackward0")
def _pow(op: _Op, i: int, j: tuple) -> Term:
    n = op.attrs["exponent"]
    x = op.val(0)
    m = n - 1
    sym = "1" if m == 0 else ("{a0}" if m == 1 else _pow_text("{a0}", m))
    return _pointwise(op, i, j, [(fmt_number(n), n), (sym, x**m if m != 0 else np.ones_like(x))])


@rule("PowBackward1")
def _pow_tensor(op: _Op, i: int, j: tuple) -> Term:
    a, b = op.val(0), op.val(1)
    if i == 0:
        return _pointwise(op, i, j, [("{a1}", b), ("{a0}^({a1}−1)", a ** (b - 1))])
    return _pointwise(op, i, j, [("{y}", op.y()), ("ln {a0}", np.log(a))])


@rule("PowBackward2")
def _pow_base(op: _Op, i: int, j: tuple) -> Term:
    s = op.attrs["self"]
    return _pointwise(op, i, j, [("{y}", op.y()), (f"ln {fmt_number(s)}", math.log(s))])


@rule("ExpBackward0")
def _exp(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [("exp({a0})", op.y())])


@rule("LogBackward0")
def _log(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [("1/{a0}", 1.0 / op.val(0))])


@rule("SqrtBackward0")
def _sqrt(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [("1/(2√{a0})", 1.0 / (2.0 * op.y()))])


@rule("SigmoidBackward0")
def _sigmoid(op: _Op, i: int, j: tuple) -> Term:
    y = op.y()
    return _pointwise(op, i, j, [("σ({a0})", y), ("(1 − σ({a0}))", 1.0 - y)])


@rule("TanhBackward0")
def _tanh(op: _Op, i: int, j: tuple) -> Term:
    y = op.y()
    return _pointwise(op, i, j, [("(1 − tanh²({a0}))", 1.0 - y * y)])


@rule("ReluBackward0")
def _relu(op: _Op, i: int, j: tuple) -> Term:
    return _masked(op, i, j, "[{a0} > 0]", op.y() > 0)


@rule("ThresholdBackward0")
def _threshold(op: _Op, i: int, j: tuple) -> Term:
    th = op.attrs.get("threshold", 0)
    return _masked(op, i, j, f"[{{a0}} > {fmt_number(th)}]", op.val(0) > th)


@rule("ClampBackward1")
def _clamp(op: _Op, i: int, j: tuple) -> Term:
    x = op.val(0)
    lo, hi = op.attrs.get("min"), op.attrs.get("max")
    mask = np.ones_like(x, dtype=bool)
    if lo is not None:
        mask &= x >= lo
    if hi is not None:
        mask &= x <= hi
    parts = ([fmt_number(lo), "≤"] if lo is not None else []) + ["{a0}"] + \
        (["≤", fmt_number(hi)] if hi is not None else [])
    return _masked(op, i, j, "[" + " ".join(parts) + "]", mask)


@rule("ClampMinBackward0")
def _clamp_min(op: _Op, i: int, j: tuple) -> Term:
    lo = op.attrs["min"]
    return _masked(op, i, j, f"[{{a0}} ≥ {fmt_number(lo)}]", op.val(0) >= lo)


@rule("ClampMaxBackward0")
def _clamp_max(op: _Op, i: int, j: tuple) -> Term:
    hi = op.attrs["max"]
    return _masked(op, i, j, f"[{{a0}} ≤ {fmt_number(hi)}]", op.val(0) <= hi)


@rule("LeakyReluBackward0")
def _leaky(op: _Op, i: int, j: tuple) -> Term:
    s = op.attrs.get("negative_slope", 0.01)
    x = op.val(0)
    return _pointwise(op, i, j, [(f"({{a0}} > 0 ? 1 : {fmt_number(s)})", np.where(x > 0, 1.0, s))])


@rule("AbsBackward0")
def _abs(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [("sign({a0})", np.sign(op.val(0)))])


@rule("SinBackward0")
def _sin(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [("cos({a0})", np.cos(op.val(0)))])


@rule("CosBackward0")
def _cos(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [("(−sin({a0}))", -np.sin(op.val(0)))])


@rule("ReciprocalBackward0")
def _reciprocal(op: _Op, i: int, j: tuple) -> Term:
    y = op.y()
    return _pointwise(op, i, j, [("(−1/{a0}²)", -y * y)])


@rule("ExpandBackward0", "CloneBackward0", "ToCopyBackward0", "AliasBackward0")
def _expand(op: _Op, i: int, j: tuple) -> Term:
    return _pointwise(op, i, j, [])


# reductions ----------------------------------------------------------------------------


@rule("SumBackward0")
def _sum(op: _Op, i: int, j: tuple) -> Term:
    return op.chain(i, j, [], [], [], [((), [])], [("sum_copy", {})])


@rule("SumBackward1")
def _sum_dim(op: _Op, i: int, j: tuple) -> Term:
    nd = len(op.in_shape(i))
    dims = _dims(op.attrs.get("dim"), nd)
    o = _reduce_index(j, dims, bool(op.attrs.get("keepdim")))
    return op.chain(i, j, [str(x) for x in o], [], [], [(o, [])], [("sum_copy", {})])


@rule("MeanBackward0")
def _mean(op: _Op, i: int, j: tuple) -> Term:
    n = _numel(op.in_shape(i))
    return op.chain(i, j, [], [], [f"1/{n}"], [((), [1.0 / n])], [("mean_split", {"n": n})])


@rule("MeanBackward1")
def _mean_dim(op: _Op, i: int, j: tuple) -> Term:
    shape = op.in_shape(i)
    dims = _dims(op.attrs.get("dim"), len(shape))
    n = _numel([shape[d] for d in dims])
    o = _reduce_index(j, dims, bool(op.attrs.get("keepdim")))
    return op.chain(i, j, [str(x) for x in o], [], [f"1/{n}"], [(o, [1.0 / n])],
                    [("mean_split", {"n": n})])


@rule("MaxBackward1", "MinBackward1")
def _max_all(op: _Op, i: int, j: tuple) -> Term:
    x, y = op.val(0), float(op.y())
    mask = x == y
    count = int(mask.sum())
    word = "max" if op.cls.startswith("Max") else "min"
    sym = f"[{op.osym(0, [str(v) for v in j])} = {word}]" + (f"/{count}" if count > 1 else "")
    f = float(mask[j]) / max(count, 1)
    return op.chain(i, j, [], [], [sym], [((), [f])], [(f"{word}_pick", {"op": word})])


@rule("MaxBackward0", "MinBackward0")
def _max_dim(op: _Op, i: int, j: tuple) -> Term:
    x = op.val(0)
    d = _norm_dim(int(op.attrs.get("dim", 0)), x.ndim)
    word = "max" if op.cls.startswith("Max") else "min"
    pick = np.argmax(x, axis=d) if word == "max" else np.argmin(x, axis=d)
    o = _reduce_index(j, [d], bool(op.attrs.get("keepdim")))
    rest = tuple(v for k, v in enumerate(j) if k != d)
    f = 1.0 if int(pick[rest]) == j[d] else 0.0
    sym = f"[{op.osym(0, [str(v) for v in j])} = {word}]"
    return op.chain(i, j, [str(v) for v in o], [], [sym], [(o, [f])],
                    [(f"{word}_pick", {"op": word})])


@rule("LinalgVectorNormBackward0")
def _norm(op: _Op, i: int, j: tuple) -> Term:
    p = float(op.attrs.get("ord", 2))
    if not (math.isfinite(p) and p > 0):
        raise _Unsupported("norm order")
    x = op.val(0)
    dims = _dims(op.attrs.get("dim"), x.ndim)
    o = _reduce_index(j, dims, bool(op.attrs.get("keepdim")))
    y = op.y()
    yo = float(y[o])
    xj = float(x[j])
    xs, ys = op.osym(0, [str(v) for v in j]), op.ysym([str(v) for v in o])
    if p == 2:
        sym, f = f"{xs}/{ys}", xj / yo
    elif p == 1:
        sym, f = f"sign({xs})", float(np.sign(xj))
    else:
        sym = f"sign({xs})·|{xs}|^{fmt_number(p - 1)}/{ys}^{fmt_number(p - 1)}"
        f = float(np.sign(xj)) * abs(xj) ** (p - 1) / yo ** (p - 1)
    return op.chain(i, j, [str(v) for v in o], [], [sym], [(o, [f])])


@rule("DistBackward0")
def _dist(op: _Op, i: int, j: tuple) -> Term:
    p = float(op.attrs.get("p", 2))
    a, b = op.val(0), op.val(1)
    if a.shape != b.shape or not (math.isfinite(p) and p > 0):
        raise _Unsupported("dist")
    d = float(a[j] - b[j])
    y = float(op.y())
    sign = 1.0 if i == 0 else -1.0
    ix = [str(v) for v in j]
    diff = f"({op.osym(0, ix)} − {op.osym(1, ix)})"
    if p == 2:
        sym, f = f"{diff}/{op.ylabel()}", d / y
    elif p == 1:
        sym, f = f"sign{diff}", float(np.sign(d))
    else:
        sym = f"sign{diff}·|{diff}|^{fmt_number(p - 1)}/{op.ylabel()}^{fmt_number(p - 1)}"
        f = float(np.sign(d)) * abs(d) ** (p - 1) / y ** (p - 1)
    syms = ([] if i == 0 else ["(−1)"]) + [sym]
    return op.chain(i, j, [], [], syms, [((), ([] if i == 0 else [sign]) + [f])])


# shape moves -------------------------------------------------------------------------


@rule("ViewBackward0", "ReshapeAliasBackward0", "UnsafeViewBackward0", "SqueezeBackward0",
      "SqueezeBackward1", "SqueezeBackward2", "SqueezeBackward3", "UnsqueezeBackward0",
      "UnsqueezeBackward1")
def _view(op: _Op, i: int, j: tuple) -> Term:
    shape = op.in_shape(i)
    flat = int(np.ravel_multi_index(j, shape)) if shape else 0
    o = tuple(np.unravel_index(flat, op.out_shape)) if op.out_shape else ()
    return _moved(op, i, j, o)


@rule("TBackward0")
def _t(op: _Op, i: int, j: tuple) -> Term:
    return _moved(op, i, j, tuple(reversed(j)))


@rule("TransposeBackward0", "TransposeBackward1")
def _transpose(op: _Op, i: int, j: tuple) -> Term:
    nd = len(j)
    d0 = _norm_dim(int(op.attrs.get("dim0", 0)), nd)
    d1 = _norm_dim(int(op.attrs.get("dim1", 1)), nd)
    o = list(j)
    o[d0], o[d1] = j[d1], j[d0]
    return _moved(op, i, j, tuple(o))


@rule("PermuteBackward0")
def _permute(op: _Op, i: int, j: tuple) -> Term:
    dims = [_norm_dim(int(d), len(j)) for d in op.attrs["dims"]]
    return _moved(op, i, j, tuple(j[d] for d in dims))


@rule("SelectBackward0")
def _select(op: _Op, i: int, j: tuple) -> Term:
    shape = op.in_shape(i)
    d = _norm_dim(int(op.attrs["dim"]), len(shape))
    k = int(op.attrs["index"]) % shape[d]
    o = tuple(v for n, v in enumerate(j) if n != d) if j[d] == k else None
    return _moved(op, i, j, o, "not_picked" if o is None else "moved")


@rule("SliceBackward0")
def _slice(op: _Op, i: int, j: tuple) -> Term:
    shape = op.in_shape(i)
    d = _norm_dim(int(op.attrs["dim"]), len(shape))
    size = shape[d]
    start, end, step = int(op.attrs.get("start", 0)), int(op.attrs.get("end", size)), \
        int(op.attrs.get("step", 1))
    start = min(max(start + size if start < 0 else start, 0), size)
    end = min(max(end + size if end < 0 else end, 0), size)
    x = j[d]
    o = None
    if start <= x < end and (x - start) % step == 0:
        o = tuple((x - start) // step if n == d else v for n, v in enumerate(j))
    return _moved(op, i, j, o)


@rule("CatBackward0")
def _cat(op: _Op, i: int, j: tuple) -> Term:
    d = _norm_dim(int(op.attrs.get("dim", 0)), len(op.out_shape))
    n_in = len(op.step.grad_inputs)
    sizes: list[int | None] = []
    for k in range(n_in):
        s = op.operand_shape(k)
        sizes.append(None if not s else (0 if s == [0] else s[d]))
    unknown = [k for k, v in enumerate(sizes) if v is None]
    if len(unknown) == 1:  # a constant in the list (torch.cat((zero, h))): the rest of the size
        sizes[unknown[0]] = op.out_shape[d] - sum(v for v in sizes if v is not None)
    elif unknown and any(k < i for k in unknown):
        raise _Unsupported("cat of several unknown constants")
    offset = sum(sizes[:i])
    o = tuple(v + offset if n == d else v for n, v in enumerate(j))
    return _moved(op, i, j, o)


@rule("StackBackward0")
def _stack(op: _Op, i: int, j: tuple) -> Term:
    d = _norm_dim(int(op.attrs.get("dim", 0)), len(op.out_shape))
    return _moved(op, i, j, tuple(j[:d]) + (i,) + tuple(j[d:]))


@rule("IndexBackward0")
def _index(op: _Op, i: int, j: tuple) -> Term:
    idx_nodes = [n for n in op.consts if n.dtype.startswith(("int", "uint", "bool", "long"))]
    if len(idx_nodes) != 1:
        raise _Unsupported("index pattern")
    I = op.raw(idx_nodes[0])
    shape = op.in_shape(i)
    word = op_word(op.node)
    if I.dtype == bool:
        k = I.ndim
        if tuple(I.shape) != tuple(shape[:k]):
            raise _Unsupported("mask shape")
        if not I[tuple(j[:k])]:
            return _moved(op, i, j, None)
        rank = int(I.reshape(-1)[: int(np.ravel_multi_index(j[:k], I.shape))].sum()) if k else 0
        return _moved(op, i, j, (rank,) + tuple(j[k:]))
    I = I.astype(np.int64) % shape[0]
    places = [p for p in itertools.product(*(range(s) for s in I.shape)) if int(I[p]) == j[0]]
    rows = [(tuple(p) + tuple(j[1:]), []) for p in places]
    if not rows:
        return _moved(op, i, j, None)
    if len(rows) == 1:
        return _moved(op, i, j, rows[0][0])
    return op.chain(i, j, [], [], [], rows, [("moved", {"op": word})])


# matrix products -------------------------------------------------------------------------


@rule("MmBackward0", "BmmBackward0")
def _mm(op: _Op, i: int, j: tuple) -> Term:
    return _matmul(op, i, j, 0, 1, "A" if i == 0 else "B")


@rule("AddmmBackward0")
def _addmm(op: _Op, i: int, j: tuple) -> Term:
    beta, alpha = op.attrs.get("beta", 1), op.attrs.get("alpha", 1)
    if i == 0:
        return _pointwise(op, i, j, [(fmt_number(beta), beta)] if beta != 1 else [])
    scale = (fmt_number(alpha), float(alpha)) if alpha != 1 else None
    return _matmul(op, i, j, 1, 2, "A" if i == 1 else "B", scale)


@rule("MvBackward0")
def _mv(op: _Op, i: int, j: tuple) -> Term:
    A, v = op.val(0), op.val(1)
    if i == 0:
        r, c = j
        return op.chain(i, j, [str(r)], [], [op.osym(1, [str(c)])], [((r,), [float(v[c])])])
    (c,) = j
    rows = [((r,), [float(A[r, c])]) for r in range(A.shape[0])]
    return op.chain(i, j, ["k"], ["k"], [op.osym(0, ["k", str(c)])], rows)


@rule("DotBackward0")
def _dot(op: _Op, i: int, j: tuple) -> Term:
    other = 1 - i
    v = op.val(other)
    return op.chain(i, j, [], [], [op.osym(other, [str(j[0])])], [((), [float(v[j])])])


# softmax and losses ------------------------------------------------------------------------


def _defs(op: _Op, Y: str) -> str:
    expr = op.ylabel()
    return "" if expr == Y else f"{Y} = {expr}, "


@rule("SoftmaxBackward0")
def _softmax(op: _Op, i: int, j: tuple) -> Term:
    """y = softmax(x): ∂x[j] = y[j]·(g[j] − Σₖ g[k]·y[k]) with g = ∂R/∂y."""
    y, U = op.y(), op.U()
    d = _norm_dim(int(op.attrs.get("dim", -1)), y.ndim)
    line = tuple(slice(None) if n == d else v for n, v in enumerate(j))
    s = float((U[line] * y[line]).sum())
    yj, uj = float(y[j]), float(U[j])
    jx, kx = _idx([str(v) for v in j]), _idx(["k" if n == d else str(v) for n, v in enumerate(j)])
    Y = op.ylabel() if op.out is not None and op.out.name else "y"
    symbols = [f"{Y}{jx}", f"(g{jx} − Σₖ g{kx}·{Y}{kx})"]
    diff = Num(uj - s, f"({fmt_number(uj)} − {fmt_number(s)})")
    notes = [("softmax_sum", {"y": Y, "defs": _defs(op, Y), "root": op.root, "k": kx,
                              "value": fmt_number(s)})]
    return op.chain(i, j, [], [], symbols, [((), [yj, diff])], notes, upstream=False)


@rule("LogSoftmaxBackward0")
def _log_softmax(op: _Op, i: int, j: tuple) -> Term:
    """y = log_softmax(x): ∂x[j] = g[j] − exp(y[j])·Σₖ g[k] with g = ∂R/∂y."""
    y, U = op.y(), op.U()
    d = _norm_dim(int(op.attrs.get("dim", -1)), y.ndim)
    line = tuple(slice(None) if n == d else v for n, v in enumerate(j))
    S = float(U[line].sum())
    p = float(np.exp(y[j]))
    jx, kx = _idx([str(v) for v in j]), _idx(["k" if n == d else str(v) for n, v in enumerate(j)])
    Y = op.ylabel() if op.out is not None and op.out.name else "y"
    t = op.chain(i, j, [], [], [], [((), [])], upstream=False)
    t.rule = f"g{jx} − exp({Y}{jx}) · Σₖ g{kx}"
    t.products = [[float(U[j])], [-p, S]]
    t.result = t.value
    t.notes.append(("log_softmax_sum", {"y": Y, "defs": _defs(op, Y), "root": op.root, "k": kx,
                                        "value": fmt_number(S)}))
    return t


def _loss_rows(op: _Op, i: int, j: tuple, factors: list[tuple[str, Any]], n: int) -> Term:
    """A loss over elements: reduction none is elementwise, mean adds 1/n, sum nothing."""
    red = int(op.attrs.get("reduction", 1))
    if red == 0:
        return _pointwise(op, i, j, factors)
    if red == 1:
        factors = factors + [(f"1/{n}", 1.0 / n)]
    ix = [str(v) for v in j]
    shape = op.in_shape(i)
    vals = [float(np.broadcast_to(np.asarray(a, dtype=float), shape)[j]) for _, a in factors]
    return op.chain(i, j, [], [], [op.fill(t, ix, shape) for t, _ in factors], [((), vals)])


@rule("MseLossBackward0")
def _mse(op: _Op, i: int, j: tuple) -> Term:
    x, t = op.val(0), op.val(1)
    if x.shape != t.shape:
        raise _Unsupported("mse broadcast")
    two = ("2", 2.0) if i == 0 else ("(−2)", -2.0)
    return _loss_rows(op, i, j, [two, ("({a0} − {a1})", x - t)], x.size)


@rule("BinaryCrossEntropyBackward0")
def _bce(op: _Op, i: int, j: tuple) -> Term:
    p, t = op.val(0), op.val(1)
    if p.shape != t.shape:
        raise _Unsupported("bce broadcast")
    if i == 0:
        f = [("({a0} − {a1})", p - t),
             ("1/({a0}·(1 − {a0}))", 1.0 / np.maximum(p * (1 - p), 1e-12))]
    else:
        f = [("(ln(1 − {a0}) − ln {a0})", np.log1p(-p) - np.log(p))]
    return _loss_rows(op, i, j, f, p.size)


@rule("BinaryCrossEntropyWithLogitsBackward0")
def _bce_logits(op: _Op, i: int, j: tuple) -> Term:
    x, t = op.val(0), op.val(1)
    if x.shape != t.shape:
        raise _Unsupported("bce broadcast")
    if i == 0:
        f = [("(σ({a0}) − {a1})", 1.0 / (1.0 + np.exp(-x)) - t)]
    else:
        f = [("(−{a0})", -x)]
    return _loss_rows(op, i, j, f, x.size)


@rule("NllLossBackward0")
def _nll(op: _Op, i: int, j: tuple) -> Term:
    shape = op.in_shape(i)
    if len(shape) not in (1, 2):
        raise _Unsupported("nll over extra dims")
    tnodes = [n for n in op.consts if n.dtype.startswith(("int", "long", "uint"))]
    if tnodes and tnodes[0].value is not None:
        T = np.asarray(tnodes[0].value, dtype=np.int64).reshape(-1)
    elif "target" in op.attrs:
        T = np.asarray([int(op.attrs["target"])])
    else:
        raise _Missing("target")
    ignore = int(op.attrs.get("ignore_index", -100))
    red = int(op.attrs.get("reduction", 1))
    row, c = (j[0], j[1]) if len(shape) == 2 else (0, j[0])
    counted = int((T != ignore).sum())
    tw = float(op.attrs.get("total_weight", counted))
    if red == 1 and not math.isclose(tw, counted):
        raise _Unsupported("class weights")
    tgt = int(T[row])
    up_expr = [str(row)] if red == 0 and len(shape) == 2 else []
    o = (row,) if red == 0 and len(shape) == 2 else ()
    if tgt != c or tgt == ignore:
        t = op.chain(i, j, up_expr, [], [], [], [("not_target", {
            "name": op.ix.label(op.target(i)), "idx": _idx(j)})])
        return t
    factors = [("(−1)", -1.0)] + ([(f"1/{fmt_number(tw)}", 1.0 / tw)] if red == 1 else [])
    return op.chain(i, j, up_expr, [], [s for s, _ in factors], [(o, [f for _, f in factors])])


# ---------------------------------------------------------------------------------------
# Steps


def _contributions(ix: _Index, node_id: str, before: int) -> list[tuple[Step, Any]]:
    """Gradients earlier steps sent to one tensor, in forward order (first use first)."""
    sent = [(s, s.grad_inputs[k].grad) for s, k in ix.sent_to.get(node_id, []) if s.index < before]

    def key(item: tuple[Step, Any]) -> tuple:
        node = ix.nodes.get(item[0].node)
        line = node.line if node is not None and node.line is not None else 10**9
        return (line, -item[0].index)

    return sorted(sent, key=key)


def _at(v: Any, e: int) -> float | None:
    if v is None:
        return None
    f = flatten(v)
    if not f or f[0] is None:
        return None
    return float(f[e % len(f)])


def _accumulate(ix: _Index, step: Step, element: int) -> list[Term]:
    leaf = ix.nodes.get(step.node)
    name = ix.label(leaf)
    shape = list(leaf.shape) if leaf is not None else []
    n = _numel(shape)
    e = element % n if n else 0
    j = tuple(int(v) for v in np.unravel_index(e, shape)) if shape else ()
    lhs = f"{name}.grad{_idx(j)}"
    t = Term(kind="accumulate", edge=-1, target=step.node, label=name, element=e, index=list(j),
             lhs=lhs)
    after = _at(step.grad_after, e)
    incoming = _at(step.grad_outputs[0], e) if step.grad_outputs else None
    before = _at(step.grad_before, e)
    if after is None or incoming is None:
        t.kind = "recorded"
        summary = step.grad_output_summaries[0] if step.grad_output_summaries else None
        first = (summary or {}).get("first") or []
        if incoming is None and e < len(first):
            t.lhs, t.result = f"{lhs} +=", float(first[e])
        else:
            t.result = after
        t.notes.append(("no_values", {}))
        return [t]
    contribs = _contributions(ix, step.node, step.index)
    vals = [_at(g, e) for _, g in contribs]
    if len(vals) < 2 or any(v is None for v in vals) or \
            not _close(sum(vals), incoming, sum(abs(v) for v in vals)):
        vals = [incoming]
    t.products = ([[before]] if before is not None else []) + [[v] for v in vals]
    t.result = after
    if not _close(t.value, after, sum(abs(p[0]) for p in t.products)):
        t.kind, t.products = "recorded", None
        return [t]
    if before is not None:
        t.notes.append(("acc_more", {"name": name, "before": fmt_number(before)}))
    if len(vals) > 1:
        t.notes.append(("acc_fan_in", {"name": name, "n": len(vals)}))
    if before is None and len(vals) == 1:
        t.notes.append(("acc_first", {"name": name}))
    return [t]


def _fan_in(op: _Op, element: int) -> Term | None:
    """The gradient that arrived here, when it is the sum of several uses of the output."""
    out = op.out
    if out is None or op.up is None:
        return None
    contribs = _contributions(op.ix, out.id, op.step.index)
    if len(contribs) < 2:
        return None
    n = _numel(op.out_shape)
    e = element % n if n else 0
    vals = [_at(g, e) for _, g in contribs]
    incoming = float(op.up.reshape(-1)[e]) if op.up.size else None
    if any(v is None for v in vals) or incoming is None or \
            not _close(sum(vals), incoming, sum(abs(v) for v in vals)):
        return None
    j = tuple(int(v) for v in np.unravel_index(e, op.out_shape)) if op.out_shape else ()
    name = op.ylabel()
    t = Term(kind="fan_in", edge=-1, target=out.id, label=name, element=e, index=list(j),
             lhs=op.up_sym([str(v) for v in j]), products=[[v] for v in vals], result=incoming)
    t.notes.append(("fan_in", {"name": name, "n": len(vals)}))
    return t


def _sent(gi: Any, e: int) -> float | None:
    """Element e of a gradient autograd sent: the value, or the summary's first few."""
    value = _at(gi.grad, e)
    first = gi.summary.get("first") or [] if isinstance(gi.summary, dict) else []
    if value is None and e < len(first):
        value = float(first[e])
    return value


def _recorded(op: _Op, i: int, j: tuple, e: int, note: tuple[str, dict] | None) -> Term:
    gi = op.step.grad_inputs[i]
    target = op.target(i)
    value = _sent(gi, e)
    t = Term(kind="recorded", edge=i, target=target.id if target else "",
             label=op.ix.label(target), element=e, index=list(j), lhs=op.lhs(i, j), result=value)
    if note:
        t.notes.append(note)
    return t


_VALUE_NOTES = {"stopped", "softmax_sum", "log_softmax_sum"}  # notes that quote numbers


def _rule_only(ix: _Index, step: Step, fn: RuleFn, i: int, j: tuple, e: int) -> Term:
    """Values were not kept (large tensors): the rule, and the number autograd sent."""
    op = _Op(ix, step, symbolic=True)
    t = _recorded(op, i, j, e, None)
    try:
        with np.errstate(all="ignore"):
            sym = fn(op, i, j)
    except Exception:
        sym = None
    if sym is not None:
        t.kind = "rule"
        t.rule = sym.rule
        t.notes = [n for n in sym.notes if n[0] not in _VALUE_NOTES]
    t.notes.append(("no_values", {}))
    return t


def _op_terms(ix: _Index, step: Step, element: int) -> list[Term]:
    op = _Op(ix, step)
    fn = RULES.get(step.op)
    terms: list[Term] = []
    fan = _fan_in(op, element)
    if fan is not None:
        terms.append(fan)
    for i, gi in enumerate(step.grad_inputs):
        if not gi.edge_to or (gi.grad is None and gi.summary is None):
            continue  # a constant input: no gradient flows there
        shape = op.in_shape(i)
        n = _numel(shape)
        e = element % n if n else 0
        j = tuple(int(v) for v in np.unravel_index(e, shape)) if shape else ()
        if fn is None or op.out is None or len(step.grad_outputs) != 1:
            terms.append(_recorded(op, i, j, e, None))
            continue
        try:
            with np.errstate(all="ignore"):
                t = fn(op, i, j)
        except _Missing:
            terms.append(_rule_only(ix, step, fn, i, j, e))
            continue
        except (KeyError, IndexError, ValueError, TypeError, ZeroDivisionError,
                FloatingPointError):
            terms.append(_recorded(op, i, j, e, None))
            continue
        except _Unsupported:
            terms.append(_recorded(op, i, j, e, None))
            continue
        if t is None:
            continue
        t.element = e
        actual = _sent(gi, e)
        if actual is None:  # nothing to check the arithmetic against: the rule only
            t.kind, t.products, t.result = "rule", None, None
            t.notes = [n for n in t.notes if n[0] not in _VALUE_NOTES] + [("no_values", {})]
            terms.append(t)
            continue
        scale = sum(abs(math.prod(p)) for p in t.products) if t.products is not None else 0.0
        if t.result is None or not _close(t.result, actual, scale):
            terms.append(_recorded(op, i, j, e, None))
            continue
        t.result = actual  # the printed result is what autograd stored, to the last digit
        terms.append(t)
    return terms


def step_arithmetic(graph: Graph, step: Step | int, element: int = 0,
                    _ix: _Index | None = None) -> list[Term]:
    """The numbers one step's explanation prints, one Term per gradient sent.

    `element` is a flat index into each gradient (it wraps around smaller tensors).
    Terms of kind "chain" satisfy: result == Σ ∏ products == the step's grad_inputs
    element (checked here: a term that does not match becomes "recorded").
    """
    ix = _ix or _Index(graph)
    if isinstance(step, int):
        step = graph.steps[step]
    if step.op == "AccumulateGrad":
        return _accumulate(ix, step, element)
    if step.node not in ix.nodes:
        return []
    return _op_terms(ix, step, element)


# ---------------------------------------------------------------------------------------
# Text


def _term_line(t: Term) -> str:
    if t.kind == "accumulate" and t.products is not None:
        nums = [_fmt_factor(p[0], True) for p in t.products]
        res = fmt_number(t.result)
        if len(nums) == 1:
            return f"{t.lhs} += {nums[0]} → {res}"
        return f"{t.lhs}: {_fmt_products(t.products, limit=6)} = {res}"
    if t.kind == "fan_in" and t.products is not None:
        return f"{t.lhs} = {_fmt_products(t.products, limit=6)} = {fmt_number(t.result)}"
    if t.kind == "rule":
        parts = [t.lhs] + ([t.rule] if t.rule else []) + \
            ([fmt_number(t.result)] if t.result is not None else [])
        return " = ".join(parts)
    if t.kind == "recorded" or t.products is None:
        sep = " " if t.lhs.endswith("+=") else " = "
        return f"{t.lhs}{sep}{fmt_number(t.result) if t.result is not None else '—'}"
    parts = [t.lhs]
    if t.rule:
        parts.append(t.rule)
    nums = _fmt_products(t.products) if t.products else ""
    if nums and nums != parts[-1]:
        parts.append(nums)
    res = fmt_number(t.result)
    if parts[-1] != res:
        parts.append(res)
    return " = ".join(parts)


def _note_text(key: str, kw: dict, lang: str) -> str:
    kw = dict(kw)
    if key == "broadcast":
        dims = kw.get("dims", [])
        kw["dims"] = say("dim" if len(dims) == 1 else "dims", lang,
                         dims=", ".join(str(d) for d in dims))
    return say(key, lang, **kw)


def _header(ix: _Index, step: Step) -> str | None:
    """The op with its shapes, for tensors: `y = (x × w): (3), (3) → (3)`."""
    node = ix.nodes.get(step.node)
    if node is None or step.op == "AccumulateGrad":
        return None
    outs = [ix.nodes[o] for o in ix.outputs.get(step.node, []) if o in ix.nodes]
    operands = [n for n in ix.operands(step.node) if n is not None]
    shapes = [list(n.shape) for n in operands if not (n.constant and not n.shape)]
    out_shapes = [list(o.shape) for o in outs]
    if not any(shapes) and not any(out_shapes):
        return None
    full = ix.expr(step.node, depth=0, limit=48)
    expr = full or op_word(node)
    if len(outs) == 1:
        # the name the lines below use for the output, defined by its expression
        short, word = ix.label(outs[0]), op_word(node)
        if full:
            expr = full if short == full else f"{short} = {full}"
        else:
            expr = f"{word}(…)" if short == word else f"{short} = {word}(…)"
    ins = ", ".join(fmt_shape(s) for s in shapes)
    return f"{expr}: {ins} → {', '.join(fmt_shape(s) for s in out_shapes) or '?'}"


def _generic(ix: _Index, step: Step, lang: str) -> str:
    node = ix.nodes.get(step.node)
    root = ix.root_label
    up = fmt_value(step.grad_outputs[0] if step.grad_outputs else None,
                   step.grad_output_summaries[0] if step.grad_output_summaries else None)
    if step.op == "AccumulateGrad":
        name = ix.label(node)
        return f"{name}.grad = {fmt_value(step.grad_after)}"
    outs = [ix.nodes[o] for o in ix.outputs.get(step.node, []) if o in ix.nodes]
    y = ix.label(outs[0]) if len(outs) == 1 else (node.forward_op if node else step.op)
    downs = [f"∂{root}/∂{ix.label(ix.nodes.get(gi.edge_to))} = {fmt_value(gi.grad, gi.summary)}"
             for gi in step.grad_inputs if gi.edge_to]
    line = f"{step.op}: ∂{root}/∂{y} = {up} → " + (", ".join(downs) if downs else "—")
    return line + "\n" + say("no_formula", lang)


def _render(ix: _Index, step: Step, terms: list[Term], lang: str) -> str:
    lines: list[str] = []
    chain = [t for t in terms if t.kind in ("chain", "fan_in")]
    if step.op != "AccumulateGrad" and step.op not in RULES and not chain:
        return _generic(ix, step, lang)
    header = _header(ix, step)
    if header:
        lines.append(header)
    lines.extend(_term_line(t) for t in terms)
    notes: list[str] = []
    for t in terms:
        for key, kw in t.notes:
            text = _note_text(key, kw, lang)
            if text not in notes:
                notes.append(text)
    if step.op != "AccumulateGrad":
        outs = [ix.nodes[o] for o in ix.outputs.get(step.node, []) if o in ix.nodes]
        if len(outs) == 1 and outs[0].retains_grad and step.grad_outputs:
            out = outs[0]
            value = fmt_value(step.grad_outputs[0],
                              step.grad_output_summaries[0] if step.grad_output_summaries else None)
            notes.append(say("retain", lang, name=ix.label(out), value=value))
        for n in ix.operands(step.node):
            if n is not None and n.constant and n.name and n.kind == "tensor":
                text = say("constant", lang, name=n.name)
                if text not in notes:
                    notes.append(text)
    if not lines and not notes:
        return _generic(ix, step, lang)
    return "\n".join(lines + notes)


def _explain(ix: _Index, step: Step, langs: tuple[str, ...], element: int) -> list[str]:
    """The step's text in each language; never raises."""
    try:
        terms = step_arithmetic(ix.graph, step, element, _ix=ix)
        return [_render(ix, step, terms, lang) for lang in langs]
    except Exception:  # never let an explanation break a recording
        out = []
        for lang in langs:
            try:
                out.append(_generic(ix, step, lang))
            except Exception:
                out.append(step.op)
        return out


def explain_step(graph: Graph, step: Step | int, lang: str = "en", element: int = 0) -> str:
    """The explanation of one step for a learner-picked element (flat index), in `lang`."""
    try:
        ix = _Index(graph)
        if isinstance(step, int):
            step = graph.steps[step]
        return _explain(ix, step, (lang,), element)[0]
    except Exception:
        return str(getattr(step, "op", ""))


def explain_graph(graph: Graph, element: int = 0) -> None:
    """Fill `explanation` (English) and `explanation_ko` (Korean) of every step."""
    ix = _Index(graph)
    for step in graph.steps:
        step.explanation, step.explanation_ko = _explain(ix, step, ("en", "ko"), element)
