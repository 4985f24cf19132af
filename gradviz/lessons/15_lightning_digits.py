"""Lesson 15: a LightningModule trained by a Trainer on scikit-learn's 8x8 digits.

PyTorch Lightning writes the loop of lesson 7 for us: training_step returns the loss,
the Trainer calls zero_grad(), backward() and step(), runs validation_step after each
epoch, and sends what self.log() records to TensorBoard. The digits (1,797 pictures of
8x8 pixels that ship with scikit-learn) stand in for MNIST, which needs a download.
"""
import argparse
import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

try:
    import pytorch_lightning as pl
    from pytorch_lightning.loggers import TensorBoardLogger
    from sklearn.datasets import load_digits
except ImportError as missing:
    raise SystemExit(f"This lesson needs PyTorch Lightning, scikit-learn and TensorBoard "
                     f"({missing.name} is missing): pip install pytorch-lightning scikit-learn tensorboard")

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--lr", type=float, default=1e-2)
parser.add_argument("--logdir", default="lightning_logs")
args = parser.parse_args()
if not os.access(os.path.dirname(os.path.abspath(args.logdir)), os.W_OK):   # a read-only folder
    args.logdir = os.path.join(tempfile.gettempdir(), "lightning_logs")
pl.seed_everything(args.seed, verbose=False)

digits = load_digits()
images = torch.tensor(digits.data, dtype=torch.float32) / 16   # 64 pixels in [0, 1]
labels = torch.tensor(digits.target)
order = torch.randperm(len(images))
train_idx, valid_idx = order[:1400], order[1400:]
train = DataLoader(TensorDataset(images[train_idx], labels[train_idx]), batch_size=64, shuffle=True)
valid = DataLoader(TensorDataset(images[valid_idx], labels[valid_idx]), batch_size=256)


class DigitMLP(pl.LightningModule):
    def __init__(self, lr=1e-2):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
        self.lr = lr

    def forward(self, x):
        return self.model(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        self.log("train_acc", (logits.argmax(dim=1) == y).float().mean(), on_step=False, on_epoch=True)
        return loss                     # the Trainer calls backward() and the optimizer

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(dim=1) == y).float().mean())

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


class PrintEpochs(pl.Callback):
    def on_train_epoch_end(self, trainer, module):
        m = trainer.callback_metrics
        print(f"epoch {trainer.current_epoch + 1}  train loss {m['train_loss']:.4f} acc {m['train_acc']:.3f}"
              f"  val loss {m['val_loss']:.4f} acc {m['val_acc']:.3f}")


model = DigitMLP(lr=args.lr)
trainer = pl.Trainer(
    max_epochs=args.epochs,
    accelerator="cpu" if torch.get_default_device().type == "cpu" else "auto",
    logger=TensorBoardLogger(args.logdir, name="digits"),
    callbacks=[PrintEpochs()],
    num_sanity_val_steps=0, enable_checkpointing=False, enable_progress_bar=False,
    enable_model_summary=False,
)
trainer.fit(model, train, valid)
print("TensorBoard logs in", trainer.logger.log_dir)
