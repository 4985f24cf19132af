"""Load a pickled numpy array without running anything else.

Why this exists: a pickle file is not data but a small program for Python's
unpickler, and that program may name any importable function to call while
loading (``os.system``, ``subprocess.Popen``, ...). ``pickle.load`` on a file
from the internet therefore runs whatever its author wanted. The lesson on
image restoration reads such a file (the book's ``broken_image_t.p``), so the
app and the CLI load it through a restricted unpickler: it may only rebuild a
numpy array (``_reconstruct``, ``ndarray``, ``dtype``), every other global is
refused before it is imported, and arrays whose dtype is not numeric (object
arrays can hold arbitrary Python objects) are refused after loading.

An array must also get its numbers from the file: `_reconstruct` alone makes an
array of whatever memory was lying around (bytes the server freed), so only an
array whose state (shape, dtype, data) the file set, and whose data numpy found
the right length for that shape, is returned; the array `_reconstruct` starts
from may hold at most MAX_START elements.
"""
from __future__ import annotations

import importlib
import io
import pickle
from pathlib import Path

import numpy as np

__all__ = ["UnsafePickleError", "load_array"]

# (module, name) pairs a numpy array pickle needs; numpy 2 moved
# numpy.core to numpy._core, and old files still name the old place.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}
_NUMERIC_KINDS = "biufc"  # bool, signed, unsigned, float, complex
MAX_START = 1  # numpy pickles start from an empty array, then set its state


class UnsafePickleError(ValueError):
    """The pickle asks for something other than a plain numeric numpy array."""


class _Filled(np.ndarray):
    """An array being unpickled: it knows whether the file gave it its numbers."""

    filled = False

    def __setstate__(self, state) -> None:
        super().__setstate__(state)  # numpy checks that the data fits the shape
        self.filled = True


def _reconstruct():
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            real = importlib.import_module(module)._reconstruct
            break
        except (ImportError, AttributeError):
            continue
    else:
        raise UnsafePickleError("this numpy cannot rebuild pickled arrays")

    def start(cls, shape, dtype):
        if cls is not np.ndarray or int(np.prod(shape, dtype=np.int64)) > MAX_START:
            raise UnsafePickleError("this file asks for an array without giving its numbers")
        return real(_Filled, shape, dtype)

    return start


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            shown = "os" if module in ("posix", "nt") else module  # os.system pickles as posix.system
            raise UnsafePickleError(
                f"this file asks to run {shown}.{name}; gradviz only loads arrays of numbers"
            )
        if name == "_reconstruct":
            return _reconstruct()
        return getattr(np, name)

    def persistent_load(self, pid):
        raise UnsafePickleError("this file refers to outside objects; gradviz only loads arrays of numbers")


def load_array(data: bytes | bytearray | str | Path) -> np.ndarray:
    """Unpickle a numeric numpy array from bytes or a file path.

    Strings are file paths. Latin-1 decoding lets Python 2 pickles load.
    Raises UnsafePickleError (a ValueError) for anything that is not a
    numeric ndarray, and pickle's own errors for a damaged file.
    """
    if isinstance(data, (str, Path)):
        data = Path(data).read_bytes()
    try:
        obj = _ArrayUnpickler(io.BytesIO(bytes(data)), encoding="latin1").load()
    except UnsafePickleError:
        raise
    except MemoryError:
        raise UnsafePickleError("this file asks for more memory than gradviz gives a picture") from None
    except Exception as exc:  # a damaged file: pickle's, numpy's and decoding errors alike
        raise UnsafePickleError(f"not a readable numpy array pickle ({type(exc).__name__})") from None
    if isinstance(obj, _Filled):
        if not obj.filled:
            raise UnsafePickleError("this file asks for an array without giving its numbers")
        obj = np.array(obj.view(np.ndarray))  # a plain array of its own
    elif isinstance(obj, np.ndarray):  # only _reconstruct makes arrays here
        raise UnsafePickleError("this file asks for an array without giving its numbers")
    if not isinstance(obj, np.ndarray):
        raise UnsafePickleError(
            f"this file holds a {type(obj).__name__}, not a numpy array; gradviz only loads arrays of numbers"
        )
    if obj.dtype.kind not in _NUMERIC_KINDS:
        raise UnsafePickleError(
            f"this array has dtype {obj.dtype} (not numbers); gradviz only loads arrays of numbers"
        )
    return obj
