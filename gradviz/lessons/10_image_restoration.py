"""Lesson 10: restore a scrambled picture by gradient descent.

weird_function scrambles a 100x100 picture (flattened to 10000 numbers).
We never invert it by hand: we start from noise r and move r downhill on
the distance between weird_function(r) and the scrambled picture.

Options: --iterations N (default 20000), --lr (default 0.8), --seed (the noise r
starts from, default 0), --image PATH (a pickled numpy array
of 10000 numbers, e.g. the book's broken_image_t.p, loaded safely),
--save DIR (write the pictures as .npy files), --logdir DIR (TensorBoard logs: the loss
and, for our own picture, the RMS error to the true picture, about 1000 points).
"""
import argparse
import importlib
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import torch

try:  # TensorBoard is optional: without it the lesson runs the same, without logs
    from torch.utils.tensorboard import SummaryWriter
except ImportError:
    SummaryWriter = None

parser = argparse.ArgumentParser()
parser.add_argument("--iterations", type=int, default=20000)
parser.add_argument("--lr", type=float, default=0.8)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--image", type=Path, help="pickled scrambled image (10000 numbers)")
parser.add_argument("--save", type=Path, help="folder for the .npy results")
parser.add_argument("--logdir", default=os.path.join(tempfile.gettempdir(), "runs", "10_restoration"))
parser.add_argument("--save-every", type=int, default=0,
                    help="with --save: also keep the picture every N iterations (restored_<i>.npy)")
args = parser.parse_args()
torch.manual_seed(args.seed)


def weird_function(x, n_iter=5):
    # A linear scrambler: 5 passes of a 3-tap filter over the sequence
    # (zeros beyond both ends), swapping the two halves after passes 1, 3, 5.
    h = x
    taps = torch.tensor([-1 / 3, 1 / 3, -1 / 3])   # left, right, centre weights
    for i in range(n_iter):
        zero = torch.zeros(1)
        left = torch.cat((zero, h[:-1]))    # left[k] = h[k-1]
        right = torch.cat((h[1:], zero))    # right[k] = h[k+1]
        h = taps[2] * h + taps[0] * left + taps[1] * right
        if i % 2 == 0:
            half = h.shape[0] // 2
            h = torch.cat((h[half:], h[:half]))
    return h


def draw_picture(size=100):
    # Our own test picture, values in 0..1: a soft background, a sun,
    # stripes, a house with a roof and a big letter "T".
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    img = 0.15 + 0.25 * yy / size
    img = torch.where((xx - 72) ** 2 + (yy - 24) ** 2 < 13 ** 2, 0.95, img)
    img = torch.where((yy > 80) & ((xx // 6) % 2 == 0), 0.7, img)
    img = torch.where((xx > 12) & (xx < 46) & (yy > 50) & (yy < 80), 0.55, img)
    img = torch.where((yy <= 50) & (yy > 28) & ((xx - 29).abs() < (yy - 28) * 0.8), 0.35, img)
    img = torch.where((xx > 25) & (xx < 33) & (yy > 64) & (yy < 80), 0.1, img)
    img = torch.where((yy > 8) & (yy < 14) & (xx > 8) & (xx < 40), 1.0, img)   # T bar
    img = torch.where((xx > 20) & (xx < 27) & (yy >= 14) & (yy < 26), 1.0, img)  # T stem
    return img.float().reshape(-1)


class ArrayOnlyUnpickler(pickle.Unpickler):
    # A pickle file is a little program: it may name any Python function to
    # call (os.system too). We only let it build a numpy array.
    allowed = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module, name):
        if (module, name) not in self.allowed:
            raise pickle.UnpicklingError(
                f"refused: this file asks for {module}.{name}; only numpy arrays may be loaded")
        if name == "_reconstruct":   # numpy 2 renamed numpy.core to numpy._core
            for mod in ("numpy._core.multiarray", "numpy.core.multiarray"):
                try:
                    return importlib.import_module(mod)._reconstruct
                except ImportError:
                    pass
        return getattr(np, name)


if args.image:
    with open(args.image, "rb") as f:
        data = ArrayOnlyUnpickler(f, encoding="latin1").load()
    if not isinstance(data, np.ndarray) or data.dtype.kind not in "biuf" or data.size != 10000:
        raise SystemExit("expected a numeric numpy array of 10000 numbers")
    original = None
    broken = torch.tensor(data.astype(np.float32).reshape(-1))
else:
    original = draw_picture()
    broken = weird_function(original)

# Gradient descent from pure noise. torch.dist(a, b) = ||a - b|| (not squared).
r = torch.randn(10000, requires_grad=True)
lr = args.lr
writer = SummaryWriter(args.logdir) if SummaryWriter is not None else None
log_every = max(1, args.iterations // 1000)
for i in range(args.iterations):
    loss = torch.dist(weird_function(r), broken)
    loss.backward()
    if writer is not None and i % log_every == 0:   # the loss, and how far r is from the truth
        writer.add_scalar("restoration/loss", loss.item(), i)
        if original is not None:
            with torch.no_grad():
                error = (r - original).pow(2).mean().sqrt().item()
            writer.add_scalar("restoration/rms_error_to_truth", error, i)
    with torch.no_grad():
        r = r - lr * r.grad     # a new tensor: it has no grad yet...
    r.requires_grad_(True)      # ...so ask autograd to track it again
    if i % 1000 == 0:
        print(f"loss at {i} = {loss.item():.6f}")
    if args.save and args.save_every and i % args.save_every == 0:
        args.save.mkdir(parents=True, exist_ok=True)
        np.save(args.save / f"restored_{i}.npy", r.detach().reshape(100, 100).cpu().numpy())
print(f"final loss = {torch.dist(weird_function(r), broken).item():.6f}")
if writer is not None:
    writer.close()
restored = r.detach()


# For comparison: the exact least-squares answer by conjugate gradients on
# A^T A x = A^T b, where A is weird_function (it is linear). Autograd gives
# A^T v as the gradient of <A x, v>, without ever writing A down.
def transpose_apply(v):
    x = torch.zeros(v.shape[0], requires_grad=True)
    (g,) = torch.autograd.grad(weird_function(x), x, grad_outputs=v)
    return g


def conjugate_gradients(b, iterations=500, tol=1e-7):
    x = torch.zeros_like(b)
    res = b.clone()
    p = res.clone()
    rs = res.dot(res)
    for k in range(1, iterations + 1):
        Ap = transpose_apply(weird_function(p))
        alpha = rs / p.dot(Ap)
        x, res = x + alpha * p, res - alpha * Ap
        rs_new = res.dot(res)
        if rs_new.sqrt() < tol * b.norm():
            break
        p, rs = res + (rs_new / rs) * p, rs_new
    return x, k


exact, steps = conjugate_gradients(transpose_apply(broken))
print(f"CG: {steps} iterations, residual ||A x - b|| = {torch.dist(weird_function(exact), broken).item():.2e}")
print(f"RMS error restored vs CG = {(restored - exact).pow(2).mean().sqrt().item():.5f}")
if original is not None:
    print(f"RMS error restored vs original = {(restored - original).pow(2).mean().sqrt().item():.5f}")
    print(f"RMS error CG vs original = {(exact - original).pow(2).mean().sqrt().item():.5f}")
if args.save:
    args.save.mkdir(parents=True, exist_ok=True)
    for name, img in [("broken", broken), ("restored", restored), ("exact", exact)]:
        np.save(args.save / f"{name}.npy", img.reshape(100, 100).cpu().numpy())
    print("saved to", args.save)
