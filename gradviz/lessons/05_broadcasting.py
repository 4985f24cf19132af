"""Lesson 5: shapes, broadcasting and batched matmul.

When a small tensor is stretched (broadcast) to a bigger shape in the
forward pass, backward does the opposite: it sums the gradient over the
stretched dimensions, so every .grad has the shape of its own tensor.
"""
import torch

torch.manual_seed(0)

col = torch.randn(3, 1, requires_grad=True)   # shape (3, 1)
row = torch.randn(4, requires_grad=True)      # shape (4,)
grid = col + row                              # broadcast to (3, 4)
grid.retain_grad()                            # keep its grad to compare below

flat = grid.view(12)                          # same 12 numbers, shape (12,)
cube = flat.view(3, 4).unsqueeze(0)           # add a leading axis: (1, 3, 4)

batch = torch.randn(5, 3, 4, requires_grad=True)
weight = torch.randn(4, 2, requires_grad=True)
out = (batch + cube) @ weight                 # (5, 3, 4) @ (4, 2) -> (5, 3, 2)
first = out[:, :, :1].squeeze(-1)             # drop the size-1 axis: (5, 3)

loss = out.pow(2).mean() + first.sum()        # one scalar
loss.backward()

print("shapes: grid", tuple(grid.shape), "cube", tuple(cube.shape),
      "out", tuple(out.shape), "first", tuple(first.shape))
print("col.grad", tuple(col.grad.shape), " row.grad", tuple(row.grad.shape),
      " batch.grad", tuple(batch.grad.shape), " weight.grad", tuple(weight.grad.shape))
# col was copied along the 4 columns, so its grad is the row-wise sum:
print("col.grad == grid.grad summed over dim 1:",
      torch.allclose(col.grad, grid.grad.sum(dim=1, keepdim=True)))
# row was copied along the 3 rows, so its grad is the column-wise sum:
print("row.grad == grid.grad summed over dim 0:",
      torch.allclose(row.grad, grid.grad.sum(dim=0)))
print("loss =", round(loss.item(), 4))
