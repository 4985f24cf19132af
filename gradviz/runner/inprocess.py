"""Run a user's script under capture in this process (notebooks, tests, and the child's own work).

The script's bytes are compiled as Python reads them (a BOM or a `# coding:`
line is honoured); whatever it raises, however odd its message, becomes an
ErrorInfo on the user's line, never gradviz's traceback.
"""
from __future__ import annotations

import io
import os
import sys
import tokenize
import traceback
import types
from pathlib import Path
from typing import Any, Callable

from gradviz.lessons import for_script, iterations
from gradviz.recording import ErrorInfo, Recording
from gradviz.runner.output import strip_ansi
from gradviz.words import N_, both
from gradviz.words import notes as said
from gradviz.words.notes import note

MESSAGE_CHARS = 4000  # an exception's message is kept whole up to here (torch.load's lists two fixes)


class DeviceError(ValueError):
    """An unavailable device was asked for."""


def available_devices() -> list[str]:
    import torch

    devs = ["cpu"]
    if torch.cuda.is_available():
        devs.append("cuda")
        devs += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devs.append("mps")
    return devs


def check_device(device: str) -> str:
    devs = available_devices()
    if device not in devs:
        raise DeviceError(f"device {device!r} is not available here; available: {', '.join(devs)}")
    return device


def lesson_total(path: str | os.PathLike, args: list[str]) -> int | None:
    """How many backward() calls a catalogue lesson makes with `args` (None for other scripts)."""
    lesson = for_script(path)
    return iterations(lesson, args) if lesson is not None else None


def execute(path: Path, args: list[str], device: str = "cpu",
            on_graph: Callable | None = None, **record_options: Any) -> Recording:
    """Run the script in this process under gradviz.record()."""
    import torch

    from gradviz.capture.recorder import Recorder
    from gradviz.explain import explain_recording
    from gradviz.script_watch import watch

    path = Path(path).resolve()
    raw = path.read_bytes()
    source = read_source(raw)
    if record_options.get("total") is None:
        record_options["total"] = lesson_total(path, args)
    rec = Recorder(on_graph=on_graph, on_finish=explain_recording, **record_options)
    recording = rec.recording
    recording.script, recording.source, recording.device = str(path), source, device
    try:
        check_device(device)
    except DeviceError as e:
        recording.error = ErrorInfo(type="DeviceError", message=str(e))
        return recording

    try:
        code = compile(raw, str(path), "exec")  # bytes: Python's own BOM and coding-line rules
    except (SyntaxError, ValueError) as e:  # ValueError: a NUL byte in the source
        recording.error = _syntax_error(e)
        return recording

    module = types.ModuleType("__main__")
    module.__file__ = str(path)
    module.__builtins__ = __builtins__
    saved = (sys.argv, list(sys.path), sys.modules.get("__main__"), torch.get_default_device())
    sys.argv = [str(path), *args]
    sys.path.insert(0, str(path.parent))
    sys.modules["__main__"] = module
    # Only when it changes: a default-device context is a TorchFunctionMode that costs
    # every torch call (about 30% of a small-tensor loop), even for "cpu".
    switch_device = torch.device(device) != saved[3]
    try:
        if switch_device:
            torch.set_default_device(device)
        with watch(recording), rec:  # explains warnings and dead gradients as it goes
            exec(code, module.__dict__)
    except SystemExit as e:
        if e.code not in (None, 0):
            recording.error = ErrorInfo(
                type="SystemExit", message=f"the script called sys.exit({e.code!r})",
                explanation="The script stopped itself with a non-zero exit status.")
    except BaseException as e:  # the user's error becomes data, never our traceback
        recording.error = script_error(e, str(path), recording.graphs[-1] if recording.graphs else None)
    finally:
        sys.argv, sys.path[:] = saved[0], saved[1]
        if saved[2] is not None:
            sys.modules["__main__"] = saved[2]
        if switch_device:
            torch.set_default_device(None if saved[3].type == "cpu" else saved[3])
    if not recording.graphs and (recording.error is None or recording.error.type != "SyntaxError"):
        try:
            recording.notes.append(_leftover_graphs(recording, module.__dict__))
        except Exception as e:  # drawing leftovers is a courtesy; it must not mask the real error
            recording.notes.append(note(said.LEFTOVERS_FAILED, why=e))
    return recording


def _leftover_graphs(recording: Recording, ns: dict) -> str:
    """A script that never calls backward(): show the graphs of what it left."""
    import torch

    from gradviz.capture.graph import build
    from gradviz.names import Names

    names = Names([ns])
    roots = [t for t in names.tensors.values() if t.grad_fn is not None]
    ends = [t for t in roots if not any(t is not o and _feeds(t, o) for o in roots)][:4]
    for i, t in enumerate(ends):
        live = build([t], names, index=i)
        live.graph.title = f"graph of {names.name(t)} (no backward() was called)"
        recording.graphs.append(live.graph)
    del torch
    drawn = ", ".join(names.name(t) or "?" for t in ends)
    if recording.error is not None:
        return note(said.STOPPED_BEFORE_DRAWN, names=drawn) if ends else note(said.STOPPED_BEFORE)
    return note(said.NEVER_CALLED_DRAWN, names=drawn) if ends else note(said.NEVER_CALLED_NOTHING)


def _feeds(a: Any, b: Any) -> bool:
    """True when tensor a is an input somewhere in b's graph (a small bounded walk)."""
    from gradviz.capture.graph import grad_fns

    return b is not a and any(fn is a.grad_fn for fn in grad_fns([b.grad_fn], limit=5000))


def _explained(msgid: str) -> dict[str, str]:
    """An ErrorInfo's explanation and explanation_ko."""
    en, ko = both(msgid)
    return {"explanation": en, "explanation_ko": ko}


def read_source(raw: bytes) -> str:
    """The script's text as Python reads it: its coding line or BOM, else UTF-8."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        return raw.decode(encoding, errors="replace")
    except (SyntaxError, LookupError):
        return raw.decode("utf-8", errors="replace")


def _syntax_error(e: SyntaxError | ValueError) -> ErrorInfo:
    if not isinstance(e, SyntaxError):
        e = SyntaxError(exception_text(e), (None, None, None, None))
    return ErrorInfo(
        type="SyntaxError", message=f"{e.msg} (line {e.lineno})" if e.lineno else str(e.msg),
        line=e.lineno, file=e.filename,
        **_explained(N_("Python could not read the script: fix the line shown, then run it again.")))


def script_error(e: BaseException, script: str, graph: Any = None) -> ErrorInfo:
    """An exception raised by the user's code, placed on the user's line."""
    line = None
    for fs in traceback.extract_tb(e.__traceback__):
        if fs.filename == script:
            line = fs.lineno
    info = ErrorInfo(type=type(e).__name__, message=exception_text(e), line=line, file=script)
    try:
        from gradviz.explain.exceptions import explain_error

        explain_error(info, e, graph)
    except Exception:  # an explanation is a courtesy: the error itself must reach the user
        pass
    return info


def exception_text(e: BaseException) -> str:
    """The exception's message, whole (up to MESSAGE_CHARS), without terminal colour codes.

    Its __str__ is the user's code: it may raise, or return text with lone surrogates.
    """
    try:
        text = str(e)
    except Exception:
        try:
            text = repr(e)
        except Exception:
            text = ""
    if not isinstance(text, str):
        text = ""
    text = strip_ansi(text).strip()
    text = text.encode("utf-8", errors="replace").decode("utf-8")  # no lone surrogates
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + " …"
