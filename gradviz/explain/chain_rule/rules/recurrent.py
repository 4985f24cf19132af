"""Rules for a whole recurrent layer in one autograd node (nn.LSTM on the CPU: one
MkldnnRnnLayerBackward0 per layer and direction).

Its outputs are the output sequence, h_n and c_n. An input x[t] reaches every output
from step t on, through the gates and the cell state, so its gradient is
Σₒ ∂L/∂y[o] · ∂y[o]/∂x[j] over those outputs. The local derivatives ∂y[o]/∂x[j] are
computed here by running the cell forward with x[j] nudged (a forward-mode derivative,
the gates i, f, g, o as PyTorch orders them), from the recorded input, weights and
initial state; the sum is checked against what autograd sent like any other rule.
"""
from __future__ import annotations

import numpy as np

from gradviz.explain.chain_rule.indices import _idx
from gradviz.explain.chain_rule.op_context import _Op
from gradviz.explain.chain_rule.rules import rule
from gradviz.explain.chain_rule.terms import Term, _Unsupported
from gradviz.opnames import op_word

_LSTM = 2  # the mode number of an LSTM layer


def _sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _lstm(args: list[np.ndarray], tangents: list[np.ndarray], reverse: bool):
    """The layer's (output, h_n, c_n) and their derivatives along `tangents`."""
    x, wih, whh, bih, bhh, h, c = args
    dx, dwih, dwhh, dbih, dbhh, dh, dc = tangents
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    out, dout = np.zeros(x.shape[:2] + h.shape[-1:]), np.zeros(x.shape[:2] + h.shape[-1:])
    for t in steps:
        z = x[t] @ wih.T + bih + h @ whh.T + bhh
        dz = dx[t] @ wih.T + x[t] @ dwih.T + dbih + dh @ whh.T + h @ dwhh.T + dbhh
        i, f, g, o = np.split(z, 4, axis=-1)
        di, df, dg, do = np.split(dz, 4, axis=-1)
        si, sf, tg, so = _sig(i), _sig(f), np.tanh(g), _sig(o)
        dsi, dsf, dso = si * (1 - si) * di, sf * (1 - sf) * df, so * (1 - so) * do
        dtg = (1 - tg * tg) * dg
        c, dc = sf * c + si * tg, dsf * c + sf * dc + dsi * tg + si * dtg
        tc = np.tanh(c)
        h, dh = so * tc, dso * tc + so * (1 - tc * tc) * dc
        out[t], dout[t] = h, dh
    return [out, h, c], [dout, dh, dc]


def _inputs(op: _Op) -> list[np.ndarray]:
    """input (steps first), W_ih, W_hh, b_ih, b_hh, h_0, c_0 (zeros where not given)."""
    if int(op.attrs.get("mode", -1)) != _LSTM or not op.attrs.get("has_biases", True) or \
            len(op.step.grad_inputs) != 7:
        raise _Unsupported("only an LSTM layer with biases")
    x = op.val(0)  # time first, even with batch_first (the layer gets it transposed)
    w = [op.val(k) for k in range(1, 5)]
    hidden = w[1].shape[1]
    shape = (x.shape[1], hidden)
    states = []
    for k in (5, 6):
        n = op.ops[k] if k < len(op.ops) else None
        states.append(op.val(k).reshape(shape) if n is not None else np.zeros(shape))
    return [x] + w + states


@rule("MkldnnRnnLayerBackward0", many=True)
def _rnn_layer(op: _Op, i: int, j: tuple) -> Term:
    args = _inputs(op)
    tangents = [np.zeros_like(a) for a in args]
    tangents[i][tuple(j)] = 1.0
    outs, derivs = _lstm(args, tangents, bool(op.attrs.get("reverse")))
    y = op.ix.value(op.out_of(0)) if op.out_of(0) is not None else None
    if y is not None and not op.symbolic and not np.allclose(y, outs[0], rtol=1e-4, atol=1e-5):
        raise _Unsupported("the layer's output is not the LSTM recomputed")
    x = op.ix.label(op.target(i))
    parts, products = [], []
    for q, (value, d) in enumerate(zip(outs, derivs)):
        U = op.Uq(q, list(value.shape))
        if U is None:
            continue
        name = op.qlabel(q)
        parts.append(f"Σₒ ∂{op.root}/∂{name}[o] · ∂{name}[o]/∂{x}{_idx([str(v) for v in j])}")
        for o in np.ndindex(*value.shape):
            if d[o] != 0.0:
                products.append([float(U[o]), float(d[o])])
                if op.symbolic:
                    break
    notes = [("rnn", {"op": op_word(op.node), "name": x, "idx": _idx(j)})] if i == 0 else []
    return op.term(i, j, " + ".join(parts) or "0", products, notes)
