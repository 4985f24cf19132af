"""Lesson 6: gradient descent by hand.

Minimise L = w**2 (slope 2w). Each step moves w against the slope:
w_new = w - lr * 2w = (1 - 2*lr) * w.  With lr = 0.05 that is w * 0.9,
with lr = 0.3 it is w * 0.4.

Options: --lr (part 1's learning rate, default 0.05), --iterations (part 1's steps,
default 30). Part 2 always takes 20 steps with lr 0.3.
"""
import argparse

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.05)
parser.add_argument("--iterations", type=int, default=30)
args = parser.parse_args()

# Part 1: the update written out, lr = 0.05, 30 steps.
w = torch.tensor(10.0, requires_grad=True)
lr = args.lr
trajectory = []
for step in range(args.iterations):
    L = w ** 2
    L.backward()               # fills w.grad with dL/dw = 2w
    with torch.no_grad():      # the update itself must not be recorded
        w -= lr * w.grad
    w.grad.zero_()             # grads add up across backward() calls: reset
    trajectory.append(round(w.item(), 4))
print(f"lr={lr}:", trajectory[:6], "...", trajectory[-1])


# Part 2: the same idea as a reusable function over a list of tensors.
def step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= lr * p.grad
                p.grad.zero_()


w = torch.tensor(10.0, requires_grad=True)
trajectory = []
for i in range(20):
    L = w ** 2
    L.backward()
    step([w], lr=0.3)
    trajectory.append(w.item())
print("lr=0.3:", [round(v, 4) for v in trajectory[:5]], "...", f"{trajectory[-1]:.4e}")
