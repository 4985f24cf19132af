"""Run a user's script under capture: in this process, or in a limited child.

The child process is what keeps a broken, hostile or endless script away from
the CLI and the app: it gets a time limit and a memory limit, and it hands back
plain JSON (a partial recording too, when it is stopped).
"""
from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import traceback
import types
from pathlib import Path
from typing import Any, Callable

from gradviz.recording import ErrorInfo, Recording
from gradviz.words import N_, both

EXIT_OK, EXIT_SCRIPT, EXIT_USAGE, EXIT_TIMEOUT, EXIT_MEMORY = 0, 1, 2, 3, 4
DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY = 4 * 1024**3


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


def run_script(
    path: str | os.PathLike,
    args: list[str] | tuple[str, ...] = (),
    *,
    device: str = "cpu",
    isolate: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    memory_limit: int | None = DEFAULT_MEMORY,
    capture_output: bool = False,
    **record_options: Any,
) -> Recording:
    """Run the script at `path` as `__main__` and return what it did.

    `isolate=True` runs it in a child process with `timeout` seconds and
    `memory_limit` bytes; otherwise it runs here (for notebooks and tests).
    """
    if isolate:
        progress = record_options.pop("progress", None)  # a callback: it stays in this process
        return _run_child(Path(path), list(args), device, timeout, memory_limit,
                          capture_output, record_options, progress)
    return execute(Path(path), list(args), device=device, **record_options)


def lesson_total(path: str | os.PathLike, args: list[str]) -> int | None:
    """How many backward() calls a catalogue lesson makes, when its entry says so."""
    try:
        from gradviz.lessons import LESSONS, lessons_dir
    except ImportError:
        return None
    path = Path(path).resolve()
    for lesson in LESSONS:
        if (lessons_dir() / lesson.script).resolve() == path:
            total = getattr(lesson, "iterations", None) or lesson.expect.get("iterations")
            if callable(total):
                return total(list(args))
            return int(total) if isinstance(total, int) and not args else None
    return None


def execute(path: Path, args: list[str], device: str = "cpu",
            on_graph: Callable | None = None, **record_options: Any) -> Recording:
    """Run the script in this process under gradviz.record()."""
    import torch

    from gradviz.capture.recorder import Recorder
    from gradviz.explain import explain_recording
    from gradviz.script_watch import watch

    path = Path(path).resolve()
    source = path.read_text(encoding="utf-8", errors="replace")
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
        code = compile(source, str(path), "exec")
    except SyntaxError as e:
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
            recording.notes.append(f"could not draw the tensors the script left: {e}")
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
    if recording.error is not None:
        return ("The script stopped before it called backward(). "
                + (f"Drawn: the graph it had built so far ({', '.join(names.name(t) or '?' for t in ends)})."
                   if ends else ""))
    return ("The script never called backward(), so there are no gradients to show. "
            + (f"Drawn instead: the graph behind {', '.join(names.name(t) or '?' for t in ends)}."
               if ends else "It left no tensor with a grad_fn to draw."))


def _feeds(a: Any, b: Any) -> bool:
    """True when tensor a is an input somewhere in b's graph (a small bounded walk)."""
    from gradviz.capture.graph import grad_fns

    return b is not a and any(fn is a.grad_fn for fn in grad_fns([b.grad_fn], limit=5000))


def _explained(msgid: str) -> dict[str, str]:
    """An ErrorInfo's explanation and explanation_ko."""
    en, ko = both(msgid)
    return {"explanation": en, "explanation_ko": ko}


def _syntax_error(e: SyntaxError) -> ErrorInfo:
    return ErrorInfo(
        type="SyntaxError", message=f"{e.msg} (line {e.lineno})", line=e.lineno, file=e.filename,
        **_explained(N_("Python could not read the script: fix the line shown, then run it again.")))


def script_error(e: BaseException, script: str, graph: Any = None) -> ErrorInfo:
    """An exception raised by the user's code, placed on the user's line."""
    line = None
    for fs in traceback.extract_tb(e.__traceback__):
        if fs.filename == script:
            line = fs.lineno
    info = ErrorInfo(type=type(e).__name__, message=str(e).strip().splitlines()[0][:500] if str(e) else "",
                     line=line, file=script)
    try:
        from gradviz.explain.exceptions import explain_error

        explain_error(info, e, graph)
    except ImportError:
        pass
    return info


# --- the child process --------------------------------------------------------------

