"""Lesson 7: linear regression, first by hand, then with nn.Module.

The data lie on y = x, so training should drive W towards 1 and b towards 0.
The loop is always the same four lines: predict, loss, zero_grad + backward, step.
Options: --lr (default 0.01), --iterations (epochs of each part, default 1000), --seed (default 0).
"""
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--iterations", type=int, default=1000)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
torch.manual_seed(args.seed)
x_train = torch.tensor([[1.0], [2.0], [3.0]])   # 3 samples, 1 feature
y_train = torch.tensor([[1.0], [2.0], [3.0]])

# Part 1: the parameters are plain tensors we create ourselves.
W = torch.zeros(1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
optimizer = optim.SGD([W, b], lr=args.lr)
for epoch in range(args.iterations):
    hypothesis = x_train * W + b
    cost = torch.mean((hypothesis - y_train) ** 2)   # mean squared error
    optimizer.zero_grad()   # clear grads left from the previous step
    cost.backward()         # dcost/dW and dcost/db
    optimizer.step()        # W -= lr * W.grad, b -= lr * b.grad
print(f"by hand:   W = {W.item():.3f}, b = {b.item():.3f}, cost = {cost.item():.6f}")


# Part 2: the same model as a module; nn.Linear owns its weight and bias.
class LinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        return self.linear(x)


model = LinearRegression()
optimizer = optim.SGD(model.parameters(), lr=args.lr)
for epoch in range(args.iterations):
    prediction = model(x_train)
    cost = F.mse_loss(prediction, y_train)
    optimizer.zero_grad()
    cost.backward()
    optimizer.step()
W_fit, b_fit = model.linear.weight.item(), model.linear.bias.item()
print(f"nn.Module: W = {W_fit:.3f}, b = {b_fit:.3f}, cost = {cost.item():.6f}")
