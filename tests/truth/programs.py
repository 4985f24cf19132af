"""Small seeded programs, each a function that runs its own backward() and returns what
its user would look at. runs.run_three seeds torch before each run."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _weights(shape, dtype=torch.float32) -> torch.Tensor:
    """Constant weights for a sum, so the gradient arriving at an op is not all ones."""
    return torch.arange(1, 1 + int(torch.Size(shape).numel()), dtype=dtype).reshape(shape) / 7 - 0.5


def lesson1():
    w = torch.tensor(1.0, requires_grad=True)
    a = w * 3
    l = a ** 2
    l.backward()
    return {"l": l, "w": w}


def lesson2():
    x = torch.tensor(2.0, requires_grad=True)
    y = torch.tensor(3.0, requires_grad=True)
    f = x * y + x - 2
    f.retain_grad()
    f.backward()
    return {"f": f, "x": x, "y": y}


def lesson4():
    arr = torch.tensor([1.0, 2.0, 4.0])
    tensor = torch.tensor([-2.0, 4.0, 0.0], requires_grad=True)
    l = (arr * tensor ** 2).sum()
    l.backward()
    return {"l": l, "tensor": tensor}


def conv1d():
    x = torch.randn(1, 2, 5, requires_grad=True)
    w = torch.randn(3, 2, 2, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    y = F.conv1d(x, w, b)
    loss = (y * _weights(y.shape)).sum()
    loss.backward()
    return {"loss": loss, "x": x, "w": w, "b": b}


def conv2d():
    x = torch.randn(1, 1, 4, 4, requires_grad=True)
    conv = nn.Conv2d(1, 2, 2)
    y = conv(x)
    loss = (y * _weights(y.shape)).sum()
    loss.backward()
    return {"loss": loss, "x": x, "w": conv.weight, "b": conv.bias}


def pooling():
    x = torch.randn(1, 1, 4, 4, requires_grad=True)
    m = F.max_pool2d(x, 2)
    a = F.avg_pool2d(x, 2)
    loss = (m * _weights(m.shape)).sum() + (a * a).sum()
    loss.backward()
    return {"loss": loss, "x": x}


def softmaxes():
    x = torch.randn(2, 3, requires_grad=True)
    p = F.softmax(x, dim=1)
    q = F.log_softmax(x, dim=1)
    loss = (p * _weights(p.shape)).sum() + (q * _weights(q.shape).flip(1)).sum()
    loss.backward()
    return {"loss": loss, "x": x}


def _logits():
    return torch.randn(3, 4, requires_grad=True)


def _regression(loss_fn):
    x = torch.randn(2, 3, requires_grad=True)
    target = torch.randn(2, 3)
    loss = loss_fn(x, target)
    loss.backward()
    return {"loss": loss, "x": x}


def mse():
    return _regression(F.mse_loss)


def l1():
    return _regression(F.l1_loss)


def cross_entropy():
    logits = _logits()
    target = torch.tensor([0, 3, 1])
    loss = F.cross_entropy(logits, target)
    loss.backward()
    return {"loss": loss, "logits": logits}


def cross_entropy_ignore():
    logits = _logits()
    target = torch.tensor([0, -1, 1])
    loss = F.cross_entropy(logits, target, ignore_index=-1)
    loss.backward()
    return {"loss": loss, "logits": logits}


def cross_entropy_smoothing():
    logits = _logits()
    target = torch.tensor([0, 3, 1])
    loss = F.cross_entropy(logits, target, label_smoothing=0.1)
    loss.backward()
    return {"loss": loss, "logits": logits}


def cross_entropy_probs():
    logits = _logits()
    probs = torch.softmax(torch.randn(3, 4), dim=1)
    loss = F.cross_entropy(logits, probs)
    loss.backward()
    return {"loss": loss, "logits": logits}


def nll():
    logits = _logits()
    target = torch.tensor([2, 0, 1])
    loss = F.nll_loss(F.log_softmax(logits, dim=1), target)
    loss.backward()
    return {"loss": loss, "logits": logits}


def bce():
    z = torch.randn(4, requires_grad=True)
    target = torch.tensor([0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy(torch.sigmoid(z), target)
    loss.backward()
    return {"loss": loss, "z": z}


def bce_logits():
    z = torch.randn(4, requires_grad=True)
    target = torch.tensor([0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(z, target)
    loss.backward()
    return {"loss": loss, "z": z}


def norms():
    x = torch.randn(5, requires_grad=True)
    loss = x.norm(p=1) + 2 * x.norm(p=2) + 3 * torch.linalg.vector_norm(x, ord=float("inf"))
    loss.backward()
    return {"loss": loss, "x": x}


def matmuls():
    a = torch.randn(2, 3, 4, requires_grad=True)
    b = torch.randn(4, 2, requires_grad=True)
    c = torch.randn(2, 2, 3, requires_grad=True)
    y = a @ b
    z = torch.bmm(c, a)
    loss = (y * _weights(y.shape)).sum() + (z * _weights(z.shape)).sum()
    loss.backward()
    return {"loss": loss, "a": a, "b": b, "c": c}


def einsum():
    a = torch.randn(2, 3, requires_grad=True)
    b = torch.randn(3, 2, requires_grad=True)
    y = torch.einsum("ij,jk->ik", a, b)
    loss = (y * _weights(y.shape)).sum()
    loss.backward()
    return {"loss": loss, "a": a, "b": b}


def inplace():
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    h = x * 2
    h.add_(1)
    h.mul_(x)
    loss = (h * _weights(h.shape)).sum()
    loss.backward()
    return {"loss": loss, "x": x}


def two_backwards():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    l = (w * w * 3).sum()
    l.backward(retain_graph=True)
    l.backward()
    return {"l": l, "w": w}


def gradient_arg():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(gradient=torch.tensor([0.5, -1.0, 2.0]))
    return {"y": y, "x": x}


def inputs_arg():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([3.0, -1.0], requires_grad=True)
    l = (a * b).sum()
    l.backward(inputs=[a])
    return {"l": l, "a": a, "b": b}


def float64():
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    y = torch.exp(x) * torch.sin(x) / (1 + x ** 2)
    loss = (y * _weights(y.shape, torch.float64)).sum()
    loss.backward()
    return {"loss": loss, "x": x}


def big():
    x = torch.randn(10, 10, requires_grad=True)
    y = torch.tanh(x) * 2
    loss = (y * _weights(y.shape)).sum()
    loss.backward()
    return {"loss": loss, "x": x}


def _rnn(cls):
    rnn = cls(2, 3)
    x = torch.randn(4, 1, 2)
    out, _ = rnn(x)
    loss = (out * _weights(out.shape)).sum()
    loss.backward()
    return {"loss": loss, **{n: p for n, p in rnn.named_parameters()}}


def rnn():
    return _rnn(nn.RNN)


def lstm():
    return _rnn(nn.LSTM)


def gru():
    return _rnn(nn.GRU)


def attention():
    mha = nn.MultiheadAttention(4, 2)
    x = torch.randn(3, 1, 4)
    out, _ = mha(x, x, x)
    loss = (out * _weights(out.shape)).sum()
    loss.backward()
    return {"loss": loss, **{n: p for n, p in mha.named_parameters()}}


def transformer():
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0)
    src = torch.randn(3, 1, 4)
    out = layer(src)
    loss = (out * _weights(out.shape)).sum()
    loss.backward()
    return {"loss": loss, **{n: p for n, p in layer.named_parameters()}}


PROGRAMS = {f.__name__: f for f in (
    lesson1, lesson2, lesson4, conv1d, conv2d, pooling, softmaxes, mse, l1, cross_entropy,
    cross_entropy_ignore, cross_entropy_smoothing, cross_entropy_probs, nll, bce, bce_logits,
    norms, matmuls, einsum, inplace, two_backwards, gradient_arg, inputs_arg, float64, big,
    rnn, lstm, gru, attention, transformer)}


def _cube_forward(ctx, x):
    ctx.save_for_backward(x)
    return x ** 3


class Cube(torch.autograd.Function):
    """A custom autograd.Function (x³): its backward is Python the engine calls."""

    forward = staticmethod(_cube_forward)
    backward = staticmethod(lambda ctx, g: 3 * ctx.saved_tensors[0] ** 2 * g)


def custom_function():
    x = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    y = Cube.apply(x)
    loss = (y * _weights(y.shape)).sum()
    loss.backward()
    return {"loss": loss, "x": x}


def dropout():
    x = torch.randn(2, 4, requires_grad=True)
    y = F.dropout(x, p=0.5, training=True)
    loss = (y * _weights(y.shape)).sum()
    loss.backward()
    return {"loss": loss, "x": x}


def double_backward():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x ** 3).sum()
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    (g * g).sum().backward()
    return {"x": x, "g": g}


def double_backward_create_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    (g * g).sum().backward()
    return {"x": x, "g": g}


def batchnorm():
    bn = nn.BatchNorm1d(3)
    x = torch.randn(4, 3, requires_grad=True)
    y = bn(x)
    loss = (y * _weights(y.shape)).sum()
    loss.backward()
    return {"loss": loss, "x": x, "weight": bn.weight, "running_mean": bn.running_mean,
            "running_var": bn.running_var, "batches": bn.num_batches_tracked}


PROGRAMS.update({f.__name__: f for f in (custom_function, dropout, double_backward,
                                          double_backward_create_graph, batchnorm)})
