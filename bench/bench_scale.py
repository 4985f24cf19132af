"""Scale benchmark (issue 6): capture cost, render cost and data size, side by side.

    python bench/bench_scale.py                 # the table, as markdown
    python bench/bench_scale.py --quick         # fewer repeats
    python bench/bench_scale.py --update        # also rewrite "## Scale (issue 6)" in RESULTS.md
    python bench/bench_scale.py --capture-only --update   # only the capture table (its subsection)

Everything runs in this one process, on the workloads of bench/workloads.py.
Each time is the best of several runs (the minimum: the run least disturbed by
the rest of the machine), and every target is a ratio between two times taken
here, in the same run: plain PyTorch against gradviz.record(), torchviz against
gradviz's own graph -> SVG. No test asserts a time; tests/test_scale.py checks
the same workloads for what they draw.

Targets (issue 19, besides issue 6's):
  record + settle, explanations included / plain fwd+bwd, every workload  <= 3x
  gradviz SVG (all nodes) / torchviz (make_dot + render), W1-W9            <= 1.0x
  record / plain forward+backward, W8a and W8b                             <= 3x
  W9 (LSTMCell x50), every op drawn                                        < 2 s
  W8b recording: JSON out and back < 1 s, size                             < 20 MB

torchviz and torchlens are timed when importable (bench/others.py): run this with
the benchmark's own environment to see them (bench/RESULTS.md says how to make it).
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import gradviz  # noqa: E402
from gradviz.recording import Recording  # noqa: E402
from gradviz.render.dot import graph_to_dot  # noqa: E402
from gradviz.render.svg import run_dot  # noqa: E402
from others import torchlens_run, torchviz_svg, version  # noqa: E402
from workloads import WORKLOADS, build  # noqa: E402

SECTION = "## Scale (issues 6 and 19)"
CLOCK = {"wall": time.perf_counter, "cpu": time.thread_time}
clock = CLOCK["wall"]  # what best() times with (--clock)


def best(fn: Callable[[], object], repeats: int, budget_s: float = 3.0) -> float:
    """The fastest of `repeats` runs (fewer when one run alone takes long).

    Each run starts from a collected heap (gc.collect() before it, not timed), so
    one run does not pay for the garbage of the one before; the collector stays
    on while it runs, so a run pays for the garbage it makes itself.
    """
    times = []
    start = time.perf_counter()
    for i in range(repeats):
        gc.collect()
        t0 = clock()
        fn()
        times.append(clock() - t0)
        if i >= 1 and time.perf_counter() - start > budget_s:
            break
    return min(times)


def record_once(run: Callable, explain: bool = False) -> Recording:
    with gradviz.record(explain=explain) as rec:
        run()
    return rec


def gradviz_svg(graph, **options) -> float:
    t0 = time.perf_counter()
    run_dot(graph_to_dot(graph, **options), "svg", timeout=120)
    return time.perf_counter() - t0


def gradviz_dot_text(graph, **options) -> float:
    """graph_to_dot alone: the part of a picture that is gradviz's own Python."""
    t0 = time.perf_counter()
    graph_to_dot(graph, **options)
    return time.perf_counter() - t0


def fmt_ms(s: float | None) -> str:
    if s is None:
        return "—"
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.3g} s"


