"""The walls around a user's script: bubblewrap (`bwrap`), a well-kept tool, not home-made ones.

Inside, the script sees: no network (its own empty network namespace), only its
own processes (its own PID namespace, so it can neither see nor signal the
server, and /proc shows only the sandbox), a read-only file system made of what
Python, torch and gradviz need plus the script's folder and the current folder,
one writable scratch folder (the run's own temporary folder) and a private /tmp,
and a clean environment (`child_env`). No capabilities, no new privileges, a new
session (no terminal to type into). `--die-with-parent` and the PID namespace
make every descendant die with the run: when the script's process ends, or the
runner kills bwrap, the kernel kills everything else inside.

`available()` probes once per process whether bwrap runs here; where it does not,
the runner falls back to a plain child process and says so once.
"""
from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

# environment variables passed through when set: how many threads, which GPU
PASSED_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES",
              "PYTHONHASHSEED", "TZ")
# what of /etc a Python program needs: the loader's cache, users and groups, time zone, fonts
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "passwd", "group",
       "nsswitch.conf", "fonts", "alternatives", "mime.types", "os-release", "ssl/certs")
GPU_DEVICES = ("/dev/nvidia*", "/dev/kfd", "/dev/dri", "/dev/dxg")


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """True when bubblewrap is installed and can make its namespaces here (probed once)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    try:
        probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid",
                                "--die-with-parent", "--cap-drop", "ALL", "--", "/bin/true"],
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def gradviz_root() -> Path:
    """The folder that holds the `gradviz` package the server runs (the child imports the same)."""
    return Path(__file__).resolve().parents[2]


def python_paths() -> list[Path]:
    """Folders the interpreter, its standard library and its site-packages live in."""
    found = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
             Path(os.path.realpath(sys.executable)).parent.parent}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            found.add(Path(p))
    return sorted(p for p in found if p.exists())


def extra_import_paths() -> list[Path]:
    """PYTHONPATH folders the server was given (the script may import from them as plain python would)."""
    return [Path(p).resolve() for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
            if p and Path(p).is_dir()]


def child_env(scratch: Path, sandboxed: bool) -> dict[str, str]:
    """The child's whole environment: no secrets of the server, only what Python and torch need."""
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    tmp = "/tmp" if sandboxed else str(scratch)
    paths = [str(gradviz_root())] + [str(p) for p in extra_import_paths() if p != gradviz_root()]
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home), "TMPDIR": tmp, "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
        "PYTHONPATH": os.pathsep.join(paths), "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1", "MPLCONFIGDIR": f"{tmp}/matplotlib", "MPLBACKEND": "Agg",
    }
    env.update({k: os.environ[k] for k in PASSED_ENV if k in os.environ})
    return env


def _system_binds() -> list[str]:
    args: list[str] = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        p = Path(top)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), top]
        elif p.is_dir():
            args += ["--ro-bind", top, top]
    for name in ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


PRIVATE = ("/tmp", "/dev/shm", "/dev", "/proc")  # the sandbox's own: never the machine's, read-only


def wrap(cmd: list[str], *, scratch: Path, readable: list[Path], writable: list[Path],
         cwd: Path, env: dict[str, str], tmp_size: int | None) -> list[str]:
    """`cmd` run inside bubblewrap with the walls described above."""
    args = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--hostname", "gradviz", "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += _system_binds()
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += (["--size", str(tmp_size)] if tmp_size else []) + ["--tmpfs", "/dev/shm"]
    args += (["--size", str(tmp_size)] if tmp_size else []) + ["--tmpfs", "/tmp"]
    gpu = [d for pattern in GPU_DEVICES for d in glob.glob(pattern)]
    for dev in gpu:
        args += ["--dev-bind", dev, dev]
    if gpu:
        args += ["--ro-bind-try", "/sys", "/sys"]
    binds: dict[Path, str] = {}
    for p in [*python_paths(), gradviz_root() / "gradviz", *extra_import_paths(), *readable]:
        binds.setdefault(Path(os.path.realpath(p)), "--ro-bind-try")
    for p in [scratch, *writable]:
        binds[Path(os.path.realpath(p))] = "--bind"
    for path in sorted(binds, key=lambda p: len(p.parts)):  # a folder before what is inside it
        if str(path) in ("/", "/usr"):
            continue  # never the whole machine; /usr is bound above
        if str(path) in PRIVATE and binds[path] != "--bind":
            continue  # a script run from /tmp reads its own file (bound alone), not the machine's /tmp
        args += [binds[path], str(path), str(path)]
    args += ["--chdir", str(cwd), "--"]
    return args + cmd
