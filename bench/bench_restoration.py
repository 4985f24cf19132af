"""Lesson 10 (image restoration, 20000 iterations): plain `python` against `gradviz render`.

    python bench/bench_restoration.py            # 3 pairs, alternating
    python bench/bench_restoration.py --pairs 5 --iterations 2000

Each pair runs the plain script, then `gradviz render SCRIPT -f json -o TMP`
(or the other way round, alternating), each as its own process. Reported:
wall time (median and best), CPU time, the ratio render / plain, the loss of
the last iteration in both (the plain run's `loss` variable, read through
runpy after the script ends; the render's from the JSON) and their
difference, and the peak memory (ru_maxrss from wait4: for `gradviz render`
the larger of the CLI and its child). Not a timed test: one machine's ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "gradviz" / "lessons" / "10_image_restoration.py"

# The plain run: the script as __main__ (what `python SCRIPT` does), then one line with
# the last iteration's loss at full precision.
PLAIN = ("import runpy, sys; p = sys.argv[1]; sys.argv = sys.argv[1:]; "
         "ns = runpy.run_path(p, run_name='__main__'); "
         "print('BENCH_LAST_LOSS', repr(float(ns['loss'].item())))")


def run(cmd: list[str]) -> dict:
    """One process: wall and CPU seconds, peak memory (MB), its output."""
    out = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                            env={**os.environ, "PYTHONHASHSEED": "0"})
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    text = out.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{text[-3000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024, "text": text}


def plain(iterations: int | None) -> dict:
    args = ["--iterations", str(iterations)] if iterations else []
    r = run([sys.executable, "-c", PLAIN, str(SCRIPT), *args])
    line = next(l for l in r["text"].splitlines() if l.startswith("BENCH_LAST_LOSS"))
    r["last_loss"] = float(line.split()[1])
    r["final_line"] = next((l for l in r["text"].splitlines() if l.startswith("final loss")), "")
    return r


def render(iterations: int | None, tmp: Path) -> dict:
    args = ["--", "--iterations", str(iterations)] if iterations else []
    r = run([sys.executable, "-m", "gradviz", "render", str(SCRIPT), "-f", "json", "-o", str(tmp),
             "--timeout", "900", *args])
    rec = json.loads((tmp / f"{SCRIPT.stem}.json").read_text())
    its = rec["iterations"]
    r["last_loss"] = its[-1]["loss"]
    r["iterations"] = len(its)
    r["graphs"] = len(rec["graphs"])
    r["snapshots"] = sum(1 for it in its if it.get("snapshot"))
    r["pitfalls"] = [(p["kind"], p.get("iteration")) for p in rec["pitfalls"]]
    r["json_mb"] = (tmp / f"{SCRIPT.stem}.json").stat().st_size / 1e6
    r["final_line"] = next((l for l in r["text"].splitlines() if l.startswith("final loss")), "")
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=None, help="default: the script's 20000")
    args = ap.parse_args()
    import torch  # only for the versions line

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"python {platform.python_version()}, torch {torch.__version__}")
    import compileall  # gradviz's bytecode, as pip leaves it (see bench_lessons.compiled)

    compileall.compile_dir(str(ROOT / "gradviz"), quiet=1)
    plains, renders = [], []
    with tempfile.TemporaryDirectory(prefix="gv-bench-") as tmp:
        for i in range(args.pairs):
            order = ("plain", "render") if i % 2 == 0 else ("render", "plain")
            for which in order:
                if which == "plain":
                    r = plain(args.iterations)
                    plains.append(r)
                else:
                    r = render(args.iterations, Path(tmp))
                    renders.append(r)
                print(f"  pair {i + 1} {which:6s} wall {r['wall']:6.2f} s  cpu {r['cpu']:6.2f} s  "
                      f"peak {r['rss_mb']:6.0f} MB", flush=True)

    def med(rs, k):
        return statistics.median(r[k] for r in rs)

    ratio_med = med(renders, "wall") / med(plains, "wall")
    ratio_best = min(r["wall"] for r in renders) / min(r["wall"] for r in plains)
    ratio_cpu = med(renders, "cpu") / med(plains, "cpu")
    loss_p, loss_r = plains[-1]["last_loss"], renders[-1]["last_loss"]
    extra = max(r["rss_mb"] for r in renders) - max(r["rss_mb"] for r in plains)
    last = renders[-1]
    print()
    print(f"plain : median {med(plains, 'wall'):.2f} s wall, {med(plains, 'cpu'):.2f} s cpu, "
          f"peak {max(r['rss_mb'] for r in plains):.0f} MB")
    print(f"render: median {med(renders, 'wall'):.2f} s wall, {med(renders, 'cpu'):.2f} s cpu, "
          f"peak {max(r['rss_mb'] for r in renders):.0f} MB")
    print(f"ratio render/plain: {ratio_med:.3f} (median wall), {ratio_best:.3f} (best wall), "
          f"{ratio_cpu:.3f} (median cpu)")
    print(f"last-iteration loss: plain {loss_p!r}, render {loss_r!r}, difference {abs(loss_p - loss_r):.3g}")
    print(f"printed: plain '{plains[-1]['final_line']}', render '{last['final_line']}'")
    print(f"extra peak memory: {extra:.0f} MB")
    print(f"recording: {last['iterations']} iterations, {last['snapshots']} snapshots, "
          f"{last['graphs']} graphs, JSON {last['json_mb']:.1f} MB, pitfalls {last['pitfalls']}")
    ok = ratio_med <= 1.05 and abs(loss_p - loss_r) <= 1e-6 and extra <= 200  # (issue 19: 1.05x)
    print("targets (<= 1.05x by median, loss within 1e-6, <= 200 MB extra):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
