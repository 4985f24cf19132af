"""Lesson 8: a two-layer network trained with raw tensors.

64 samples of 1000 inputs go through a hidden layer of 100 ReLU units to
10 outputs. No nn.Module, no optimizer: just matmuls, backward() and a
hand-written update, to see what the libraries do for us.
Options: --lr (default 1e-6), --iterations (default 500), --seed (default 0).
"""
import argparse

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=1e-6)
parser.add_argument("--iterations", type=int, default=500)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
torch.manual_seed(args.seed)
batch_size, input_size, hidden_size, output_size = 64, 1000, 100, 10

x = torch.randn(batch_size, input_size)     # inputs: no grad needed
y = torch.randn(batch_size, output_size)    # targets: no grad needed
w1 = torch.randn(input_size, hidden_size, requires_grad=True)
w2 = torch.randn(hidden_size, output_size, requires_grad=True)

learning_rate = args.lr
for t in range(1, args.iterations + 1):
    h = x.mm(w1)                  # (64, 100)
    h_relu = h.clamp(min=0)       # ReLU: negative values become 0
    y_pred = h_relu.mm(w2)        # (64, 10)
    loss = (y_pred - y).pow(2).sum()
    if t == 1 or t % 100 == 0 or t == args.iterations:
        print(f"iteration {t}: loss = {loss.item():.6g}")

    loss.backward()               # fills w1.grad and w2.grad
    with torch.no_grad():         # update without recording it in the graph
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
        w1.grad.zero_()           # reset, or the next backward adds to them
        w2.grad.zero_()
