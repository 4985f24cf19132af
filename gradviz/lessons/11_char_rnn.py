"""Lesson 11: a character RNN learns to say " if you want you".

At each position the RNN reads one character (one-hot) and must predict
the next one. The hidden size equals the vocabulary size, so the RNN's
outputs are used directly as scores for the next character.
Options: --lr (Adam's, default 0.1), --iterations (default 50), --seed (default 0),
--logdir (TensorBoard logs: the predicted string of every iteration, as text).
"""
import argparse
import os
import tempfile

import torch
import torch.nn as nn
import torch.optim as optim

try:  # TensorBoard is optional: without it the lesson runs the same, without logs
    from torch.utils.tensorboard import SummaryWriter
except ImportError:
    SummaryWriter = None

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--iterations", type=int, default=50)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--logdir", default=os.path.join(tempfile.gettempdir(), "runs", "11_char_rnn"))
args = parser.parse_args()
torch.manual_seed(args.seed)
sample = " if you want you"
char_set = sorted(set(sample))                 # the vocabulary, in a fixed order
char_to_index = {c: i for i, c in enumerate(char_set)}
vocab_size = len(char_set)

sample_idx = [char_to_index[c] for c in sample]
eye = torch.eye(vocab_size)
X = eye[sample_idx[:-1]].unsqueeze(0)          # (batch 1, 15 steps, vocab) one-hot inputs
Y = torch.tensor(sample_idx[1:]).unsqueeze(0)  # (1, 15): index of the next character

rnn = nn.RNN(vocab_size, vocab_size, batch_first=True)
criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(rnn.parameters(), lr=args.lr)
writer = SummaryWriter(args.logdir) if SummaryWriter is not None else None

for i in range(args.iterations):
    outputs, _ = rnn(X)                        # (1, 15, vocab): scores per step
    loss = criterion(outputs.reshape(-1, vocab_size), Y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()                            # through all 15 time steps
    optimizer.step()

    predicted = outputs.argmax(dim=2).squeeze(0).tolist()
    prediction = "".join(char_set[c] for c in predicted)
    print(f"{i:2d} loss {loss.item():.4f} prediction {prediction!r}")
    if writer is not None:
        writer.add_text("prediction", prediction, i)
# The RNN's outputs pass through tanh, so every score lies in [-1, 1]:
# the softmax can never be fully sure and the loss levels off above 0.
print("target        ", repr(sample[1:]))
if writer is not None:
    writer.close()
