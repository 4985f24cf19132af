"""How long one step click costs the app's server, per lesson.

    python bench/bench_app_steps.py            # lessons 1, 2, 5, 6, 10 (quick), 11
    python bench/bench_app_steps.py 1 5        # only these lesson numbers

For each lesson the recording is made first (not timed: st.cache_data keeps it),
then the page is opened in streamlit.testing's AppTest and "Next" is clicked
through the steps. Three figures per lesson, in milliseconds:

  fragment  the stepper fragment alone after a click: what the real server reruns
         on a step click (st.fragment), the step's picture drawn ahead in the
         background (what a learner gets after reading a step for a moment)
  warm   one full page rerun after the same click (AppTest reruns the whole script)
  cold   the same with the picture cache emptied and drawing ahead turned off:
         the click waits for `dot`
  render the picture alone: Graph.svg(step=k) through dot (cold) vs the cache (hit)

The budget is 150 ms for `fragment`; `warm` is an upper bound (sidebar, charts
and tables included). Run it on an
otherwise idle machine: other processes' load shows up in every figure.
"""
from __future__ import annotations

import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from gradviz.lessons import LESSONS  # noqa: E402
from gradviz.ui import graphs, runs  # noqa: E402
from gradviz.ui.graphs import DisplayOptions  # noqa: E402
from gradviz.ui.restoration_view import is_restoration  # noqa: E402

MAX_CLICKS = 8
BUDGET_MS = 150


def _quiet() -> None:
    for name in ("streamlit", "streamlit.runtime.scriptrunner_utils.script_run_context",
                 "streamlit.runtime.caching.cache_data_api"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _open(lesson) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state["gv_topic"] = lesson.group
    at.session_state[f"gv_lesson|{lesson.group}"] = lesson.id
    at.session_state["gv_quick"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _settle(timeout: float = 120.0) -> None:
    """Wait until the pictures being drawn ahead are done."""
    end = time.monotonic() + timeout
    while graphs._CACHE.running and time.monotonic() < end:
        time.sleep(0.05)


class _FragmentTimer:
    """Times every call of the stepper fragment (the page calls stepper.show)."""

    def __init__(self):
        from gradviz.ui import stepper

        self.module, self.original, self.times = stepper, stepper.show, []

        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return self.original(*a, **k)
            finally:
                self.times.append((time.perf_counter() - t0) * 1000)

        stepper.show = timed

    def close(self) -> None:
        self.module.show = self.original


def _clicks(at: AppTest, n: int, settle: bool) -> tuple[list[float], list[float]]:
    times, fragment = [], []
    timer = _FragmentTimer()
    try:
        for _ in range(n):
            btn = at.button(key="gv_btn_next")
            if btn.disabled:
                break
            if settle:
                _settle()
            timer.times.clear()
            t0 = time.perf_counter()
            btn.click().run()
            times.append((time.perf_counter() - t0) * 1000)
            fragment.append(sum(timer.times))
            assert not at.exception, [e.value for e in at.exception]
    finally:
        timer.close()
    return times, fragment


def bench(lesson) -> dict:
    rec, _ = runs.warm(lesson, "cpu", list(lesson.quick_args), is_restoration(lesson))
    graph = rec.graphs[0]
    n_steps = len(graph.steps)
    clicks = min(MAX_CLICKS, n_steps - 1)

    at = _open(lesson)
    warm, fragment = _clicks(at, clicks, settle=True)

    graphs.clear()
    graphs._MODES.clear()
    old = graphs.PREFETCH_ALL_MAX_STEPS, graphs.PREFETCH_AHEAD
    saved_prefetch = graphs._CACHE.prefetch
    graphs._CACHE.prefetch = lambda *a, **k: None  # draw nothing ahead
    try:
        at = _open(lesson)
        cold, cold_fragment = _clicks(at, clicks, settle=False)
    finally:
        graphs._CACHE.prefetch = saved_prefetch
        graphs.PREFETCH_ALL_MAX_STEPS, graphs.PREFETCH_AHEAD = old

    opts = graphs.resolve(DisplayOptions(), graph)
    mode = graphs.mode("bench", 0, graph, opts)
    k = min(1, n_steps - 1)
    graphs.clear()
    t0 = time.perf_counter()
    graphs.step_svg("bench", 0, graph, k, opts, prefetch=False)
    render_cold = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    for _ in range(20):
        graphs.step_svg("bench", 0, graph, k, opts, prefetch=False)
    render_hit = (time.perf_counter() - t0) * 1000 / 20
    return {"lesson": lesson.number, "nodes": len(graph.nodes), "steps": n_steps, "mode": mode,
            "warm": warm, "fragment": fragment, "cold": cold, "cold_fragment": cold_fragment,
            "render_cold": render_cold, "render_hit": render_hit}


def main(argv: list[str]) -> int:
    _quiet()
    wanted = [int(a) for a in argv] or [1, 2, 5, 6, 10, 11]
    rows = [bench(next(l for l in LESSONS if l.number == n)) for n in wanted]
    def med(xs: list[float]) -> float:
        return statistics.median(xs or [0.0])

    print(f"\nstep navigation on the server, ms (budget {BUDGET_MS} ms for the fragment)")
    print(f"{'lesson':>6} {'nodes':>5} {'steps':>5} {'mode':>8} | {'fragment':>8} {'max':>6} | "
          f"{'full rerun':>10} {'max':>6} | {'cold frag':>9} {'cold full':>9} | {'dot':>7} {'hit':>6} {'ratio':>6}")
    ok = True
    for r in rows:
        ratio = r["render_cold"] / max(r["render_hit"], 1e-6)
        print(f"{r['lesson']:>6} {r['nodes']:>5} {r['steps']:>5} {r['mode']:>8} | "
              f"{med(r['fragment']):>8.1f} {max(r['fragment'] or [0]):>6.1f} | "
              f"{med(r['warm']):>10.1f} {max(r['warm'] or [0]):>6.1f} | "
              f"{med(r['cold_fragment']):>9.1f} {med(r['cold']):>9.1f} | "
              f"{r['render_cold']:>7.1f} {r['render_hit']:>6.3f} {ratio:>5.0f}x")
        ok = ok and med(r["fragment"]) < BUDGET_MS
    print("\nfragment median under budget for every lesson:", "yes" if ok else "NO")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
