"""Lesson recordings kept on disk, so that the first visit after a server restart shows at once.

Running a lesson takes from seconds to a minute (a child process, torch, capture);
Streamlit's caches forget everything when the server stops. Here each finished,
error-free run of a built-in lesson is written to the user's cache folder, keyed
by the lesson, its arguments, the device and a fingerprint of gradviz itself (its
version, its JSON format and its source files) and of the lesson's text: any
change to either runs the lesson again. Beside it go the stepper pages drawn from
that very recording (`page`, named by the entry's HMAC): drawing every step with
`dot` again would cost a big lesson a second or more before its first graph.

What is read back is never trusted more than a file anyone could have written:
the recording goes through `Recording.from_json` (the same safe loader that reads
a child process's recording), the pictures through `numpy.load(allow_pickle=False)`.
Every file also carries an HMAC made with a key that only this cache writes
(mode 0600 in a 0700 folder): a file the cache did not write is ignored and
removed. Writes are atomic (a temporary file, then os.replace), and the folder
is kept under MAX_BYTES by dropping the least recently used entries.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import io
import json
import os
import stat
import sys
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any, Callable

MAX_BYTES = int(float(os.environ.get("GRADVIZ_CACHE_MB", "512")) * 1024**2)
_MAGIC = b"gradviz-recording-cache 1\n"
_lock = threading.Lock()
_made_from: dict[int, tuple[weakref.ref, bytes]] = {}  # id(recording) -> (the recording, its entry's HMAC)


def folder() -> Path | None:
    """The cache folder (made 0700 when missing); None when turned off or not safe to use.

    GRADVIZ_CACHE_DIR names it ("off" turns the cache off); else the platform's cache
    folder (XDG_CACHE_HOME or ~/.cache, ~/Library/Caches, %LOCALAPPDATA%) / gradviz.
    """
    chosen = os.environ.get("GRADVIZ_CACHE_DIR", "")
    if chosen.lower() == "off":
        return None
    if chosen:
        path = Path(chosen)
    elif sys.platform == "darwin":
        path = Path.home() / "Library" / "Caches" / "gradviz" / "recordings"
    elif os.name == "nt":
        path = Path(os.environ.get("LOCALAPPDATA", Path.home())) / "gradviz" / "recordings"
    else:
        path = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gradviz" / "recordings"
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = path.stat()
        if os.name != "nt" and (st.st_uid != os.getuid() or st.st_mode & 0o077):
            return None  # someone else's folder, or one others may write to: not ours to trust
    except OSError:
        return None
    return path


def _secret(where: Path) -> bytes | None:
    """This cache's own key (made on first use, readable by its owner only)."""
    path = where / ".key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode) or (os.name != "nt" and st.st_mode & 0o077):
                return None
            key = f.read(64)
    except OSError:
        return None
    return key if len(key) == 32 else None


_FINGERPRINTED = {".py", ".js", ".css", ".mo"}


def fingerprinted(root: Path) -> list[Path]:
    """The files of gradviz (under root) whose change makes every kept entry and page old."""
    return sorted(p for p in root.rglob("*") if p.suffix in _FINGERPRINTED)


@functools.cache
def _fingerprint() -> str:
    """gradviz's version, JSON format and files (its code, the stepper's script and style, the
    compiled translations: a kept page holds all of them): a new build never reads an old entry."""
    import gradviz
    from gradviz.recording import JSON_VERSION

    h = hashlib.sha256(f"{gradviz.__version__}|{JSON_VERSION}".encode())
    root = Path(gradviz.__file__).resolve().parent
    for path in fingerprinted(root):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def key(script: str, parts: tuple) -> str | None:
    """The entry's name: gradviz's fingerprint, the script's text and the run's parts."""
    try:
        text = Path(script).read_bytes()
    except OSError:
        return None
    h = hashlib.sha256(_fingerprint().encode())
    h.update(hashlib.sha256(text).digest())
    h.update(json.dumps([str(p) if not isinstance(p, (list, tuple)) else [str(x) for x in p]
                         for p in parts]).encode())
    return h.hexdigest()[:40]


def _read(name: str, suffix: str = ".gvc") -> tuple[bytes, bytes] | None:
    """(HMAC, body) of an entry this cache wrote; None when there is none (or it is not ours)."""
    where = folder()
    secret = _secret(where) if where is not None else None
    if secret is None:
        return None
    path = where / f"{name}{suffix}"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            data = f.read()
    except OSError:
        return None
    head = len(_MAGIC) + 32
    if not data.startswith(_MAGIC) or len(data) < head or not hmac.compare_digest(
            data[len(_MAGIC):head], hmac.new(secret, data[head:], hashlib.sha256).digest()):
        _drop(path)  # not written by this cache (or cut short): never read
        return None
    try:
        os.utime(path)  # recently used: dropped last
    except OSError:
        pass
    return data[len(_MAGIC):head], data[head:]


def _write(name: str, body: bytes, suffix: str = ".gvc") -> bytes | None:
    """Write an entry atomically (then keep the folder under MAX_BYTES); its HMAC, None on failure."""
    where = folder()
    secret = _secret(where) if where is not None else None
    if secret is None or len(body) > MAX_BYTES // 4:
        return None  # one entry may not push out all the others
    mac = hmac.new(secret, body, hashlib.sha256).digest()
    data = _MAGIC + mac + body
    try:
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".tmp-", suffix=".part")
    except OSError:
        return None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, where / f"{name}{suffix}")
    except OSError:
        _drop(Path(tmp))
        return None
    _trim(where)
    return mac


