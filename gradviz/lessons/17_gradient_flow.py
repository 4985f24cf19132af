"""Lesson 17: gradients through ten layers: they fade with sigmoid, and what keeps them alive.

The same 10-layer network is trained four ways. Backward multiplies by each layer's
local derivative: sigmoid's is at most 0.25, so by the first layer the gradient is
about ten million times smaller than at the last (vanishing gradients) and the early
layers barely learn. ReLU with He (Kaiming) initialisation passes gradients of about
the same size through every layer; BatchNorm rescales each layer's outputs; a
residual path (x + f(x)) gives the gradient a road around every layer.
"""
import argparse

import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--iterations", type=int, default=30)
parser.add_argument("--lr", type=float, default=0.01)
args = parser.parse_args()

DEPTH, WIDTH = 10, 32


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(WIDTH, WIDTH)

    def forward(self, x):
        return x + 0.5 * self.linear(torch.relu(x))     # the gradient also flows through "x +"


def build(variant):
    torch.manual_seed(1)                                  # the same start for every variant
    if variant == "residual":
        return nn.Sequential(*[Residual() for _ in range(DEPTH)], nn.Linear(WIDTH, 1))
    layers = []
    for _ in range(DEPTH):
        linear = nn.Linear(WIDTH, WIDTH)
        if variant != "sigmoid":                          # He initialisation suits ReLU
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        if variant == "relu_batchnorm":
            layers.append(nn.BatchNorm1d(WIDTH))
        layers.append(nn.Sigmoid() if variant == "sigmoid" else nn.ReLU())
    return nn.Sequential(*layers, nn.Linear(WIDTH, 1))


torch.manual_seed(0)
x = torch.randn(256, WIDTH)
y = x[:, :1] * 2 - x[:, 1:2]                              # a target the network can learn

for variant in ["sigmoid", "relu", "relu_batchnorm", "residual"]:
    model = build(variant)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)][:DEPTH]
    for iteration in range(args.iterations):
        loss = ((model(x) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        if iteration == 0:
            first_norms = [w.grad.norm().item() for w in weights]
            first_loss = loss.item()
        optimizer.step()
    print(f"{variant:15s} loss {first_loss:.4f} -> {loss.item():.4f}")
    print(f"{'':15s} first gradient norms, layer 1 to {DEPTH}: "
          + " ".join(f"{n:.1e}" for n in first_norms)
          + f"  (layer 1 / layer {DEPTH} = {first_norms[0] / first_norms[-1]:.1e})")