def _run_child(path: Path, args: list[str], device: str, timeout: float | None,
               memory_limit: int | None, capture_output: bool, options: dict,
               progress: Callable | None = None) -> Recording:
    with tempfile.TemporaryDirectory(prefix="gradviz-") as tmp:
        out = Path(tmp) / "recording.json"
        spec = Path(tmp) / "spec.json"
        progress_file = Path(tmp) / "progress.jsonl" if progress is not None else None
        spec.write_text(json.dumps({"script": str(path), "args": args, "device": device,
                                    "out": str(out), "memory": memory_limit, "options": options,
                                    "progress": str(progress_file) if progress_file else None}))
        stop_following = None
        if progress_file is not None:  # the child writes a line per report; we pass them on
            from gradviz.progress import follow_progress

            stop_following = follow_progress(progress_file, progress)
        # -P: the current folder is not put on sys.path, so a json.py there cannot shadow ours
        safe_path = ["-P"] if sys.version_info >= (3, 11) else []
        cmd = [sys.executable, *safe_path, "-m", "gradviz.runner", str(spec)]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                # the script's prints go to stderr: stdout is for gradviz's own output
                                stdout=subprocess.PIPE if capture_output else sys.stderr,
                                stderr=subprocess.PIPE, start_new_session=True)
        timed_out = False
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            stdout, stderr = proc.communicate()
        except BaseException:  # we are being stopped: the child must not outlive us
            _kill_group(proc)
            raise
        finally:
            if stop_following is not None:
                stop_following()
        rec = Recording.from_json(out.read_text()) if out.exists() else Recording(
            script=str(path), device=device)
        if rec.source is None and path.exists():
            rec.source = path.read_text(encoding="utf-8", errors="replace")
        if capture_output and stdout:
            rec.stdout = stdout.decode(errors="replace")[-100_000:]
        if timed_out:
            rec.error = ErrorInfo(
                type="TimeLimit", message=f"the script ran longer than {timeout:g} s and was stopped",
                **_explained(N_("Look for a loop that never ends, or give it more time with --timeout.")))
        elif rec.error is not None and (rec.error.type == "MemoryError"
                                        or "can't allocate memory" in rec.error.message):
            rec.error = _child_death(EXIT_MEMORY, "", memory_limit)
        elif rec.error is None and proc.returncode != 0:
            rec.error = _child_death(proc.returncode, stderr.decode(errors="replace"), memory_limit)
        return rec


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _child_death(code: int, stderr: str, memory_limit: int | None) -> ErrorInfo:
    if ("MemoryError" in stderr or "bad_alloc" in stderr or "out of memory" in stderr.lower()
            or code == EXIT_MEMORY or code == -signal.SIGKILL):
        limit = f"{memory_limit / 1024**3:.1f} GB" if memory_limit else "the machine's memory"
        return ErrorInfo(
            type="MemoryLimit", message=f"the script used more than {limit} and was stopped",
            **_explained(N_("Use smaller tensors or fewer iterations, or raise --memory-limit.")))
    if code < 0:
        return ErrorInfo(
            type="Crash", message=f"the Python interpreter crashed (signal {-code})",
            **_explained(N_("The process running the script died without a Python error; "
                            "this happens with native crashes (for example a segmentation fault).")))
    tail = (stderr.strip().splitlines()[-1:] or [""])[0][:300]
    return ErrorInfo(
        type="Crash", message=f"the script's process exited with code {code}" + (f": {tail}" if tail else ""),
        **_explained(N_("The script ended its own process (for example with os._exit) before gradviz "
                        "could collect what it recorded.")))


def _die_with_parent() -> None:
    """Linux: ask the kernel to kill this child when its parent goes away."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child_main(spec_path: str) -> int:
    _die_with_parent()
    spec = json.loads(Path(spec_path).read_text())
    if spec.get("memory"):
        import resource

        limit = int(spec["memory"])
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    out = Path(spec["out"])

    from gradviz.render.files import atomic_write

    def save_partial(rec: Recording, _graph: Any) -> None:
        if len(rec.graphs) <= 3:  # so a killed run still hands back its first graphs
            atomic_write(out, rec.to_json().encode())

    options = dict(spec.get("options", {}))
    if spec.get("progress"):
        from gradviz.progress import ProgressFile

        options["progress"] = ProgressFile(spec["progress"])
    try:
        rec = execute(Path(spec["script"]), spec["args"], device=spec["device"],
                      on_graph=save_partial, **options)
    except MemoryError:
        return EXIT_MEMORY
    gc.disable()  # the process ends here: no collector passes over what to_json() makes
    atomic_write(out, rec.to_json().encode())
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1]))