def load(name: str) -> tuple[Any, dict] | None:
    """(Recording, extra) of an entry this cache wrote; None when there is none (or it is not ours)."""
    from gradviz.recording import Recording, RecordingFormatError

    found = _read(name)
    if found is None:
        return None
    mac, body = found
    try:
        size = int.from_bytes(body[:8], "big")
        rec = Recording.from_json(body[8:8 + size].decode("utf-8"))
        extra = _unpack_extra(body[8 + size:])
    except (RecordingFormatError, ValueError, OSError, UnicodeDecodeError):
        forget(name)
        return None
    _note_entry(rec, mac)
    return rec, extra


def store(name: str, rec: Any, extra: dict) -> None:
    """Write an entry (the recording's JSON and its pictures); quietly nothing on failure."""
    try:
        text = rec.to_json().encode("utf-8")
        body = len(text).to_bytes(8, "big") + text + _pack_extra(extra)
    except (TypeError, ValueError):
        return
    mac = _write(name, body)
    if mac is not None:
        _note_entry(rec, mac)


def _note_entry(rec: Any, mac: bytes) -> None:
    """Remember which entry a live recording is (while it lives)."""
    ident = id(rec)
    try:
        _made_from[ident] = (weakref.ref(rec, lambda _: _made_from.pop(ident, None)), mac)
    except TypeError:  # not weakly referable: no page kept for it
        pass


def page(rec: Any, parts: tuple, make: Callable[[], str]) -> str:
    """A page made from a recording this cache holds (the app's stepper), kept beside it and named
    by the recording's very bytes: after a restart the first graph does not wait for `dot` to draw
    every step again. A recording from elsewhere (an error, an upload, pasted code): make()."""
    ref, mac = _made_from.get(id(rec), (None, b""))
    if ref is None or ref() is not rec:
        return make()
    h = hashlib.sha256(_fingerprint().encode() + mac)
    h.update(json.dumps([str(p) for p in parts]).encode())
    name = h.hexdigest()[:40]
    found = _read(name, ".page")
    if found is not None:
        try:
            return found[1].decode("utf-8")
        except UnicodeDecodeError:
            pass
    made = make()
    _write(name, made.encode("utf-8"), ".page")
    return made


def forget(name: str) -> None:
    """Drop one entry ("run again")."""
    where = folder()
    if where is not None:
        _drop(where / f"{name}.gvc")


def cached(script: str, parts: tuple, make: Callable[[], tuple[Any, dict]]) -> tuple[Any, dict]:
    """make() through the disk: an entry when there is one, else make() and keep an error-free result."""
    name = key(script, parts)
    if name is not None:
        found = load(name)
        if found is not None:
            return found
    rec, extra = make()
    if name is not None and getattr(rec, "error", None) is None:
        store(name, rec, extra)
    return rec, extra


def on_disk(run: Callable[..., tuple[Any, dict]]) -> Callable[..., tuple[Any, dict]]:
    """run(lesson_id, script, args, device, save_images, upload_digest, ...) through the disk
    cache; a run with an uploaded picture (a digest) is the learner's own and stays off disk."""
    @functools.wraps(run)
    def through_disk(lesson_id: str, script: str, args: tuple, device: str, save_images: bool,
                     upload_digest: str, *rest: Any, **kw: Any) -> tuple[Any, dict]:
        def make() -> tuple[Any, dict]:
            return run(lesson_id, script, args, device, save_images, upload_digest, *rest, **kw)
        if upload_digest:
            return make()
        return cached(script, (lesson_id, args, device, save_images), make)
    return through_disk


def forget_run(lesson_id: str, script: str, args: tuple, device: str, save_images: bool,
               upload_digest: str = "", *_: Any) -> None:
    """Drop the entry of one on_disk run ("run again"), named by the same arguments."""
    name = None if upload_digest else key(script, (lesson_id, args, device, save_images))
    if name is not None:
        forget(name)


def _pack_extra(extra: dict) -> bytes:
    """The run's pictures (name -> float array) as an .npz; nothing else is kept."""
    import numpy as np

    images = {k: v for k, v in (extra.get("images") or {}).items()
              if isinstance(k, str) and isinstance(v, np.ndarray) and v.dtype.kind in "biuf"}
    if set(extra) - {"images"} or len(images) != len(extra.get("images") or {}):
        raise ValueError("only pictures are kept on disk")
    if not extra:
        return b""
    buf = io.BytesIO()
    np.savez(buf, **images)
    return buf.getvalue()


def _unpack_extra(data: bytes) -> dict:
    if not data:
        return {}
    import numpy as np

    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {"images": {k: z[k] for k in z.files}}


def _trim(where: Path) -> None:
    """Drop the least recently used entries until the folder holds at most MAX_BYTES."""
    with _lock:
        try:
            entries = [(p.stat().st_mtime, p.stat().st_size, p) for p in [*where.glob("*.gvc"), *where.glob("*.page")]]
        except OSError:
            return
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries, key=lambda e: e[0]):
            if total <= MAX_BYTES:
                break
            _drop(path)
            total -= size


def _drop(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
