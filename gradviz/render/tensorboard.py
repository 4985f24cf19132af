"""A recording as TensorBoard events: the curves the seed lessons read there.

The iteration timeline becomes scalars (the loss, and per parameter the norms of
its gradient and update and the update/weight ratio, the number to watch when a
learning rate is too big or too small), and each recorded graph becomes an image,
all through torch's own `SummaryWriter`, so `tensorboard --logdir DIR` shows them.
Needs the `tensorboard` package (`pip install "gradviz-autograd[tensorboard]"`).
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from gradviz.recording import Recording

INSTALL_HINT = ('TensorBoard export needs the tensorboard package: '
                'pip install "gradviz-autograd[tensorboard]" (or pip install tensorboard)')


class TensorBoardMissing(ImportError):
    """The tensorboard package is not installed."""


def _writer(logdir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:  # torch raises this when tensorboard itself is missing
        raise TensorBoardMissing(INSTALL_HINT) from e
    return SummaryWriter(log_dir=str(logdir))


def _picture(graph: Any) -> Any:
    """The graph as an H x W x 3 uint8 array (Graphviz PNG, decoded by Pillow)."""
    import numpy as np
    from PIL import Image

    from gradviz.render.svg import render_graph

    png = render_graph(graph, "png", legend=False)
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"))


def write_tensorboard(rec: Recording, logdir: str | Path, pictures: bool = True) -> Path:
    """Write `rec`'s timeline (and graph pictures) as TensorBoard events under `logdir`."""
    logdir = Path(logdir)
    writer = _writer(logdir)
    try:
        for it in rec.iterations:
            step = it.index
            if it.loss is not None:
                writer.add_scalar("loss", it.loss, step)
            for name, p in it.params.items():
                norm = p.norm or {}
                value, grad, update = norm.get("value"), norm.get("grad"), norm.get("update")
                if grad is not None:
                    writer.add_scalar(f"grad_norm/{name}", grad, step)
                if update is not None:
                    writer.add_scalar(f"update_norm/{name}", update, step)
                    if value:
                        writer.add_scalar(f"update_ratio/{name}", update / value, step)
        if pictures:
            for g in rec.graphs:
                writer.add_image(f"graph/{g.index + 1}", _picture(g), g.iteration or g.index + 1,
                                 dataformats="HWC")
    finally:
        writer.close()
    return logdir


__all__ = ["write_tensorboard", "TensorBoardMissing", "INSTALL_HINT"]
