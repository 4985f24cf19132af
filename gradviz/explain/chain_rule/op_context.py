"""_Op: everything one rule needs about one op step, so that a rule reads like its formula.

Values (`val`, `y`, `U`: an operand, the output, the gradient that arrived), shapes,
the symbols the text prints (`bsym`, `ysym`, `up_sym`, `fill`) and `chain`, which
makes the Term a rule returns. With symbolic=True, values that were not kept read
as ones: the rule's text is still right, its numbers are not shown.

Ops with several outputs (split, unbind, an LSTM layer) read output q's gradient
with `Uq(q)` (None: nothing arrived, the output was not used) and name it with
`qlabel(q)`: the output tensor whose gradient is that one, or the op's words.
"""
from __future__ import annotations

import numpy as np

from gradviz.explain.chain_rule.indices import _idx, _numel
from gradviz.explain.chain_rule.reading import _Index
from gradviz.explain.chain_rule.terms import KEPT, Term, _Missing
from gradviz.numbers import as_signed, fmt_number
from gradviz.opnames import op_word
from gradviz.recording import Node, Step

_SUBSCRIPT = str.maketrans("ijkmnoprstuv", "ᵢⱼₖₘₙₒₚᵣₛₜᵤᵥ")


class _Op:
    """Everything one rule needs about an op step."""

    def __init__(self, ix: _Index, step: Step, symbolic: bool = False):
        self.ix = ix
        self.symbolic = symbolic  # stand-in ones for values that were not kept: rule text only
        self.step = step
        self.node = ix.nodes[step.node]
        self.cls = step.op
        self.attrs = {k: as_signed(v) for k, v in (self.node.attrs or {}).items()}
        outs = [ix.nodes[o] for o in ix.outputs.get(step.node, []) if o in ix.nodes]
        self.outs = outs
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
        self._qshape: dict[int, list[int]] = {}
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
                raise _Missing(n.id, big=_numel(list(n.shape)) > KEPT)
            return v
        key = ("self", "other")[k] if k < 2 else None
        if key and key in self.attrs and isinstance(self.attrs[key], (int, float)):
            return np.asarray(float(self.attrs[key]))
        raise _Missing(f"operand {k}")

    def raw(self, node: Node) -> np.ndarray:
        if node.value is None:
            raise _Missing(node.id, big=_numel(list(node.shape)) > KEPT)
        return np.asarray(node.value)

    def y(self) -> np.ndarray:
        v = self.ix.value(self.out)
        if v is None:
            if self.symbolic:
                return np.ones(self.out_shape)
            raise _Missing("output", big=_numel(self.out_shape) > KEPT)
        return v.reshape(self.out_shape)

    def U(self) -> np.ndarray:
        if self.up is None:
            if self.symbolic:
                return np.ones(self.out_shape)
            raise _Missing("upstream", big=self._big_up(0) or _numel(self.out_shape) > KEPT)
        return self.up

    def _big_up(self, q: int) -> bool:
        sums = self.step.grad_output_summaries
        return bool(q < len(sums) and sums[q])

    def Uq(self, q: int, shape: list[int] | None = None) -> np.ndarray | None:
        """The gradient that arrived at output q, of `shape` (a rule knows its outputs'
        shapes; later calls remember it); None when none did (the output was unused)."""
        shape = self._qshape.setdefault(q, shape) if shape is not None else self._qshape.get(q)
        g = self.step.grad_outputs[q] if q < len(self.step.grad_outputs) else None
        if g is None:
            if not self._big_up(q):
                return None
            if self.symbolic and shape is not None:
                return np.ones(shape)
            raise _Missing(f"upstream {q}", big=True)
        a = np.asarray(g, dtype=float)
        return a.reshape(shape) if shape is not None and a.size == _numel(shape) else a

    def out_of(self, q: int) -> Node | None:
        """The output tensor node of output q (see _Index.output_of)."""
        return self.ix.output_of(self.step.node, q)

    def qlabel(self, q: int) -> str:
        """Output q's name: its tensor's label, or the op's words (split(x)[1])."""
        t = self.out_of(q)
        if t is not None:
            return self.ix.label(t)
        x = self.name(0) if self.ops else "…"
        return f"{op_word(self.node)}({x})[{q}]"

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

    def bsym(self, k: int, out_expr: list[str], ref: list[int] | None = None,
             name: str | None = None) -> str:
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
        return (name or self.name(k)) + _idx(parts)

    def ylabel(self) -> str:
        return self.ix.label(self.out) if self.out is not None else "y"

    def ysym(self, out_expr: list[str]) -> str:
        return self.ylabel() + _idx(out_expr)

    def up_sym(self, out_expr: list[str], q: int | None = None) -> str:
        if q is not None:
            return f"∂{self.root}/∂{self.qlabel(q)}{_idx(out_expr)}"
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
              upstream: bool = True, q: int | None = None) -> Term:
        """A term: Σ over rows of ∂R/∂y[o] · factors (the upstream left out at the root).

        q: the rows are places of output q of a several-output op (its upstream, its name)."""
        use_up = upstream and (q is not None or not self.omit_up)
        U = (self.U() if q is None else self.Uq(q)) if use_up and rows else None
        products: list[list[float]] = []
        for o, fs in rows:
            p = ([float(U[o])] if use_up else []) + list(fs)
            products.append(p or [1.0])
        if use_up and len(rows) > 1 and not letters and not symbols:
            rule = " + ".join(self.up_sym([str(x) for x in o], q) for o, _ in rows)
        else:
            syms = ([self.up_sym(up_expr, q)] if use_up else []) + list(symbols)
            rule = " · ".join(syms) if syms else "1"
            if letters and rows:
                rule = "Σ" + "".join(letters).translate(_SUBSCRIPT) + " " + rule
        if not rows:
            rule, products = "0", []
        return self.term(i, j, rule, products, notes)

    def term(self, i: int, j: tuple, rule: str, products: list[list[float]],
             notes: list | None = None) -> Term:
        """A chain Term for input i, element j: the rule's text and the products it prints."""
        target = self.target(i)
        t = Term(kind="chain", edge=i, target=target.id if target else "",
                 label=self.ix.label(target), element=0, index=list(j), lhs=self.lhs(i, j),
                 rule=rule, products=products, notes=list(notes or []))
        t.result = t.value
        return t
