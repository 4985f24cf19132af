"""Run a script in a child process: in the sandbox, within a time, memory and process cap.

The parent waits for the child process itself, not for the end of its output, so
a helper that holds the pipe cannot stretch the time limit; when the run ends
(finished, timed out, or the parent is being stopped) the sandbox is killed
whole: its PID namespace, and every process left in the run's control group.
Output is streamed and kept within a bound (output.BoundedOutput); the recording
comes back through handback, graph by graph, so a crash keeps every graph made.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from gradviz.recording import ErrorInfo, Recording
from gradviz.runner import cgroup, handback, sandbox
from gradviz.runner.disk import DEFAULT_DISK, DiskWatch
from gradviz.runner.inprocess import read_source
from gradviz.runner.output import BoundedOutput, read_stream
from gradviz.words import N_, both
from gradviz.words import notes as said
from gradviz.words.notes import note

EXIT_OK, EXIT_SCRIPT, EXIT_USAGE, EXIT_TIMEOUT, EXIT_MEMORY = 0, 1, 2, 3, 4
EXIT_HANDBACK = 70  # the child could not write its recording (the script broke its process)
PROCESS_CAP = max(256, 16 * (os.cpu_count() or 1))  # processes and threads of one run together
SANDBOX_ENV = "GRADVIZ_SANDBOX"  # "off": a plain child process, even where bubblewrap runs

NO_SANDBOX = N_("No sandbox here (bubblewrap is not installed or cannot run): scripts run as "
                "a plain child process that can read and write what gradviz can and use the "
                "network. Install bubblewrap (Debian: apt-get install bubblewrap).")
NO_MEMORY_GROUP = N_("No memory control group can be made here: the memory limit counts each "
                     "process's own data only (not shared memory), and helper processes that "
                     "leave their group may outlive the run.")
_said: set[str] = set()


def sandboxed() -> bool:
    """True when runs go through bubblewrap here."""
    return os.environ.get(SANDBOX_ENV, "").lower() != "off" and sandbox.available()


def say_once(msgid: str) -> list[str]:
    """[the English text] the first time this process says it, else []."""
    if msgid in _said:
        return []
    _said.add(msgid)
    return [both(msgid)[0]]


def run_isolated(path: Path, args: list[str], device: str, timeout: float | None,
                 memory_limit: int | None, options: dict, progress: Callable | None = None,
                 writable: list[Path] | tuple = (), output: BoundedOutput | None = None,
                 cwd: Path | None = None, disk_limit: int | None = DEFAULT_DISK,
                 on_start: Callable[[], None] | None = None) -> Recording:
    """Run `path` in a limited child and return its recording, with output and limits explained."""
    path = Path(os.path.abspath(path))
    cwd = Path(os.path.abspath(cwd or os.getcwd()))
    with tempfile.TemporaryDirectory(prefix="gradviz-") as tmp:
        scratch = Path(tmp)
        progress_file = scratch / "progress.jsonl" if progress is not None else None
        spec = {"script": str(path), "args": args, "device": device, "out": str(scratch),
                "memory": memory_limit, "disk": disk_limit, "options": options,
                "progress": str(progress_file) if progress_file else None,
                "deadline": time.time() + timeout if timeout else None}
        (scratch / "spec.json").write_text(json.dumps(spec))
        stop_following = None
        if progress_file is not None:  # made here first: the parent reads its own file
            from gradviz.progress import follow_progress

            progress_file.touch()
            stop_following = follow_progress(progress_file, progress)
        walled = sandboxed()
        notes = [] if walled else say_once(NO_SANDBOX)
        group = cgroup.RunGroup.make(memory_limit, PROCESS_CAP)
        if group is None:
            notes += say_once(NO_MEMORY_GROUP)
        env = sandbox.child_env(scratch, walled)
        safe_path = ["-P"] if sys.version_info >= (3, 11) else []
        cmd = [sys.executable, *safe_path, "-m", "gradviz.runner", str(scratch / "spec.json")]
        if walled:
            cmd = sandbox.wrap(cmd, scratch=scratch, readable=[path, path.parent, cwd, *_named_paths(args, cwd)],
                               writable=list(writable), cwd=cwd, env=env, tmp_size=memory_limit)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if group is not None:  # the process joins the run's groups before it becomes the child
            files = group.procs_files + [""]
            cmd = ["/bin/sh", "-c", 'echo $$ > "$0" && { [ -z "$1" ] || echo $$ > "$1"; } '
                   '&& shift && exec "$@"', files[0], files[1], *cmd]
        output = output if output is not None else BoundedOutput()
        timed_out = False
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
        except OSError as e:
            if group is not None:
                group.remove()
            raise RuntimeError(f"could not start the child process: {e}") from None
        reader = read_stream(proc.stdout, output)
        if on_start is not None:
            on_start()
        watch = DiskWatch(scratch, disk_limit, lambda: _end(proc, group, wait=False)) if disk_limit else None
        try:
            if watch is not None:
                watch.start()
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:  # finished, timed out, or we are being stopped: nothing of the run may stay
            if watch is not None:
                watch.stop()
            _end(proc, group)
            oom = group is not None and group.oom_killed()
            if group is not None:
                group.remove()
            reader.join(timeout=5)
            if stop_following is not None:
                stop_following()
        code = proc.returncode
        if walled and code is not None and code > 128:  # bwrap reports a signal as 128 + its number
            code = -(code - 128)
        rec, read_notes = handback.read_back(scratch)
        stopped_at = _line_when_stopped(scratch / "stack.txt", path) if timed_out else None
    if rec is None:
        rec = Recording()
    rec.script = _printable(rec.script or str(path))
    if rec.device == "cpu":  # (a recording rebuilt from its graphs does not know it)
        rec.device = device
    if rec.source is None:
        try:
            rec.source = read_source(path.read_bytes())
        except OSError:
            pass
    rec.stdout = output.text()
    rec.notes = notes + read_notes + rec.notes
    finished_cleanly = code == 0 and not timed_out
    if watch is not None and watch.exceeded or _says_disk(rec.error):
        rec.error = _limit_error("DiskLimit", f"the script wrote more than {_size(disk_limit)} of files "
                                              "and was stopped",
                                 N_("Write fewer or smaller files (checkpoints, logs, pictures), or "
                                    "delete old ones as you go; the run's folder is capped."))
    elif timed_out:
        rec.error = _limit_error("TimeLimit", f"the script ran longer than {timeout:g} s and was stopped",
                                 N_("Look for a loop that never ends, or give it more time with --timeout."))
        if stopped_at is not None:
            rec.error.line, rec.error.file = stopped_at, str(path)
    elif oom and not finished_cleanly or _says_memory(rec.error):
        rec.error = _memory_error(memory_limit)
    elif code != 0 and (rec.error is None or rec.error.type == "MemoryError"):
        rec.error = _child_death(code, output.tail.decode("utf-8", errors="replace"), memory_limit)
    if rec.error is not None:
        rec.error.file = _printable(rec.error.file)
        if "Read-only file system" in rec.error.message and not rec.error.explanation:
            en, ko = both(N_("The script may write only in its scratch folder (its TMPDIR and HOME) "
                             "and in folders given with --writable; everything else is read-only to it."))
            rec.error.explanation, rec.error.explanation_ko = en, ko
    if rec.error is not None and code not in (0, None) and not timed_out and rec.graphs:
        rec.notes.append(note(said.KEPT_BEFORE_STOP, n=len(rec.graphs)))
    return rec


def _named_paths(args: list[str], cwd: Path) -> list[Path]:
    """Files and folders the script's arguments name (`--image x.p`, `--data=dir`): readable to it."""
    found = []
    for arg in args:
        for part in (arg, arg.partition("=")[2]):
            try:
                p = Path(os.path.abspath(cwd / part)) if part else None
                if p is not None and p.exists():
                    found.append(p if p.is_dir() else p.parent)
            except (OSError, ValueError):
                pass
    return found


