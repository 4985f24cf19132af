"""Lesson 3: constants and variables.

Only tensors created with requires_grad=True get a gradient.
Data (inputs, targets) stays constant: autograd does no work for it.
"""
import warnings

import torch

x = torch.tensor(1.0)                      # a constant: requires_grad is False
y = torch.tensor(2.0, requires_grad=True)  # a variable we want dF/dy for

F = x * y
F.backward()

print("y.grad =", y.grad.item())   # dF/dy = x = 1
print("x.grad =", x.grad)   # None: nobody asked for the gradient of a constant

# F is not a leaf: it was made by an operation (F.grad_fn is MulBackward0).
# Autograd does not store .grad on non-leaf tensors unless you call
# F.retain_grad() before backward(), so F.grad is None and PyTorch warns
# when you read it. We catch the warning to show it.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    F_grad = F.grad
print("F.is_leaf =", F.is_leaf, " F.grad =", F_grad)
if caught:
    print("warning:", str(caught[0].message)[:80] + "...")
