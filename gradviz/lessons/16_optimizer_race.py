"""Lesson 16: five optimizers from torch.optim race across one loss surface.

Each starts at the same point with the same learning rate and takes the same number
of steps on a function of two numbers w = (w1, w2). Plain SGD steps against the
gradient; momentum keeps a running velocity; RMSprop divides by a running size of the
gradient; Adam does both; AdamW is Adam whose weight decay shrinks w directly.
"""
import argparse

import torch

x_data = torch.tensor([1.0, 2.0, 3.0])        # lesson 7's points, on the line y = x
y_data = torch.tensor([1.0, 2.0, 3.0])

SURFACES = {  # name: (loss of w, start, a learning rate and a number of steps that suit it)
    "bowl": (lambda w: w[0] ** 2 + w[1] ** 2, [-1.5, 1.0], 0.1, 50),
    "ravine": (lambda w: 0.1 * w[0] ** 2 + 2 * w[1] ** 2, [-4.0, 1.0], 0.1, 50),
    "rosenbrock": (lambda w: (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2, [-1.5, 2.0], 0.002, 300),
    "regression": (lambda w: ((w[0] * x_data + w[1] - y_data) ** 2).mean(), [-1.0, 2.0], 0.05, 100),
}
OPTIMIZERS = {
    "SGD": lambda params, lr: torch.optim.SGD(params, lr=lr),
    "Momentum": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9),
    "RMSprop": lambda params, lr: torch.optim.RMSprop(params, lr=lr),
    "Adam": lambda params, lr: torch.optim.Adam(params, lr=lr),
    "AdamW": lambda params, lr: torch.optim.AdamW(params, lr=lr, weight_decay=0.1),
}

parser = argparse.ArgumentParser()
parser.add_argument("--surface", choices=sorted(SURFACES), default="ravine")
parser.add_argument("--lr", type=float, default=None, help="default: one that suits the surface")
parser.add_argument("--steps", type=int, default=None, help="default: a number that suits the surface")
args = parser.parse_args()
loss_of, start, suited_lr, suited_steps = SURFACES[args.surface]
lr = suited_lr if args.lr is None else args.lr
steps = suited_steps if args.steps is None else args.steps

print(f"surface {args.surface}, start {start}, lr {lr}, {steps} steps")
for name, make in OPTIMIZERS.items():
    w = torch.tensor(start, requires_grad=True)
    optimizer = make([w], lr)
    for step in range(steps):
        loss = loss_of(w)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        final = loss_of(w).item()
    print(f"{name:9s} ends at w = ({w[0].item():.4f}, {w[1].item():.4f})  loss {final:.6f}")