_FRAME = re.compile(r'^\s*File "(.*)", line (\d+) in ')


def _line_when_stopped(stack: Path, script: Path) -> int | None:
    """The script's line the run was on when the time ran out, from the child's stack dump
    (most recent call first; the thread that was running is printed first)."""
    try:
        text = stack.read_text(errors="replace")[:200_000]
    except OSError:
        return None
    for line in text.splitlines():
        m = _FRAME.match(line)
        if m and os.path.abspath(m.group(1)) == str(script):
            return int(m.group(2))
    return None


def _printable(name: str | None) -> str | None:
    """A file name as text that any output takes: bytes that are not UTF-8 become U+FFFD."""
    if name is None:
        return None
    return os.fsencode(name).decode("utf-8", errors="replace")


def _end(proc: subprocess.Popen, group: cgroup.RunGroup | None, wait: bool = True) -> None:
    """Kill the run: its process group (the sandbox, or the plain child's group) and its cgroup."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if group is not None:
        group.kill_all()
    if wait:
        proc.wait()


def _says_disk(err: ErrorInfo | None) -> bool:
    return err is not None and "File too large" in err.message


def _size(n: int | None) -> str:
    return "?" if not n else f"{n / 1024**3:.1f} GB" if n >= 1024**3 else f"{n / 1024**2:.0f} MB"


def _says_memory(err: ErrorInfo | None) -> bool:
    return err is not None and (err.type == "MemoryError" or "can't allocate memory" in err.message)


def _limit_error(kind: str, message: str, msgid: str) -> ErrorInfo:
    en, ko = both(msgid)
    return ErrorInfo(type=kind, message=message, explanation=en, explanation_ko=ko)


def _memory_error(memory_limit: int | None) -> ErrorInfo:
    limit = f"{memory_limit / 1024**3:.1f} GB" if memory_limit else "the machine's memory"
    return _limit_error("MemoryLimit", f"the script used more than {limit} and was stopped",
                        N_("Use smaller tensors or fewer iterations, or raise --memory-limit."))


def _child_death(code: int, output_tail: str, memory_limit: int | None) -> ErrorInfo:
    low = output_tail.lower()
    if ("memoryerror" in low or "bad_alloc" in low or "out of memory" in low
            or code == EXIT_MEMORY or code == -signal.SIGKILL):
        return _memory_error(memory_limit)
    if code < 0:
        return _limit_error("Crash", f"the Python interpreter crashed (signal {-code})",
                            N_("The process running the script died without a Python error; "
                               "this happens with native crashes (for example a segmentation fault)."))
    if code == EXIT_HANDBACK:
        return _limit_error("Crash", "the script broke the process it ran in, so its recording "
                                     "could not be handed back",
                            N_("The script changed something Python itself needs (for example a "
                               "module of the standard library); the graphs recorded before are kept."))
    return _limit_error("Crash", f"the script's process exited with code {code}",
                        N_("The script ended its own process (for example with os._exit) before "
                           "gradviz could collect what it recorded."))

