"""Lesson 2: a variable used twice (fan-in).

F = f + x - 2 with f = x * y. The leaf x reaches F by two paths:
through f (dF/df * df/dx = 1 * y = 3) and directly (1).
Autograd adds the two contributions: dF/dx = 3 + 1 = 4.
"""
import torch

x = torch.tensor(2.0, requires_grad=True)
y = torch.tensor(3.0, requires_grad=True)

f = x * y          # an intermediate (non-leaf) tensor
f.retain_grad()    # ask autograd to keep f.grad too (it normally doesn't)
F = f + x - 2      # x is used a second time here

F.backward()

print("F =", F.item())              # 6 + 2 - 2 = 6
print("f.grad =", f.grad.item())    # dF/df = 1
print("x.grad =", x.grad.item())    # y + 1 = 4  (two paths summed)
print("y.grad =", y.grad.item())    # dF/df * df/dy = 1 * x = 2
