"""Reading one Graph: look-ups, forward values, and the names explanations print.

`_Index` is built once per graph: who made a tensor, an op's operands, which steps
sent gradients to a tensor, a tensor's value, and its printed name (`w`, `(x + b)`,
`Wᵀ`). `_FORWARD` recomputes the value of a tensor made inside torch's own
functions from its single input.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

import numpy as np

from gradviz.explain.chain_rule.indices import _norm_dim, _numel
from gradviz.numbers import as_signed, fmt_number
from gradviz.opnames import op_word
from gradviz.recording import Graph, Node, Step


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
                v = np.asarray(fn(x, {k: as_signed(a) for k, a in op.attrs.items()}, shape),
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
        attrs = {k: as_signed(v) for k, v in op.attrs.items()}
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


def _pow_text(base: str, n: Any) -> str:
    sup = {2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹"}
    if isinstance(n, (int, float)) and float(n).is_integer() and int(n) in sup:
        return f"{base}{sup[int(n)]}"
    return f"{base}^{fmt_number(n)}"
