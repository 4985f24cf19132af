"""The workloads of the scale benchmark (issue 6), from a one-liner to a transformer.

Each workload is built once (`make()`: parameters, inputs) and returns `run`:
`run()` does one forward pass and `loss.backward()` and returns the loss;
`run(backward=False)` stops before the backward (for torchviz, which draws a
graph before it is spent). Forward and backward both happen inside `run`, where
the model and the inputs are local variables: that is what a learner's script
looks like to gradviz's name finder.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn


@dataclass
class Workload:
    key: str
    title: str
    make: Callable[[], Callable[..., torch.Tensor]]


def w1_chain_rule():
    w = torch.tensor(1.0, requires_grad=True)

    def run(backward=True):
        a = w * 3
        l = a ** 2
        if backward:
            l.backward()
        return l
    return run


def w2_fan_in():
    x = torch.tensor(2.0, requires_grad=True)
    y = torch.tensor(3.0, requires_grad=True)

    def run(backward=True):
        f = x * y
        F = f + x - 2
        if backward:
            F.backward()
        return F
    return run


def w3_vectors():
    tensor = torch.tensor([2.0, 4.0, 8.0], requires_grad=True)
    arr = torch.tensor([-1.0, 2.0, 0.0], requires_grad=True)

    def run(backward=True):
        F = (arr * tensor ** 2).sum()
        if backward:
            F.backward()
        return F
    return run


def w4_two_layer_net():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 1000, generator=g)
    y = torch.randn(64, 10, generator=g)
    w1 = torch.randn(1000, 100, generator=g, requires_grad=True)
    w2 = torch.randn(100, 10, generator=g, requires_grad=True)

    def run(backward=True):
        h = x.mm(w1)
        h_relu = h.clamp(min=0)
        y_pred = h_relu.mm(w2)
        loss = (y_pred - y).pow(2).sum()
        if backward:
            loss.backward()
        return loss
    return run


def weird_function(x: torch.Tensor, n_iter: int = 5) -> torch.Tensor:
    """The book's corrupting filter: shifts, a 3-tap filter and half swaps."""
    h = x
    filt = torch.tensor([-1.0 / 3, 1.0 / 3, -1.0 / 3])
    for i in range(n_iter):
        zero_tensor = torch.tensor([0.0])
        h_l = torch.cat((zero_tensor, h[:-1]), 0)
        h_r = torch.cat((h[1:], zero_tensor), 0)
        h = filt[0] * h + filt[2] * h_l + filt[1] * h_r
        if i % 2 == 0:
            n = h.shape[0]
            h = torch.cat((h[n // 2:], h[:n // 2]), 0)
    return h


def w5_restoration():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(100 * 100, generator=g)
    random_tensor = torch.randn(100 * 100, generator=g, requires_grad=True)

    def run(backward=True):
        hypothesis = weird_function(random_tensor)
        loss = torch.dist(hypothesis, target)
        if backward:
            loss.backward()
        return loss
    return run


def w6_xor():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Sigmoid(), nn.Linear(8, 1), nn.Sigmoid())
    criterion = nn.BCELoss()
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])

    def run(backward=True):
        out = model(x)
        loss = criterion(out, y)
        if backward:
            loss.backward()
        return loss
    return run


def w7_rnn():
    torch.manual_seed(0)
    rnn = nn.RNN(10, 10)
    criterion = nn.CrossEntropyLoss()
    x = torch.randn(15, 1, 10)
    target = torch.randint(0, 10, (15,))

    def run(backward=True):
        out, hidden = rnn(x)
        loss = criterion(out.reshape(15, 10), target)
        if backward:
            loss.backward()
        return loss
    return run


def _mean_square(model: nn.Module, x: torch.Tensor) -> Callable[..., torch.Tensor]:
    """`run` for a model trained towards 0: loss = model(x)² averaged (W8a, W8b)."""

    def run(backward=True):
        out = model(x)
        loss = out.pow(2).mean()
        if backward:
            loss.backward()
        return loss
    return run


def w8a_deep_mlp(layers: int = 200):
    torch.manual_seed(0)
    blocks: list[nn.Module] = []
    for _ in range(layers):
        blocks += [nn.Linear(64, 64), nn.ReLU()]
    return _mean_square(nn.Sequential(*blocks), torch.randn(32, 64))


def w8b_transformer():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=128, nhead=4, dim_feedforward=512, dropout=0.0)
    return _mean_square(nn.TransformerEncoder(layer, num_layers=6, enable_nested_tensor=False),
                        torch.randn(8, 32, 128))


def w9_lstm_cell(steps: int = 50):
    torch.manual_seed(0)
    cell = nn.LSTMCell(10, 20)
    xs = torch.randn(steps, 3, 10)

    def run(backward=True):
        h = torch.zeros(3, 20)
        c = torch.zeros(3, 20)
        for t in range(steps):
            h, c = cell(xs[t], (h, c))
        loss = h.sum()
        if backward:
            loss.backward()
        return loss
    return run


WORKLOADS = [
    Workload("W1", "l = (w*3)**2", w1_chain_rule),
    Workload("W2", "F = x*y + x - 2", w2_fan_in),
    Workload("W3", "(arr * tensor**2).sum()", w3_vectors),
    Workload("W4", "two-layer net 64x1000->100->10", w4_two_layer_net),
    Workload("W5", "restoration, torch.dist(weird_function(r), target)", w5_restoration),
    Workload("W6", "XOR MLP 2->8->1, BCELoss", w6_xor),
    Workload("W7", "nn.RNN(10, 10), 15 steps, CrossEntropyLoss", w7_rnn),
    Workload("W8a", "200-layer MLP, Linear(64, 64)+ReLU, batch 32", w8a_deep_mlp),
    Workload("W8b", "6-layer TransformerEncoder, d_model 128, 4 heads, (8, 32, 128)", w8b_transformer),
    Workload("W9", "nn.LSTMCell(10, 20) unrolled 50 steps", w9_lstm_cell),
]
BY_KEY = {w.key: w for w in WORKLOADS}


def build(key: str) -> Callable[..., torch.Tensor]:
    return BY_KEY[key].make()


__all__ = ["WORKLOADS", "BY_KEY", "Workload", "build", "weird_function"]
