"""The run's disk cap: what the script writes in its scratch folder, watched while it runs.

Nothing else on the machine is writable to a sandboxed script except folders the user
named with --writable, and its /tmp and /dev/shm are memory (counted by the memory
cap). The scratch folder is a real folder, so a loop that writes files could fill the
server's disk. Two walls: every file the child writes is at most `limit` bytes
(RLIMIT_FSIZE, set by the child on itself and inherited by whatever it starts, in
--writable folders too), and a watcher sums the scratch folder a few times a second
and stops the run when it holds more than `limit` bytes or too many files.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

DEFAULT_DISK = 2 * 1024**3
MAX_FILES = 100_000  # a flood of empty files fills a disk's inodes, not its bytes
POLL_S = 0.25


def usage(folder: Path, stop_at_files: int = MAX_FILES) -> tuple[int, int]:
    """(bytes on disk, files) under `folder`; stops counting once `stop_at_files` is passed."""
    size = files = 0
    stack = [str(folder)]
    while stack and files <= stop_at_files:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    files += 1
                    if files > stop_at_files:
                        break
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        else:
                            size += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        pass
        except OSError:
            pass
    return size, files


class DiskWatch:
    """Calls `stop()` once when `folder` holds more than `limit` bytes or MAX_FILES files."""

    def __init__(self, folder: Path, limit: int, stop: Callable[[], None]) -> None:
        self.folder, self.limit, self._stop_run = folder, limit, stop
        self.exceeded = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="gradviz-disk", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._done.wait(POLL_S):
            size, files = usage(self.folder)
            if size > self.limit or files > MAX_FILES:
                self.exceeded = True
                self._stop_run()
                return
