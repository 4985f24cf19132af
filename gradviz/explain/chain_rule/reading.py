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
        self._roles: dict[str, str] = {}  # unnamed leaves -> their part in the op reading them
        self._outputs_by_q: dict[str, dict[int, Node]] = {}  # op -> output number -> tensor
        self._values: dict[str, np.ndarray | None] = {}
        self._read: dict[str, tuple[Any, np.ndarray | None]] = {}  # node id -> (its value, as array)
        self._operands: dict[str, tuple[Node | None, ...]] = {}  # every step reads them twice or more

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
        if node.value is not None:  # read once per graph (each step reads its operands):
            hit = self._read.get(node.id)  # a copy each time, so no rule changes another's
            if hit is None or hit[0] is not node.value:
                try:
                    arr = np.asarray(node.value, dtype=float).reshape(shape)
                except (TypeError, ValueError):
                    arr = None
                hit = self._read[node.id] = (node.value, arr)
            return None if hit[1] is None else hit[1].copy()
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
        """The name a tensor prints as, the same in every line that names it.

        The learner's name; else its expression over its operands' own labels
        ((x + b), Wᵀ, exp(a)); else, too long, its op's word (add(…)). A leaf with no
        name gets the part it plays in the op that reads it (emb.weight, LSTM.weight_ih),
        never an internal id. (`depth` is not used: a label does not depend on where it
        is printed.)
        """
        if node is None:
            return "?"
        hit = self._labels.get(node.id)
        if hit is None:
            self._fill_labels(node)
            hit = self._labels.get(node.id) or "?"
        return hit

    def _fill_labels(self, node: Node) -> None:
        """Label `node` and, first, every unnamed tensor its expression reads (post-order)."""
        stack: list[tuple[Node, bool]] = [(node, False)]
        open_: set[str] = set()
        while stack:
            n, ready = stack.pop()
            if n.id in self._labels:
                continue
            if ready:
                self._labels[n.id] = self._own_label(n)
                continue
            open_.add(n.id)
            stack.append((n, True))
            for d in self._label_deps(n):
                if d.id not in self._labels and d.id not in open_:
                    stack.append((d, False))

    def _label_deps(self, node: Node) -> list[Node]:
        if node.name or node.id == self.root_id or node.output or node.constant:
            return []
        producer = self.producer.get(node.id)
        if producer is None:
            return []
        return [n for n in self.operands(producer) if n is not None]

    def _own_label(self, node: Node) -> str:
        if node.name:
            return node.name
        if node.id == self.root_id or node.output:
            return self.root_label
        if node.constant:
            return node.label or "c"
        producer = self.producer.get(node.id)
        if producer is None:
            return self._role_label(node)
        text = self.expr(producer, limit=32, names=lambda n: self._labels.get(n.id, "…"))
        text = text or f"{op_word(self.nodes[producer])}(…)"
        q = self._output_number(node, producer)  # one of several outputs: which
        return text if q is None else f"{text}[{q}]"

    def _role_label(self, node: Node) -> str:
        """An unnamed leaf: its part in the op that reads it, as PyTorch names that argument.

        All such leaves are named at once, in graph order, so that two of one part are
        told apart the same way in every text (GRU.bias, GRU.bias₂)."""
        if not self._roles:
            taken: set[str] = set()
            for n in self.graph.nodes:
                if n.kind != "tensor" or n.name or n.constant or n.id in self.producer:
                    continue
                base = self._role(n)
                out, k = base, 1
                while out in taken:
                    k += 1
                    out = base + "".join(_SUB_DIGITS[int(c)] for c in str(k))
                taken.add(out)
                self._roles[n.id] = out
        return self._roles.get(node.id) or self._role(node)

    def _role(self, node: Node) -> str:
        role, module = "leaf", None
        seen = node
        for _ in range(3):  # through a view of it (the weight.t() in F.linear)
            found = self._reader(seen)
            if found is None:
                break
            op, k = found
            names = _ROLES.get(op.op or "")
            module = op.module or module
            if names is not None and k < len(names):
                role = names[k]
                break
            outs = self.outputs.get(op.id, [])
            if (op.op or "") not in _VIEWS or len(outs) != 1:
                break
            seen = self.nodes[outs[0]]
        return f"{module}.{role}" if module else role

    def _reader(self, node: Node) -> tuple[Node, int] | None:
        """The first op (in backward order) that sent `node` a gradient, and its slot there."""
        for s, k in self.sent_to.get(node.id, []):
            op = self.nodes.get(s.node)
            if op is not None and op.kind == "op":
                return op, k
        return None

    def output_of(self, op_id: str, q: int) -> Node | None:
        """Output q of an op as a tensor node: the one whose incoming gradients add up to
        what arrived at q (capture keeps no output numbers), when that is unambiguous."""
        found = self._outputs_by_q.get(op_id)
        if found is None:
            found = self._outputs_by_q[op_id] = {}
            step = self.step_of.get(op_id)
            outs = [self.nodes[o] for o in self.outputs.get(op_id, []) if o in self.nodes]
            sums = step.grad_output_summaries if step else []
            arrived = [k for k, g in enumerate(step.grad_outputs)  # a value, or a big one's summary
                       if g is not None or (k < len(sums) and sums[k])] if step else []
            if len(outs) == 1 and len(arrived) == 1:
                found[arrived[0]] = outs[0]
            elif step is not None:
                wants = {k: _array(step.grad_outputs[k]) for k in arrived}  # each read once
                for t in outs:
                    got = self._received(t, step)
                    ks = [k for k in arrived if got is not None and wants[k] is not None
                          and got.shape == wants[k].shape and _allclose(got, wants[k])]
                    if len(ks) == 1 and ks[0] not in found:
                        found[ks[0]] = t
        return found.get(q)

    def _received(self, t: Node, step: Step) -> np.ndarray | None:
        """The sum of the gradients sent to t before `step`; None when none were (or they do
        not add up)."""
        vals = [g for _, g in self.sent_before(t.id, step.index) if g is not None]
        if not vals:
            return None
        try:
            return sum(np.asarray(g, dtype=float) for g in vals)
        except (TypeError, ValueError):
            return None

    def _output_number(self, node: Node, op_id: str) -> int | None:
        step = self.step_of.get(op_id)
        if step is None or len(step.grad_outputs) < 2:
            return None
        for q in range(len(step.grad_outputs)):
            if self.output_of(op_id, q) is node:
                return q
        return None

    def operands(self, op_id: str) -> list[Node | None]:
        """The op's forward inputs: its gradient slots, constants filling the empty ones."""
        hit = self._operands.get(op_id)
        if hit is None:
            hit = self._operands[op_id] = tuple(self._find_operands(op_id))
        return list(hit)

    def _find_operands(self, op_id: str) -> list[Node | None]:
        step = self.step_of.get(op_id)
        ins = [self.nodes[i] for i in self.inputs.get(op_id, []) if i in self.nodes]
        if step is None:
            return list(ins)
        # a slot that takes a gradient holds a float tensor: indices and masks come last
        consts = iter(sorted((n for n in ins if n.constant),
                             key=lambda n: n.dtype.startswith(("int", "uint", "long", "bool"))))
        out: list[Node | None] = []
        for gi in step.grad_inputs:
            out.append(self.nodes.get(gi.edge_to) if gi.edge_to else next(consts, None))
        out.extend(consts)  # constants with no slot (the 2 in 2 - x, an index)
        return out

    def sent_before(self, node_id: str, before: int) -> list[tuple[Step, Any]]:
        """Gradients earlier steps sent to one tensor, in forward order (first use first)."""
        sent = [(s, s.grad_inputs[k].grad) for s, k in self.sent_to.get(node_id, [])
                if s.index < before]

        def key(item: tuple[Step, Any]) -> tuple:
            node = self.nodes.get(item[0].node)
            line = node.line if node is not None and node.line is not None else 10**9
            return (line, -item[0].index)

        return sorted(sent, key=key)

    def expr(self, op_id: str, depth: int = 1, limit: int = 28,
             names: Callable[[Node], str] | None = None) -> str | None:
        """A short forward expression for an unnamed tensor: (f + x), exp(a), Wᵀ."""
        op = self.nodes.get(op_id)
        if op is None:
            return None
        name = names or self.label
        fwd = op_word(op)
        cls = op.op or ""
        attrs = {k: as_signed(v) for k, v in op.attrs.items()}
        args, absent = [], []
        for k, n in enumerate(self.operands(op_id)):
            key = ("self", "other")[k] if k < 2 else ""
            if n is None and isinstance(attrs.get(key), (int, float)):
                args.append(fmt_number(attrs[key]))
            else:
                args.append(name(n) if n is not None else "const")
            absent.append(n is None and args[-1] == "const")
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
        elif cls == "WhereBackward0" and len(args) >= 3:
            text = f"where({args[2]}, {args[0]}, {args[1]})"
        elif cls == "IndexBackward0" and len(args) >= 2:
            text = f"{args[0]}[{args[1]}]"
        else:
            while args and absent[len(args) - 1]:  # optional arguments not given (no bias)
                args.pop()
            name = {"_threshold": "threshold"}.get(fwd, fwd)
            inner = [a[1:-1] if a.startswith("(") and a.endswith(")") else a for a in args[:3]]
            text = f"{name}({', '.join(inner)})"
        return text if len(text) <= limit else None


