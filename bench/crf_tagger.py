"""A tagger with a bidirectional LSTM and a CRF loss, written out op by op: a big autograd graph.

The shape of the classic BiLSTM-CRF example (an embedding, a bidirectional LSTM,
emission scores, and the CRF's forward algorithm in log space with a Python loop
over words and tags) written anew for the benchmark: its one backward() makes a
graph of about 2,000 nodes from small tensors, the case `gradviz render --steps`
finds hardest (bench/RESULTS.md). Runs in about a second as plain Python.

    python -m gradviz render bench/crf_tagger.py -f json --steps -o OUT
"""
import torch
from torch import nn

torch.manual_seed(1)
TAGS = ["B", "I", "O", "<start>", "<stop>"]
START, STOP = TAGS.index("<start>"), TAGS.index("<stop>")
words = "the quick brown fox jumps over the lazy dog near the old river bank in early spring".split()
gold = "B I I I O O B I I O B I I I O B I".split()
vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}


def logsumexp_row(scores: torch.Tensor) -> torch.Tensor:
    top = scores.max()
    return top + torch.log(torch.exp(scores - top).sum())


class Tagger(nn.Module):
    def __init__(self, n_words: int, n_tags: int, dim: int = 6, hidden: int = 4):
        super().__init__()
        self.embed = nn.Embedding(n_words, dim)
        self.lstm = nn.LSTM(dim, hidden, bidirectional=True)
        self.emit = nn.Linear(2 * hidden, n_tags)
        self.trans = nn.Parameter(torch.randn(n_tags, n_tags))  # trans[to, from]

    def emissions(self, sentence: torch.Tensor) -> torch.Tensor:
        x = self.embed(sentence).unsqueeze(1)
        out, _ = self.lstm(x)
        return self.emit(out.squeeze(1))

    def partition(self, feats: torch.Tensor) -> torch.Tensor:
        alpha = torch.full((len(TAGS),), -1e4)
        alpha[START] = 0.0
        for feat in feats:
            alpha = torch.stack([logsumexp_row(alpha + self.trans[t] + feat[t])
                                 for t in range(len(TAGS))])
        return logsumexp_row(alpha + self.trans[STOP])

    def gold_score(self, feats: torch.Tensor, tags: torch.Tensor) -> torch.Tensor:
        score = torch.zeros(())
        prev = START
        for feat, tag in zip(feats, tags.tolist()):
            score = score + self.trans[tag, prev] + feat[tag]
            prev = tag
        return score + self.trans[STOP, prev]


model = Tagger(len(vocab), len(TAGS))
sentence = torch.tensor([vocab[w] for w in words])
tags = torch.tensor([TAGS.index(t) for t in gold])
feats = model.emissions(sentence)
loss = model.partition(feats) - model.gold_score(feats, tags)
loss.backward()
print(f"negative log-likelihood {loss.item():.4f}")
