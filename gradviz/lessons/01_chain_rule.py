"""Lesson 1: the chain rule on a two-step computation.

We build l = (3w)^2 and ask autograd for dl/dw at w = 1.
By hand: a = 3w, l = a^2, so dl/dw = dl/da * da/dw = 2a * 3 = 2*3*3 = 18.
"""
import torch

# A leaf tensor: created by us, not by an operation. We want its gradient.
w = torch.tensor(1.0, requires_grad=True)

# Each operation records a grad_fn: the backward step that undoes it.
a = w * 3      # a.grad_fn is MulBackward0
l = a ** 2     # l.grad_fn is PowBackward0

print("w is leaf:", w.is_leaf, " grad_fn:", w.grad_fn)
print("a is leaf:", a.is_leaf, " grad_fn:", type(a.grad_fn).__name__)
print("l is leaf:", l.is_leaf, " grad_fn:", type(l.grad_fn).__name__)

# backward() walks the grad_fn chain from l back to w,
# multiplying the local derivatives: dl/da = 2a = 6, da/dw = 3.
l.backward()

# Only leaves that require grad keep their .grad after backward().
print("dl/dw =", w.grad.item())   # 18.0
