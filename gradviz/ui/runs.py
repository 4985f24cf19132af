"""Running lessons and pasted code for the page, once per input.

Every run goes through `run_script(..., isolate=True)`: a child process in the
sandbox (gradviz.runner.sandbox: no network, its own processes only, read-only
files but its scratch folder) with a time limit and a memory limit, so a script
that hangs, crashes, eats memory or pokes around costs its own process, never
the server. Its output (stdout and stderr) comes back as its head and tail. Finished recordings are cached,
keyed by lesson, device and arguments (or by the code's hash), so a step click or
a language switch never runs anything again. A lesson's recording is one live
object shared by every session (`st.cache_resource`, read only: a long lesson's
pickling and unpickling in `st.cache_data` cost up to a second per first view);
pasted code's are `st.cache_data`, and each session keeps the recordings it is
showing as live objects (unpickling on every read is too slow for a step click).
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import streamlit as st

from gradviz.lessons import iterations
from gradviz.progress import Progress
from gradviz.recording import ErrorInfo, Recording
from gradviz.ui import disk_cache
from gradviz.words import N_, both, tr

LESSON_TIMEOUT = 600.0  # the full image restoration runs for minutes under capture
LESSON_MEMORY = 4 * 1024**3
CODE_TIMEOUT = 20.0
CODE_MEMORY = 2 * 1024**3
LESSONS_KEPT = 32  # live lesson recordings in memory (lesson 10's full run: about 25 MB)
MAX_GRAPHS = 40  # backward() calls recorded per run; a training loop needs only the first few
_SESSION_KEY = "_gv_recordings"
_SESSION_KEEP = 4
_TRANSIENT = ("TimeLimit", "MemoryLimit", "Crash")  # not cached: the next try may succeed
LIVE_EVERY = 1.0  # seconds between two drawings of the live curves
_RUNNING = N_("Running “{what}” in its own process (only the first visit waits)…")


@dataclass
class Run:
    """A recording with the key that names it in every cache."""

    key: str
    rec: Recording
    extra: dict
    call: tuple = ()  # the cached function's arguments, to forget just this run


class _DoNotCache(Exception):
    """Carries a recording out of a cached function without caching it."""

    def __init__(self, rec: Recording, extra: dict):
        super().__init__("transient failure")
        self.rec, self.extra = rec, extra


# ------------------------------------------------------------------------------ devices

def _no_accelerator_here() -> bool:
    """True on Linux with no GPU device nodes: then only the CPU can be there, no probe needed.

    CUDA needs /dev/nvidia*, ROCm (which PyTorch reports as cuda) /dev/kfd, WSL /dev/dxg.
    """
    import glob
    import platform

    if platform.system() != "Linux":
        return False
    return not (glob.glob("/dev/nvidia*") or Path("/dev/kfd").exists() or Path("/dev/dxg").exists())


@st.cache_resource(show_spinner=False)
def devices() -> list[str]:
    """The devices PyTorch finds here, asked in a child so the server never imports torch."""
    if _no_accelerator_here():
        return ["cpu"]
    code = "import json; from gradviz.runner import available_devices as a; print(json.dumps(a()))"
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120,
                             check=True, stdin=subprocess.DEVNULL).stdout
        found = json.loads(out.decode().strip().splitlines()[-1])
        return [d for d in found if isinstance(d, str)] or ["cpu"]
    except (subprocess.SubprocessError, OSError, ValueError, IndexError):
        return ["cpu"]


# ------------------------------------------------------------------------------ running

def _run(script: Path, args: list[str], device: str, timeout: float, memory: int,
         progress: Callable[[Progress], None] | None, writable: Path | None = None) -> Recording:
    from gradviz.runner import run_script

    kw: dict[str, Any] = {"progress": progress} if progress is not None else {}
    try:
        return run_script(script, args, device=device, isolate=True, timeout=timeout,
                          memory_limit=memory, max_graphs=MAX_GRAPHS,
                          writable=[writable] if writable is not None else [], **kw)
    except Exception as e:  # the runner itself failed: still an explained error in the page
        rec = Recording(script=str(script), device=device)
        try:
            rec.source = script.read_text(encoding="utf-8", errors="replace")
        except OSError:
            pass
        en, ko = both(N_("gradviz could not run the script."))
        rec.error = ErrorInfo(type=type(e).__name__, message=str(e)[:500], explanation=en, explanation_ko=ko)
        return rec


def _snapshot_every(lesson_id: str, args: list[str]) -> int:
    """Keep about 20 pictures of the restoration for the iteration slider."""
    from gradviz.lessons import get, iterations

    return max(1, (iterations(get(lesson_id), args) or 20000) // 20)


def _read_images(folder: Path) -> dict:
    """The .npy pictures a lesson saved with --save, as small float arrays."""
    import numpy as np

    images: dict[str, Any] = {}
    for path in sorted(folder.glob("*.npy")):
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            continue
        if arr.dtype.kind in "biuf" and arr.ndim == 2 and arr.size <= 4_000_000:
            images[path.stem] = arr.astype("float32")
    return images


@st.cache_resource(show_spinner=False, max_entries=LESSONS_KEPT)
@disk_cache.on_disk  # kept across server restarts too
def _lesson_cached(lesson_id: str, script: str, args: tuple[str, ...], device: str,
                   save_images: bool, upload_digest: str, _upload: Any = None,
                   _progress: Callable | None = None) -> tuple[Recording, dict]:
    """One lesson run. An upload is keyed by its digest; `_upload.write(folder)` makes its file."""
    del upload_digest  # part of the cache key only
    extra: dict[str, Any] = {}
    run_args = list(args)
    with tempfile.TemporaryDirectory(prefix="gradviz-app-") as tmp:
        if _upload is not None:
            run_args += ["--image", str(_upload.write(Path(tmp)))]
        if save_images:  # the final pictures, and about 20 snapshots for the iteration slider
            run_args += ["--save", str(Path(tmp) / "images"), "--save-every", str(_snapshot_every(lesson_id, run_args))]
        rec = _run(Path(script), run_args, device, LESSON_TIMEOUT, LESSON_MEMORY, _progress, Path(tmp))
        if save_images and (Path(tmp) / "images").is_dir():
            extra["images"] = _read_images(Path(tmp) / "images")
    if rec.error is not None and rec.error.type in _TRANSIENT:
        raise _DoNotCache(rec, extra)
    return rec, extra


@st.cache_data(show_spinner=False, max_entries=32)
def _code_cached(digest: str, code: str, device: str) -> Recording:
    with tempfile.TemporaryDirectory(prefix=f"gradviz-code-{digest}-") as tmp:  # ui/running.py's Stop finds it
        path = Path(tmp) / "your_code.py"
        path.write_text(code, encoding="utf-8")
        rec = _run(path, [], device, CODE_TIMEOUT, CODE_MEMORY, None)
    rec.source = code
    rec.script = "your_code.py"
    if rec.error is not None:
        rec.error.file = "your_code.py"
        if rec.error.type in _TRANSIENT:
            raise _DoNotCache(rec, {})
    return rec


def _remember(key: str, run: Run) -> Run:
    memo: dict[str, Run] = st.session_state.setdefault(_SESSION_KEY, {})
    memo.pop(key, None)
    memo[key] = run
    while len(memo) > _SESSION_KEEP:
        memo.pop(next(iter(memo)))
    return run


def _recalled(key: str) -> Run | None:
    return st.session_state.get(_SESSION_KEY, {}).get(key)


def lesson_run(lesson: Any, device: str, args: list[str], lang: str,
               save_images: bool = False, upload: Any = None) -> Run:
    """The recording of `lesson` on `device` with `args`, running it only when needed.

    `upload` (an uploads.LessonInput) becomes the lesson's --image file; its
    digest keys the caches, so the same picture is never run twice.
    """
    digest = upload.digest if upload is not None else ""
    key = f"lesson:{lesson.id}|{device}|{' '.join(args)}|{digest}"
    found = _recalled(key)
    if found is not None:
        return found
    with _progress_bar(tr(_RUNNING, lang, what=lesson.title[lang]), lang,
                       iterations(lesson, args)) as progress:
        rec, extra = warm(lesson, device, args, save_images, upload, progress)
    call = (lesson.id, str(lesson.path), tuple(args), device, save_images, digest)
    return _remember(key, Run(key, rec, dict(extra), call))  # extra: this session's (page.py adds the upload)


def warm(lesson: Any, device: str, args: list[str], save_images: bool = False, upload: Any = None,
         progress: Callable[[Progress], None] | None = None) -> tuple[Recording, dict]:
    """Run a lesson into the shared cache (or read it from there); safe from any thread."""
    digest = upload.digest if upload is not None else ""
    try:
        return _lesson_cached(lesson.id, str(lesson.path), tuple(args), device, save_images, digest,
                              _upload=upload, _progress=progress)
    except _DoNotCache as e:
        return e.rec, e.extra


def code_digest(code: str, device: str) -> str:
    return hashlib.sha256(f"{device}\0{code}".encode()).hexdigest()[:16]


def code_run(code: str, device: str, lang: str) -> Run:
    """Run pasted code in a limited child process (cached by its text and device)."""
    digest = code_digest(code, device)
    key = f"code:{digest}"
    found = _recalled(key)
    if found is not None:
        return found
    from gradviz.ui import running

    try:  # a running timer and a Stop button (ui/running.py)
        rec = running.run(lambda: _code_cached(digest, code, device), f"gradviz-code-{digest}-", lang)
    except _DoNotCache as e:
        rec = e.rec
    return _remember(key, Run(key, rec, {}))


def forget(run: Run) -> None:
    """Drop a lesson's recording from this session and the shared cache ("run again")."""
    st.session_state.get(_SESSION_KEY, {}).pop(run.key, None)
    if run.call:
        _lesson_cached.clear(*run.call)
        disk_cache.forget_run(*run.call)