def machine() -> list[str]:
    try:
        dot_v = subprocess.run(["dot", "-V"], capture_output=True, text=True).stderr.strip()
    except OSError:
        dot_v = "dot missing"
    tv, tl = version("torchviz"), version("torchlens")
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return [
        f"- machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"load average {load:.1f} when the run started",
        f"- Python {platform.python_version()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), numpy {np.__version__}, {dot_v}, torchviz {tv}, "
        f"torchlens {tl}",
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats")
    p.add_argument("--only", default="", help="comma list of workloads (default: all)")
    p.add_argument("--no-others", action="store_true", help="no torchlens (it takes minutes)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own)")
    p.add_argument("--update", action="store_true", help=f"rewrite '{SECTION}' in RESULTS.md")
    p.add_argument("--clock", choices=sorted(CLOCK), default="wall",
                   help="cpu: this thread's CPU time, steadier than wall time on a shared machine "
                        "(torch runs one thread with --threads 1, so nothing is missed)")
    p.add_argument("--capture-only", action="store_true",
                   help="only the capture table (no pictures, torchviz or torchlens); with --update "
                        "it rewrites only that table's subsection")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    global clock
    clock = CLOCK[args.clock]
    reps = 3 if args.quick else 7
    keys = [k for k in args.only.split(",") if k] or [w.key for w in WORKLOADS]

    rows = []
    results: dict[str, dict] = {}
    breakdown = {k: phase_times(k, reps) for k in ("W8a", "W8b", "W9")
                 if k in keys and not args.capture_only}
    for w in WORKLOADS:
        if w.key not in keys:
            continue
        torch.manual_seed(0)
        run = build(w.key)
        run()  # warm up: first calls allocate
        record_once(run)
        plain = best(run, reps * 3)
        rec_t = best(lambda: record_once(run), reps)
        settled_t = best(lambda: record_once(run).settle(), reps)
        # the whole cost a learner pays: capture, every summary and every chain-rule text
        explain_t = best(lambda: record_once(run, explain=True).settle(), reps)
        rec = record_once(run)
        g = rec.graph
        text = rec.to_json()
        json_t = best(lambda: Recording.from_json(rec.to_json()), max(2, reps // 2))
        svg_default = (None if args.capture_only
                       else best(lambda: gradviz_svg(g), max(2, reps // 2), budget_s=10))
        r = {"plain": plain, "record": rec_t, "settled": settled_t, "explain": explain_t,
             "nodes": len(g.nodes),
             "steps": len(g.steps), "json_mb": len(text.encode()) / 1e6, "json_s": json_t,
             "svg_default": svg_default}
        results[w.key] = r
        gc.collect()
        print(f"{w.key}: plain {fmt_ms(plain)}, record {fmt_ms(rec_t)} ({rec_t / plain:.2f}x), "
              f"with everything made {fmt_ms(settled_t)} ({settled_t / plain:.2f}x), "
              f"and the texts {fmt_ms(explain_t)} ({explain_t / plain:.2f}x), "
              f"{len(g.nodes)} nodes, svg {fmt_ms(svg_default)}", file=sys.stderr, flush=True)
        rows.append((w, r))

    # render, all nodes shown, against torchviz on the same graphs
    versus = []
    for key in ([] if args.capture_only else results):
        torch.manual_seed(0)
        run = build(key)
        run()
        g = record_once(run).graph
        ours = best(lambda: gradviz_svg(g, budget=0), max(2, reps // 2), budget_s=15)
        ours_text = best(lambda: gradviz_dot_text(g, budget=0), max(2, reps // 2))
        try:
            tv_times = [torchviz_svg(run, timeout=20) for _ in range(max(2, reps // 2) if key != "W9" else 1)]
            tv = None if any(t is None for t in tv_times) else min(tv_times)
            tv_note = "" if tv is not None else "over 20 s (stopped)"
        except ImportError:
            tv, tv_note = None, "torchviz not installed"
        results[key]["svg_full"] = ours
        results[key]["torchviz"] = tv
        versus.append((key, len(g.nodes), ours, ours_text, tv, tv_note))
        print(f"{key}: svg all nodes {fmt_ms(ours)} (DOT text {fmt_ms(ours_text)}), "
              f"torchviz {fmt_ms(tv)} {tv_note}", file=sys.stderr, flush=True)

    # torchlens last: it leaves torch's functions wrapped
    lens = {}
    for key in ([] if args.no_others or args.capture_only else list(results)):
        torch.manual_seed(0)
        run = build(key)
        run()
        once = torchlens_run(run)
        if once is None:
            break
        try:
            once()  # warm up: the first call wraps torch's functions
            lens[key] = best(once, max(2, reps // 3), budget_s=20)
        except Exception as e:  # a workload torchlens cannot trace: the table says so
            lens[key] = f"{type(e).__name__}"
        print(f"{key}: torchlens {lens[key] if isinstance(lens[key], str) else fmt_ms(lens[key])}",
              file=sys.stderr, flush=True)

    shown_args = " ".join(a for a in (argv if argv is not None else sys.argv[1:]) if a != "--update")
    md = [SECTION, "", f"`python bench/bench_scale.py{' ' + shown_args if shown_args else ''}`, "
          f"{time.strftime('%Y-%m-%d')}; best of up to {reps} runs each ({args.clock} time), all in one process.", ""]
    md += machine() + [""]
    capture_at = len(md)
    md += [CAPTURE, "",
           "| workload | nodes | steps | plain fwd+bwd | record() | ratio | record() + settle() | ratio "
           "| + explanations | **ratio** (<= 3x) | JSON | JSON out+in |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for w, r in rows:
        md.append(f"| {w.key} {w.title} | {r['nodes']} | {r['steps']} | {fmt_ms(r['plain'])} | "
                  f"{fmt_ms(r['record'])} | {r['record'] / r['plain']:.2f}x | "
                  f"{fmt_ms(r['settled'])} | {r['settled'] / r['plain']:.2f}x | "
                  f"{fmt_ms(r['explain'])} | **{r['explain'] / r['plain']:.2f}x** | "
                  f"{r['json_mb']:.2f} MB | {fmt_ms(r['json_s'])} |")
    md += ["", "### Rendering: graph -> SVG", "",
           "Default picture (budget 300, collapsed when bigger) for every workload; all nodes "
           "shown (`budget=0`) against torchviz `make_dot(..., show_attrs=True, show_saved=True)` "
           "plus its render, on the same graph. DOT text: gradviz's own Python (graph_to_dot) "
           "inside the all-nodes time; the rest is the `dot` process.", "",
           "| workload | nodes | default picture | all nodes | of it DOT text | torchviz | ratio (<= 1.0x) |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for key, n, ours, ours_text, tv, note in versus:
        ratio = f"**{ours / tv:.2f}x**" if tv else "—"
        md.append(f"| {key} | {n} | {fmt_ms(results[key]['svg_default'])} | {fmt_ms(ours)} | "
                  f"{fmt_ms(ours_text)} | {fmt_ms(tv) if tv else note} | {ratio} |")
    if lens:
        md += ["", "### Beside torchlens: forward and backward capture with a picture", "",
               "torchlens `trace()` + `log_backward()` + `draw()` (SVG) against gradviz "
               "record() + settle() with explanations + the default SVG, both against plain "
               "forward+backward.", "",
               "| workload | plain | gradviz (capture, texts, picture) | ratio | torchlens | ratio |",
               "|---|---:|---:|---:|---:|---:|"]
        for key, t in lens.items():
            r = results[key]
            ours = r["explain"] + r["svg_default"]
            theirs = (f"{fmt_ms(t)} | {t / r['plain']:.0f}x" if not isinstance(t, str)
                      else f"failed ({t}) | —")
            md.append(f"| {key} | {fmt_ms(r['plain'])} | {fmt_ms(ours)} | "
                      f"{ours / r['plain']:.1f}x | {theirs} |")
    if breakdown:
        md += ["", "### Where record() spends its time (best run, all phases timed in the same run)",
               "", "| workload | " + " | ".join(PHASES) + " | rest (forward log, bookkeeping) |",
               "|---|" + "---:|" * (len(PHASES) + 1)]
        for key, b in breakdown.items():
            rest = b["total"] - sum(b[p] for p in PHASES)
            md.append(f"| {key} | " + " | ".join(fmt_ms(b[p]) for p in PHASES)
                      + f" | {fmt_ms(rest)} |")
    md += ["", "### Targets", ""]
    md += _targets(results)
    md += ["", "Notes:", "",
           "- record() and record() + settle() are timed with explain=False; '+ explanations' "
           "is record(explain=True) + settle(): capture, every summary and both languages' "
           "chain-rule texts for every step, the whole cost of a recording a learner reads.",
           "- record() is the cost the user's code pays: the `with gradviz.record()` block. "
           "It keeps what the code may change later (parameter values, .grad, saved "
           "attributes) and references to what nothing changes (op outputs, the gradients the "
           "hooks saw); the Graph objects, backward steps and summaries (min/max/mean/norm) are "
           "made when first read. record() + settle() makes all of them at once: the whole cost "
           "of a recording that is looked at in full.",
           "- The table of phases: trace = the grad_fn walk before the backward, with the "
           "copies (capture/graph.py); hooks = registering step hooks (capture/backward.py); "
           "take_grads = copying .grad after the backward; timeline = the iteration log "
           "(capture/training.py); rest = the forward op log, the backward itself with its "
           "hooks, and the recorder. It comes from runs of its own, with a timer around each "
           "phase: its total is a little above the record() column.",
           "- Each recording is dropped before the next run. Before commit 9275da8 a recording "
           "dropped unread was never freed (the step hooks held their own nodes: a reference "
           "cycle through autograd that Python's collector cannot see), so every W8a run paged "
           "in about 17 MB of fresh memory: W8a read 3.37x then, and 2.6-2.7x since.",
           "- torch runs with the threads given by --threads (1 here): on a shared 2-core machine "
           "two OpenMP threads make the plain baseline jump by 10x from run to run."]
    text = "\n".join(md) + "\n"
    if args.capture_only:  # its own run line and machine, above the table it replaces
        table = md[capture_at:md.index("### Rendering: graph -> SVG", capture_at)]
        text = "\n".join([table[0], "", *md[2:capture_at - 1], "", *table[2:]]).rstrip("\n") + "\n"
        print(text)
        if args.update:
            update_subsection(HERE / "RESULTS.md", CAPTURE, text)
        return 0
    print(text)
    if args.update:
        update_results(HERE / "RESULTS.md", text)
    return 0


CAPTURE = "### Capture: gradviz.record() against plain forward+backward"


def update_subsection(path: str | Path, heading: str, text: str) -> None:
    """Replace the subsection under `heading` (up to the next ### or ## heading) in RESULTS.md."""
    path = Path(path)
    old = path.read_text()
    pattern = re.compile(re.escape(heading) + r".*?(?=^### |^## |\Z)", re.S | re.M)
    if not pattern.search(old):
        raise SystemExit(f"{heading!r} not found in {path}: run without --capture-only first")
    path.write_text(pattern.sub(lambda _: text.rstrip("\n") + "\n\n", old, count=1))


PHASES = ("trace", "hooks", "take_grads", "timeline")


def phase_times(key: str, reps: int) -> dict[str, float]:
    """Time the parts of one record() (the best of `reps` runs, by total)."""
    from gradviz.capture import backward as B, graph as G, recorder as R, timeline as T

    acc: dict[str, float] = {}

    def wrap(owner, name, label):
        f = getattr(owner, name)

        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                acc[label] = acc.get(label, 0.0) + time.perf_counter() - t0
        setattr(owner, name, timed)
        return owner, name, f

    patched = [wrap(R, "trace", "trace"), wrap(B.StepWatcher, "__enter__", "hooks"),
               wrap(G.LiveGraph, "take_grads", "take_grads")]
    for m in ("after_backward", "close", "begin", "step"):
        if hasattr(T.Timeline, m):
            patched.append(wrap(T.Timeline, m, "timeline"))
    try:
        torch.manual_seed(0)
        run = build(key)
        run()
        record_once(run)  # warm up, as the main table does
        best_run: dict[str, float] | None = None
        for _ in range(reps):
            gc.collect()  # as best() does: each run starts from a collected heap
            acc.clear()
            t0 = time.perf_counter()
            record_once(run)
            total = time.perf_counter() - t0
            if best_run is None or total < best_run["total"]:
                best_run = {**{p: acc.get(p, 0.0) for p in PHASES}, "total": total}
        return best_run or {}
    finally:
        for owner, name, f in patched:
            setattr(owner, name, f)


def _targets(r: dict) -> list[str]:
    out = ["| target | measured | met |", "|---|---:|:---:|"]

    def row(name: str, value: str, ok: bool | None) -> None:
        out.append(f"| {name} | {value} | {'yes' if ok else ('no' if ok is not None else '—')} |")

    for key, x in r.items():
        whole = x["explain"] / x["plain"]
        row(f"{key} record + settle + explanations <= 3x plain", f"{whole:.2f}x", whole <= 3)
    for key, x in r.items():
        if x.get("torchviz"):
            ratio = x["svg_full"] / x["torchviz"]
            row(f"{key} SVG, all nodes, <= 1.0x torchviz", f"{ratio:.2f}x", ratio <= 1.0)
    for key in ("W8a", "W8b"):
        if key in r:
            x = r[key]["record"] / r[key]["plain"]
            row(f"record {key} <= 3x plain", f"{x:.2f}x", x <= 3)
    if "W8a" in r and r["W8a"].get("torchviz"):
        x = r["W8a"]["svg_full"] / r["W8a"]["torchviz"]
        row("W8a SVG, all nodes, <= 0.5x torchviz", f"{x:.2f}x", x <= 0.5)
    if "W9" in r and "svg_full" in r["W9"]:
        t = r["W9"]["svg_full"]
        row("W9 every op drawn < 2 s", fmt_ms(t), t < 2)
    if "W8b" in r:
        row("W8b JSON out and back < 1 s", fmt_ms(r["W8b"]["json_s"]), r["W8b"]["json_s"] < 1)
        row("W8b JSON < 20 MB", f"{r['W8b']['json_mb']:.2f} MB", r["W8b"]["json_mb"] < 20)
    return out


def update_results(path: Path, section: str) -> None:
    """Replace (or add) our section of RESULTS.md; other sections stay as they are."""
    old = path.read_text() if path.exists() else ""
    pattern = re.compile(re.escape(SECTION) + r".*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _: section.rstrip("\n") + "\n\n", old, count=1)
    else:
        new = (old.rstrip("\n") + "\n\n" if old.strip() else "") + section
    path.write_text(new.rstrip("\n") + "\n")


if __name__ == "__main__":
    sys.exit(main())
