"""Lesson 13: RNN inputs by shape, then padding versus packing a batch of words.

Part 1: three one-hot words of 5 characters, shape (batch 3, time 5, features 4),
through nn.RNN(4, 2). Part 2: five words of different lengths in one batch, made
equally long by padding or packed without padding, through the same kind of RNN.
A padded run also reads the padding; a packed run never does, so the padded
positions get no gradient and each word's last state is its own.
"""
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence

torch.manual_seed(0)

# Part 1: the shapes of an RNN's input, outputs and final state.
h, e, l, o = torch.eye(4)                                  # one-hot vectors for h, e, l, o
words = torch.stack([torch.stack([h, e, l, l, o]),
                     torch.stack([e, o, l, l, l]),
                     torch.stack([l, l, e, e, l])])        # (batch 3, time 5, features 4)
rnn = nn.RNN(input_size=4, hidden_size=2, batch_first=True)   # without batch_first: (time, batch, features)
outputs, state = rnn(words)
print("input", tuple(words.shape), "outputs", tuple(outputs.shape), "final state", tuple(state.shape))
# outputs: the hidden state at every time step (3, 5, 2); state: the last one only (1 layer, 3, 2)
print("last output equals the final state:", torch.equal(outputs[:, -1], state[0]))

# Part 2: five words of different lengths.
data = ["hello world", "midnight", "calculation", "path", "short circuit"]
char_set = ["<pad>"] + sorted(set("".join(data)))          # index 0 is the padding
char_to_index = {c: i for i, c in enumerate(char_set)}
X = [torch.tensor([char_to_index[c] for c in word]) for word in data]
lengths = torch.tensor([len(x) for x in X])                # [11, 8, 11, 4, 13]

padded = pad_sequence(X, batch_first=True)                 # (5, 13): short words end in zeros
print("padded", tuple(padded.shape), "lengths", lengths.tolist())
by_length = sorted(X, key=len, reverse=True)               # pack_sequence wants longest first
print("batch sizes per time step", pack_sequence(by_length).batch_sizes.tolist())

one_hot = torch.eye(len(char_set))[padded]                 # (5, 13, 19) float inputs
labels = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0])           # does the text have two words?
rnn = nn.RNN(input_size=len(char_set), hidden_size=3, batch_first=True)
head = nn.Linear(3, 1)
loss_fn = nn.BCEWithLogitsLoss()

# (a) padded: the RNN runs all 13 steps for every word, padding included.
inputs = one_hot.clone().requires_grad_()
_, state = rnn(inputs)
loss = loss_fn(head(state[0]).squeeze(1), labels)
loss.backward()
padding = padded == 0                                      # True where a word has ended
print("padded run: gradient on padding", inputs.grad[padding].abs().sum().item())

# (b) packed: the RNN runs each word only as long as it is.
rnn.zero_grad()                                            # start (b) from empty .grad buffers
head.zero_grad()
inputs_packed = one_hot.clone().requires_grad_()
packed = pack_padded_sequence(inputs_packed, lengths, batch_first=True, enforce_sorted=False)
print("packed batch sizes", packed.batch_sizes.tolist())
packed_out, state_packed = rnn(packed)
loss_packed = loss_fn(head(state_packed[0]).squeeze(1), labels)
loss_packed.backward()
print("packed run: gradient on padding", inputs_packed.grad[padding].abs().sum().item())
unpacked, out_lengths = pad_packed_sequence(packed_out, batch_first=True)
print("unpacked", tuple(unpacked.shape), "lengths", out_lengths.tolist())
print("loss padded", round(loss.item(), 4), "loss packed", round(loss_packed.item(), 4))
