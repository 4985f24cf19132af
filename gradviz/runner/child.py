"""The child's side of an isolated run: limits it sets on itself, the script, the hand-back.

Runs as `python -m gradviz.runner SPEC` (inside the sandbox when there is one).
Whatever the script does to its own process, the child ends with a short line
on stderr and an exit status the parent explains, never a traceback of gradviz.
"""
from __future__ import annotations

import faulthandler
import gc
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

EXIT_MEMORY, EXIT_HANDBACK = 4, 70


def _die_with_parent() -> None:
    """Linux: ask the kernel to kill this child when its parent goes away."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _limit_self(memory: int | None, disk: int | None = None) -> None:
    """Per-process limits: data (the control group counts the rest), the size of any one file
    written (runner/disk.py watches the total), no core files."""
    import resource

    if memory:
        resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    if disk:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the cap fails (OSError), no kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (disk, disk))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _stack_before_deadline(deadline: float | None, out: Path) -> None:
    """Just before the parent's time limit, write where every thread is (faulthandler's watchdog
    is a C thread: it writes even while the script spins in a loop that never releases the GIL)."""
    if deadline is None:
        return
    try:
        stream = (out / "stack.txt").open("w")
    except OSError:
        return
    faulthandler.dump_traceback_later(max(0.05, deadline - time.time() - STACK_MARGIN),
                                      file=stream, exit=False)


STACK_MARGIN = 0.3  # seconds before the deadline


def main(spec_path: str) -> int:
    _die_with_parent()
    spec = json.loads(Path(spec_path).read_text())
    _limit_self(spec.get("memory"), spec.get("disk"))
    _stack_before_deadline(spec.get("deadline"), Path(spec["out"]))

    from gradviz.runner.handback import HandBack
    from gradviz.runner.inprocess import execute

    back = HandBack(spec["out"])
    options: dict[str, Any] = dict(spec.get("options", {}))
    if spec.get("progress"):
        from gradviz.progress import ProgressFile

        options["progress"] = ProgressFile(spec["progress"])
    saved_json = dict(vars(json))  # a script that breaks json must not break the hand-back
    try:
        rec = execute(Path(spec["script"]), spec["args"], device=spec["device"],
                      on_graph=back.graph, **options)
    except MemoryError:
        return EXIT_MEMORY
    faulthandler.cancel_dump_traceback_later()
    gc.disable()  # the process ends here: no collector passes over what to_json() makes
    vars(json).update(saved_json)
    try:
        back.finish(rec)
    except MemoryError:
        return EXIT_MEMORY
    except BaseException as e:  # the script broke something the hand-back needs
        try:
            os.write(2, f"gradviz: could not hand back the recording ({type(e).__name__})\n".encode())
        except OSError:
            pass
        return EXIT_HANDBACK
    return 0


def run(spec_path: str) -> None:
    """Exit with main()'s status, flushing nothing the script may have broken."""
    code = main(spec_path)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(code)
