"""Uploads for the image restoration lesson: a picture, or the book's pickle.

A pickle is a program for Python's unpickler, so an uploaded one is read only
through `gradviz.safe_pickle.load_array`, which rebuilds numeric numpy arrays
and refuses everything else before anything runs. A picture is scaled to
100x100 grey and scrambled here by the lesson's `weird_function` (written again
in numpy below: it is linear, five passes of a 3-tap filter and half swaps),
then handed to the lesson as the scrambled image it restores.
"""
from __future__ import annotations

import hashlib
import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradviz.safe_pickle import load_array
from gradviz.words import N_, tr

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
SIDE = 100
PICTURE_TYPES = ("png", "jpg", "jpeg")
PICKLE_TYPES = ("p", "pkl", "pickle")


class UploadRefused(ValueError):
    """The upload is not something the lesson can use (or not something safe).

    It carries its words as a message id and fields, so the page shows it in its own
    language (`text(lang)`); str() is the English."""

    def __init__(self, msgid: str, **fields: object) -> None:
        self.msgid, self.fields = msgid, fields
        super().__init__(tr(msgid, "en", **fields))

    def text(self, lang: str) -> str:
        return tr(self.msgid, lang, **self.fields)


@dataclass
class LessonInput:
    kind: str  # "picture" | "broken"
    name: str
    scrambled: np.ndarray  # the 10000 numbers the lesson restores
    picture: np.ndarray | None  # the clean 100x100 picture, when the learner gave one
    digest: str

    def write(self, folder: Path) -> Path:
        """A pickle the lesson's --image option reads (protocol 4: only numpy globals)."""
        path = folder / "scrambled.p"
        path.write_bytes(pickle.dumps(self.scrambled.astype(np.float32).reshape(-1), protocol=4))
        return path


def weird_function(x: np.ndarray, n_iter: int = 5) -> np.ndarray:
    """The lesson's scrambler, in numpy: the same numbers without torch."""
    h = x.astype(np.float64).reshape(-1)
    for i in range(n_iter):
        left = np.concatenate(([0.0], h[:-1]))
        right = np.concatenate((h[1:], [0.0]))
        h = (-1 / 3) * h + (-1 / 3) * left + (1 / 3) * right
        if i % 2 == 0:
            half = h.shape[0] // 2
            h = np.concatenate((h[half:], h[:half]))
    return h.astype(np.float32)


def _is_picture(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")


def read_upload(name: str, data: bytes) -> LessonInput:
    """Check an upload and turn it into the lesson's input; raises UploadRefused."""
    if len(data) > MAX_BYTES:
        raise UploadRefused(N_("the file is larger than {mb} MB"), mb=MAX_BYTES // 1024 // 1024)
    digest = hashlib.sha256(data).hexdigest()[:16]
    if _is_picture(data):
        picture = _picture(data)
        return LessonInput("picture", name, weird_function(picture), picture, digest)
    if name.lower().endswith(PICTURE_TYPES):
        raise UploadRefused(N_("this is not a readable PNG or JPEG picture"))
    if not (name.lower().endswith(PICKLE_TYPES) or data.startswith(b"\x80")):
        raise UploadRefused(N_("only a PNG or JPEG picture, or a pickle of numbers (.p, .pkl), can be used"))
    try:
        arr = load_array(data)
    except Exception as e:  # UnsafePickleError, a damaged file: refused either way
        raise UploadRefused(N_("the pickle holds something other than plain numbers ({why})"),
                            why=str(e) or type(e).__name__) from None
    if arr.dtype.kind not in "biuf" or arr.size != SIDE * SIDE:
        raise UploadRefused(N_("expected {n} numbers (a {side}x{side} image), got shape {shape}"),
                            n=SIDE * SIDE, side=SIDE, shape=arr.shape)
    flat = arr.astype(np.float32).reshape(-1)
    if not np.isfinite(flat).all():
        raise UploadRefused(N_("the array holds NaN or infinite values"))
    return LessonInput("broken", name, flat, None, digest)


def _picture(data: bytes) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # PIL itself refuses only past twice this
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width * height > MAX_PIXELS:  # a decompression bomb is refused, not decoded
                raise UploadRefused(N_("the picture has {width}x{height} pixels; at most {m} million "
                                       "are read"), width=width, height=height, m=MAX_PIXELS // 1_000_000)
            img.draft("L", (SIDE * 4, SIDE * 4))
            grey = img.convert("L").resize((SIDE, SIDE), Image.Resampling.LANCZOS)
    except UploadRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise UploadRefused(N_("the picture could not be read ({why})"), why=e) from None
    return np.asarray(grey, dtype=np.float32) / 255.0


def for_display(img: np.ndarray, lo: float | None = None, hi: float | None = None,
                scale: int = 3) -> np.ndarray:
    """A 0..1 grey image, `scale` times larger with crisp pixels."""
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 1 and a.size == SIDE * SIDE:
        a = a.reshape(SIDE, SIDE)
    lo = float(np.nanmin(a)) if lo is None else lo
    hi = float(np.nanmax(a)) if hi is None else hi
    a = np.clip((a - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
    if scale > 1:
        a = np.kron(a, np.ones((scale, scale), dtype=np.float32))
    return a
