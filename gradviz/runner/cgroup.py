"""A control group per run: a memory cap that counts every page the code maps, and a process cap.

Why a cgroup and not only an rlimit: RLIMIT_DATA does not count MAP_SHARED pages,
so `mmap.mmap(-1, 1.5 GiB)` walks past it; the memory controller charges every
page a process touches (heap, shared memory, tmpfs files) to its group, for all
processes of the run together, and the kernel stops the group exactly at the cap.
The pids controller caps processes and threads (a fork bomb stops there).

cgroup v2 (`memory.max`, `pids.max`) and v1 (`memory.limit_in_bytes`, `pids.max`)
are both read; the group is made under this process's own group, so a server in
a container uses the part of the hierarchy it was given. `RunGroup.make` returns
None where no writable memory controller exists (the runner then says so).
"""
from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_groups() -> dict[str, str]:
    """controller name ('' for v2) -> this process's group path, from /proc/self/cgroup."""
    out: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            for name in parts[1].split(",") if parts[1] else [""]:
                out[name] = parts[2]
    return out


def _writable_dir(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


def _v2_base() -> Path | None:
    """Where this process's v2 group lives, when it can hold a child with memory and pids."""
    own = _own_groups().get("")
    if own is None:
        return None
    for mount in (ROOT, ROOT / "unified"):
        if not (mount / "cgroup.controllers").exists():
            continue
        base = mount / own.lstrip("/")
        try:
            enabled = (base / "cgroup.subtree_control").read_text().split()
        except OSError:
            continue
        if "memory" in enabled and _writable_dir(base):
            return base
    return None


def _v1_base(controller: str) -> Path | None:
    own = _own_groups().get(controller)
    if own is None:
        return None
    base = ROOT / controller / own.lstrip("/")
    return base if _writable_dir(base) and (base / "cgroup.procs").exists() else None


class RunGroup:
    """The groups one run's processes live in (one per v1 controller, or one v2 group)."""

    def __init__(self, dirs: list[Path], version: int, memory: int | None):
        self.dirs = dirs
        self.version = version
        self.memory = memory

    @classmethod
    def make(cls, memory: int | None, pids: int | None) -> "RunGroup | None":
        """A fresh group with these caps, or None when no memory controller can be written."""
        name = f"gradviz-{uuid.uuid4().hex[:12]}"
        made: RunGroup | None = None
        try:
            base = _v2_base()
            if base is not None:
                _sweep(base)
                group = base / name
                group.mkdir()
                made = cls([group], 2, memory)
                if memory:
                    (group / "memory.max").write_text(str(memory))
                    _try_write(group / "memory.swap.max", "0")
                if pids and (group / "pids.max").exists():
                    (group / "pids.max").write_text(str(pids))
                return made
            mem_base = _v1_base("memory")
            if mem_base is None:
                return None
            pid_base = _v1_base("pids")
            for b in (mem_base, pid_base):
                if b is not None:
                    _sweep(b)
            dirs = [mem_base / name]
            dirs[0].mkdir()
            made = cls(dirs, 1, memory)
            if memory:
                (dirs[0] / "memory.limit_in_bytes").write_text(str(memory))
                _try_write(dirs[0] / "memory.memsw.limit_in_bytes", str(memory))
            if pids and pid_base is not None:
                dirs.append(pid_base / name)
                dirs[1].mkdir()
                (dirs[1] / "pids.max").write_text(str(pids))
            return made
        except OSError:
            if made is not None:
                made.remove()
            return None

    @property
    def procs_files(self) -> list[str]:
        """Where a process writes its pid to join every group of the run."""
        return [str(d / "cgroup.procs") for d in self.dirs]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for d in self.dirs:
            try:
                found |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                pass
        return found

    def oom_killed(self) -> bool:
        """True when the kernel killed a process of this run for passing the memory cap."""
        d = self.dirs[0]
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (d / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            pass
        if self.version == 1:  # kernels without the oom_kill line: the cap was hit
            try:
                return int((d / "memory.failcnt").read_text()) > 0 and self.memory is not None
            except (OSError, ValueError):
                return False
        return False

    def peak(self) -> int | None:
        """The most memory the run's processes held together, in bytes (when the kernel says)."""
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((self.dirs[0] / name).read_text())
        except (OSError, ValueError):
            return None

    def kill_all(self) -> None:
        """SIGKILL every process left in the run's groups (a helper that hid from its parent too)."""
        for _ in range(250):
            left = self.pids()
            if not left:
                return
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        """Kill what is left and remove the groups (a group still busy is swept by a later run)."""
        self.kill_all()
        for d in reversed(self.dirs):
            _rmdir(d, tries=100)


def _rmdir(d: Path, tries: int) -> bool:
    for _ in range(tries):
        try:
            d.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:  # busy until the last process has exited
            time.sleep(0.02)
    return False


def _sweep(base: Path) -> None:
    """Remove empty groups of earlier runs that could not be removed then (older than a minute)."""
    try:
        old = [d for d in base.glob("gradviz-*") if time.time() - d.stat().st_mtime > 60]
    except OSError:
        return
    for d in old:
        try:
            if not (d / "cgroup.procs").read_text().strip():
                _rmdir(d, tries=1)
        except OSError:
            pass


def _try_write(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except OSError:
        pass
