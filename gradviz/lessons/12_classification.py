"""Lesson 12: classification, first with a sigmoid (two classes), then with a softmax (three).

Both models are linear: z = x @ W + b gives one score per class. A sigmoid turns
one score into the probability of class 1; a softmax turns several scores into
probabilities that sum to 1. The loss is the cross entropy in both cases, and its
gradient with respect to the scores is simply (probability - target) / N.
"""
import argparse

import torch
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=200)
parser.add_argument("--lr", type=float, default=1.0)
args = parser.parse_args()

# Two classes: hours studied and hours slept -> passed (1) or not (0).
x_train = torch.tensor([[1.0, 2.0], [2.0, 3.0], [3.0, 1.0], [4.0, 3.0], [5.0, 3.0], [6.0, 2.0]])
y_train = torch.tensor([[0.0], [0.0], [0.0], [1.0], [1.0], [1.0]])

W = torch.zeros((2, 1), requires_grad=True)
b = torch.zeros(1, requires_grad=True)
optimizer = torch.optim.SGD([W, b], lr=args.lr)

for epoch in range(args.epochs):
    z = x_train @ W + b                          # (6, 1): one score per sample
    p = torch.sigmoid(z)                         # probability of class 1
    cost = F.binary_cross_entropy(p, y_train)
    optimizer.zero_grad()
    cost.backward()                              # dcost/dz = (p - y) / 6
    optimizer.step()
    accuracy = ((p >= 0.5).float() == y_train).float().mean()
    if epoch % 20 == 0 or epoch == args.epochs - 1:
        print(f"logistic epoch {epoch:3d}  cost {cost.item():.4f}  accuracy {accuracy.item():.2f}")

# Three classes: points in three clusters -> class 0, 1 or 2.
x_train = torch.tensor([[1.0, 1.0], [1.0, 2.0], [2.0, 1.0],      # class 0: bottom left
                        [5.0, 1.0], [6.0, 1.0], [5.0, 2.0],      # class 1: bottom right
                        [3.0, 5.0], [3.0, 6.0], [4.0, 5.0]])     # class 2: top
y_train = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2])           # class indices, not one-hot

W = torch.zeros((2, 3), requires_grad=True)
b = torch.zeros(3, requires_grad=True)
optimizer = torch.optim.SGD([W, b], lr=args.lr)

for epoch in range(args.epochs):
    z = x_train @ W + b                          # (9, 3): a score per class
    cost = F.cross_entropy(z, y_train)           # softmax and log inside, from the scores
    optimizer.zero_grad()
    cost.backward()                              # dcost/dz = (softmax(z) - one_hot(y)) / 9
    optimizer.step()
    accuracy = (z.argmax(dim=1) == y_train).float().mean()
    if epoch % 20 == 0 or epoch == args.epochs - 1:
        print(f"softmax epoch {epoch:3d}  cost {cost.item():.4f}  accuracy {accuracy.item():.2f}")

print("probabilities of the first sample:", F.softmax(x_train[:1] @ W + b, dim=1).squeeze(0).tolist())
