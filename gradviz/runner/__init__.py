"""Run a user's script under capture: in this process, or in a limited child in a sandbox.

    inprocess.py  execute(): the script as __main__ under gradviz.record(), its errors as data
    isolated.py   run_isolated(): a child process within time, memory and process caps
    sandbox.py    the bubblewrap walls: no network, own PID namespace, read-only files, clean env
    cgroup.py     the run's control group: memory (shared memory too) and process caps
    disk.py       the run's disk cap: the size of any file it writes, and its scratch folder's total
    output.py     the script's output, streamed, with its head and tail kept
    handback.py   the recording from child to parent, graph by graph, read without trust
    child.py      the child's side (`python -m gradviz.runner SPEC`)
    __main__.py   `python -m gradviz.runner SPEC`: calls child.run
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from gradviz.recording import Recording
from gradviz.runner.inprocess import (DeviceError, available_devices, check_device, execute,
                                      lesson_total, script_error)
from gradviz.runner.disk import DEFAULT_DISK

if TYPE_CHECKING:
    from gradviz.runner.output import BoundedOutput

# the parent's side (isolated.py: the sandbox, the control group) is imported when first asked for,
# so the child (`python -m gradviz.runner`, which imports this package first) does without it
_ISOLATED = ("EXIT_OK", "EXIT_SCRIPT", "EXIT_USAGE", "EXIT_TIMEOUT", "EXIT_MEMORY", "run_isolated", "sandboxed")


def __getattr__(name: str) -> Any:
    if name in _ISOLATED:
        from gradviz.runner import isolated

        return getattr(isolated, name)
    raise AttributeError(f"module 'gradviz.runner' has no attribute {name!r}")

__all__ = ["run_script", "execute", "script_error", "lesson_total", "available_devices",
           "check_device", "DeviceError", "sandboxed", "EXIT_OK", "EXIT_SCRIPT", "EXIT_USAGE",
           "EXIT_TIMEOUT", "EXIT_MEMORY", "DEFAULT_TIMEOUT", "DEFAULT_MEMORY", "DEFAULT_DISK"]

DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY = 4 * 1024**3


def run_script(
    path: str | os.PathLike,
    args: list[str] | tuple[str, ...] = (),
    *,
    device: str = "cpu",
    isolate: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    memory_limit: int | None = DEFAULT_MEMORY,
    capture_output: bool = False,
    writable: list[str | os.PathLike] | tuple = (),
    output: BoundedOutput | None = None,
    disk_limit: int | None = DEFAULT_DISK,
    on_start: Callable[[], None] | None = None,
    **record_options: Any,
) -> Recording:
    """Run the script at `path` as `__main__` and return what it did.

    `isolate=True` runs it in a sandboxed child with `timeout` seconds and
    `memory_limit` bytes; the folders in `writable` are the only ones it may
    write besides its scratch folder (which may hold `disk_limit` bytes, and no file
    anywhere may be bigger); its output (stdout and stderr
    together) goes to `output` as it comes (a BoundedOutput whose on_head may show it
    live), and its head and tail are in `rec.stdout`
    (`capture_output` is accepted for older callers); `on_start()` is called once the
    child is started (the parent may then do its own work while it waits). Otherwise it runs here
    (for notebooks and tests).
    """
    del capture_output
    if isolate:
        from gradviz.runner.isolated import run_isolated

        progress = record_options.pop("progress", None)  # a callback: it stays in this process
        return run_isolated(Path(path), list(args), device, timeout, memory_limit, record_options,
                            progress, writable=[Path(w) for w in writable], output=output,
                            disk_limit=disk_limit, on_start=on_start)
    return execute(Path(path), list(args), device=device, **record_options)