def _array(v: Any) -> np.ndarray | None:
    try:
        return np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return None


def _allclose(x: np.ndarray, y: np.ndarray) -> bool:
    """np.allclose(x, y, rtol=1e-6, atol=1e-12) for two float arrays of one shape: its
    formula (numpy 2's isclose), without its checks of the arguments (most of its time)."""
    with np.errstate(invalid="ignore"):
        return bool(((np.abs(x - y) <= 1e-12 + 1e-6 * np.abs(y)) & np.isfinite(y) | (x == y)).all())


def _softmax_np(x: np.ndarray, d: int) -> np.ndarray:
    z = np.exp(x - x.max(axis=d, keepdims=True))
    return z / z.sum(axis=d, keepdims=True)


def _log_softmax_np(x: np.ndarray, d: int) -> np.ndarray:
    m = x.max(axis=d, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=d, keepdims=True))


def _slice_np(x: np.ndarray, a: dict) -> np.ndarray:
    d = _dim_of(a, x, "dim", 0)
    end = a.get("end")
    cut = slice(int(a.get("start", 0)), None if end is None or end >= 2**62 else int(end),
                int(a.get("step", 1)))
    return x[tuple(cut if k == d else slice(None) for k in range(x.ndim))]


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
    "SelectBackward0": lambda x, a, s: np.take(x, int(a["index"]), axis=_dim_of(a, x, "dim", 0)),
    "SliceBackward0": lambda x, a, s: _slice_np(x, a),
}
for _name in ("ViewBackward0", "ReshapeAliasBackward0", "UnsafeViewBackward0", "SqueezeBackward0",
              "SqueezeBackward1", "SqueezeBackward2", "SqueezeBackward3", "UnsqueezeBackward0",
              "UnsqueezeBackward1", "CloneBackward0", "ToCopyBackward0", "AliasBackward0"):
    _FORWARD[_name] = lambda x, a, s: x.reshape(s)


