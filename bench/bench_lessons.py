"""Whole lessons: `gradviz render -f json,html` against plain `python`, per lesson.

    python bench/bench_lessons.py                  # every lesson, its default arguments, best of 3
    python bench/bench_lessons.py 1 8 9 --runs 5   # these lessons, best of 5
    python bench/bench_lessons.py --quick           # each lesson's quick arguments (as the tests run)

Per lesson, two commands run alternately, each its own process, from the same
folder: `python LESSON.py ARGS` and `python -m gradviz render --lesson N -f json,html
-o TMP --no-progress ARGS`. The time is the process's wall time, start-up
included (both pay Python's and torch's start; gradviz's bytecode is compiled first, as
pip does on install). Target (issue 19): render at most
1.25x plain on every lesson. Alternating runs and taking the best of each keeps the
ratio honest on a shared machine; the load average is printed beside it.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = 1.25


def timed(cmd: list[str], cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.decode(errors='replace')[-500:]}")
    return took


def compiled() -> None:
    """gradviz's bytecode, as an installed package has it (pip compiles it): without it each
    render process compiles ~60 modules (0.1-0.2 s, twice: the CLI and its runner) when
    PYTHONDONTWRITEBYTECODE is set, a cost no learner pays. torch's is there already."""
    import compileall

    compileall.compile_dir(str(ROOT / "gradviz"), quiet=1)


def main(argv: list[str] | None = None) -> int:
    from gradviz.lessons import LESSONS

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("lessons", nargs="*", type=int, help="lesson numbers (default: all)")
    p.add_argument("--runs", type=int, default=3, help="runs of each command (best counts)")
    p.add_argument("--quick", action="store_true", help="the lessons' quick arguments")
    args = p.parse_args(argv)
    chosen = [l for l in LESSONS if not args.lessons or l.number in args.lessons]
    compiled()
    print(f"{time.strftime('%Y-%m-%d %H:%M')}; load average {os.getloadavg()[0]:.1f} at start; "
          f"best of {args.runs} alternating runs; {'quick' if args.quick else 'default'} arguments")
    print("| lesson | plain python | gradviz render -f json,html | ratio (<= 1.25x) |")
    print("|---|---:|---:|---:|")
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-lessons-") as tmp:
        for lesson in chosen:
            extra = list(lesson.quick_args) if args.quick else []
            plain_cmd = [sys.executable, str(lesson.path), *extra]
            render_cmd = [sys.executable, "-m", "gradviz", "render", "--lesson", str(lesson.number),
                          "-f", "json,html", "-o", tmp, "--no-progress", *(["--", *extra] if extra else [])]
            plain, render = [], []
            for _ in range(args.runs):
                plain.append(timed(plain_cmd, Path(tmp)))
                render.append(timed(render_cmd, Path(tmp)))
            ratio = min(render) / min(plain)
            ok &= ratio <= TARGET
            print(f"| {lesson.number} {lesson.id} | {min(plain):.2f} s | {min(render):.2f} s | "
                  f"**{ratio:.2f}x** |", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end; every lesson within {TARGET}x:",
          "yes" if ok else "no")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
