"""Lesson 14: forward mode versus reverse mode: the same Jacobian, column by column or row by row.

f takes 3 numbers and returns 2. Its Jacobian J (2 x 3) holds every partial derivative.
Forward mode pushes a direction v through f together with the values (dual numbers) and
gets J @ v: one column per pass. Reverse mode (backward()) pulls a direction u back from
the outputs and gets u @ J: one row per pass. So forward mode costs one pass per input,
reverse mode one pass per output.
"""
import torch
import torch.autograd.forward_ad as fwAD


def f(x):
    a = x[0] * x[1]            # 1 * 2 = 2
    b = torch.sin(x[2])        # sin(0.5)
    return torch.stack([a + b, a * b])


x = torch.tensor([1.0, 2.0, 0.5])

# Forward mode: one pass per input, each gives one column of J.
columns = []
with fwAD.dual_level():
    for i in range(3):
        direction = torch.zeros(3)
        direction[i] = 1.0                        # "how does f change when x[i] moves?"
        x_dual = fwAD.make_dual(x, direction)     # values and tangents travel together
        y = f(x_dual)
        columns.append(fwAD.unpack_dual(y).tangent)
J_forward = torch.stack(columns, dim=1)
print("forward mode: 3 passes (one per input)")
print("J =", J_forward.tolist())

# Reverse mode: one backward() per output, each gives one row of J.
x_leaf = x.clone().requires_grad_()
y = f(x_leaf)
rows = []
for j in range(2):
    x_leaf.grad = None
    y[j].backward(retain_graph=True)              # "which inputs moved output j?"
    rows.append(x_leaf.grad.clone())
J_reverse = torch.stack(rows)
print("reverse mode: 2 passes (one per output)")
print("J =", J_reverse.tolist())
print("same Jacobian:", torch.allclose(J_forward, J_reverse))

# A loss has many inputs and one output: reverse mode needs one pass, forward mode one per input.
n = 1000
w = torch.randn(n, requires_grad=True)
loss = (w ** 2).sum()
loss.backward()                                   # all 1000 partial derivatives at once
print(f"a loss of {n} weights: reverse mode 1 pass, forward mode {n} passes")
print("w.grad equals 2w:", torch.allclose(w.grad, 2 * w.detach()))