# The part each input of an op plays, as PyTorch names that argument: unnamed leaves'
# labels. Views of a leaf (its .t() in F.linear) are looked through.
_ROLES: dict[str, tuple[str, ...]] = {
    "AddmmBackward0": ("bias", "input", "weight"),
    "MmBackward0": ("input", "weight"),
    "ConvolutionBackward0": ("input", "weight", "bias"),
    "NativeLayerNormBackward0": ("input", "weight", "bias"),
    "NativeBatchNormBackward0": ("input", "weight", "bias"),
    "EmbeddingBackward0": ("weight",),
    "MkldnnRnnLayerBackward0": ("input", "weight_ih", "weight_hh", "bias_ih", "bias_hh", "h0",
                                "c0"),
}
_VIEWS = {"TBackward0", "TransposeBackward0", "ViewBackward0", "ExpandBackward0",
          "UnsqueezeBackward0", "ReshapeAliasBackward0"}
_SUB_DIGITS = "₀₁₂₃₄₅₆₇₈₉"


def _pow_text(base: str, n: Any) -> str:
    sup = {2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹"}
    if isinstance(n, (int, float)) and float(n).is_integer() and int(n) in sup:
        return f"{base}{sup[int(n)]}"
    return f"{base}^{fmt_number(n)}"