# ------------------------------------------------------------------------------ progress

@contextmanager
def _progress_bar(text: str, lang: str, expected: int | None = None) -> Iterator[Callable[[Progress], None]]:
    """A bar that the runner's progress callback moves, shown only while a run is on.

    The callback writes to the page from inside a cached function, so it steps
    outside Streamlit's element replay: a cache hit must not show a stale bar.
    """
    slot = st.empty()
    live = st.empty()  # the curves so far, redrawn at most every LIVE_EVERY seconds
    shown = {"on": False}
    seen: dict[str, Any] = {"loss": [], "logged": [], "drawn": 0.0}
    ctx = _script_context()

    def update(p: Progress) -> None:
        _adopt(ctx)  # the runner may call from its reader thread
        done, total, loss = p.done, p.total or expected or 0, p.loss
        if loss is not None:
            seen["loss"].append({"iteration": done, "loss": loss})
        seen["logged"] += p.logged
        if (seen["loss"] or seen["logged"]) and time.monotonic() - seen["drawn"] >= LIVE_EVERY:
            seen["drawn"] = time.monotonic()
            with _outside_cache_replay():
                try:
                    with live.container():
                        from gradviz.ui import curves

                        curves.show_live(seen["loss"], seen["logged"], lang)
                except Exception:  # no script context: no live curves
                    pass
        frac = max(0.0, min(1.0, done / total)) if total else 0.0
        if total:
            label = tr("iteration {i} of {n}", lang, i=done, n=total)
        else:
            label = tr("iteration {i}", lang, i=done)
        if loss is not None:
            label += " · " + tr("loss", lang) + f" {loss:.4g}"
        with _outside_cache_replay():
            try:
                slot.progress(frac, text=f"{text}  {label}")
                shown["on"] = True
            except Exception:  # called from a thread without a script context: no bar
                pass

    with _outside_cache_replay():
        slot.caption(text)
    try:
        yield update
    finally:
        with _outside_cache_replay():
            slot.empty()
            live.empty()


def _script_context() -> Any:
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
    except ImportError:
        return None
    return get_script_run_ctx(suppress_warning=True)


def _adopt(ctx: Any) -> None:
    """Let a helper thread write to this session's page."""
    if ctx is None:
        return
    try:
        from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx
    except ImportError:
        return
    if get_script_run_ctx(suppress_warning=True) is None:
        add_script_run_ctx(threading.current_thread(), ctx)


@contextmanager
def _outside_cache_replay() -> Iterator[None]:
    try:
        from streamlit.runtime.caching.cached_message_replay import in_cached_function
    except ImportError:  # another Streamlit: the bar may be replayed, nothing worse
        yield
        return
    token = in_cached_function.set(False)
    try:
        yield
    finally:
        in_cached_function.reset(token)
