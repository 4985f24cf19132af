"""How long the optimizer playground takes to redraw after the lr or steps knob moves (issue 17: under 1 s).

    python bench/bench_playground.py                 # both parts, 4 moves per knob and surface in the browser
    python bench/bench_playground.py --no-browser    # the server's share only

Server: what one rerun computes when lr changes, in this process: the race (five
torch.optim runs, capture/race.py, never cached here) and the Vega-Lite spec
(ui/playground.chart; the contours are cached per surface in the app and not counted).
Also at 1000 steps, the slider's end. Median of --repeat runs after one warm-up.

Browser: `streamlit run app.py` and headless Chromium; the time from the key press that
moves the lr knob (or the steps knob) to the page showing the new numbers and the
redrawn paths, median of --moves moves per surface (each move is a new lr, so no cache hit).
Prints figures and ratios to the 1 s budget; writes nothing.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BUDGET_S = 1.0


def server_part(repeat: int) -> list[tuple[str, int, float, float]]:
    import torch

    from gradviz.capture import race
    from gradviz.ui import playground

    torch.set_num_threads(1)
    out = []
    for name, s in race.SURFACES.items():
        for steps in (s.steps, 1000):
            race.race(name, s.lr, steps)  # warm-up
            runs, specs = [], []
            for i in range(repeat):
                lr = s.lr * (1 + 0.01 * (i + 1))
                t = time.perf_counter()
                paths = race.race(name, lr, steps, s.start)
                t1 = time.perf_counter()
                playground.chart(paths, [], steps, s.box, s.start, s.minimum, s.names, "en")
                runs.append(t1 - t)
                specs.append(time.perf_counter() - t1)
            out.append((name, steps, statistics.median(runs), statistics.median(specs)))
    return out


def browser_part(moves: int) -> list[tuple[str, str, list[float]]]:
    from playwright.sync_api import sync_playwright

    from bench_classroom import CHROMIUM, FLAGS, start_server, stop_server

    proc, url, log = start_server(Path(os.environ.get("TMPDIR", "/tmp")) / "bench_playground_server.log")
    out = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1200})
            page.set_default_timeout(120_000)
            page.goto(f"{url}?lesson=playground&lang=en")
            page.locator(".vega-embed .mark-line.paths_marks path").nth(4).wait_for()
            from gradviz.capture.race import SURFACES
            from gradviz.ui.playground import FIRST, SURFACE_WORDS

            for surface in [FIRST] + [s for s in SURFACES if s != FIRST]:  # the page opens on FIRST
                if surface != FIRST:
                    old = _state(page)
                    page.locator(".st-key-gv_pg_surface [role='combobox']").click()
                    page.get_by_role("option", name=SURFACE_WORDS[surface]).click()
                    _changed(page, old)
                down = "ArrowRight" if surface == "rosenbrock" else "ArrowLeft"  # 4 lr values each way
                for knob, key in (("lr", down), ("steps", "ArrowRight")):
                    times = []
                    thumb = page.locator(f".st-key-gv_pg_{knob}-{surface} input[type='range'], "
                                         f".st-key-gv_pg_{knob}-{surface} [role='slider']").first
                    for _ in range(moves):
                        old = _state(page)
                        thumb.focus()
                        t = time.perf_counter()
                        thumb.press(key)
                        try:
                            _changed(page, old)
                        except Exception as e:  # a press the page never answered: said, not timed
                            print(f"  {surface} {knob}: no redraw after a key press ({type(e).__name__})",
                                  file=sys.stderr)
                            continue
                        times.append(time.perf_counter() - t)
                        page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden")
                        page.wait_for_timeout(400)  # the rerun has ended: the next key press is not lost
                    out.append((surface, knob, times))
            browser.close()
    finally:
        stop_server(proc, log)
    return out


STATE_JS = """() => { const r = document.querySelector('.st-key-gv_pg_table tbody');  // a path that blew up reads nan
  const d = [...document.querySelectorAll('.vega-embed .mark-line.paths_marks path')].map(p => p.getAttribute('d')).join('|');
  return r ? r.innerText + '#' + d : null; }"""


def _state(page) -> str:
    return page.evaluate(STATE_JS)


def _changed(page, old: str) -> None:
    """Both the table and the drawn paths differ from `old` (one rerun redrew them)."""
    page.wait_for_function(f"(old) => {{ const s = ({STATE_JS})(); if (!s) return false;"
                           " const [t, d] = s.split('#'); const [ot, od] = old.split('#');"
                           " return t != ot && d != od; }", arg=old, polling=10, timeout=20_000)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--moves", type=int, default=4)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args(argv)
    import torch

    print(f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    print(f"- Python {platform.python_version()}, torch {torch.__version__}\n")
    print("Server share of a redraw (median of %d):\n" % args.repeat)
    print("| surface | steps | race (5 × torch.optim) | chart spec | total | of 1 s |\n|---|---:|---:|---:|---:|---:|")
    for name, steps, r, s in server_part(args.repeat):
        print(f"| {name} | {steps} | {r * 1000:.0f} ms | {s * 1000:.1f} ms | {(r + s) * 1000:.0f} ms | "
              f"**{(r + s) / BUDGET_S:.2f}** |")
    if args.no_browser:
        return 0
    print(f"\nKey press to the new numbers and paths on the page (median, max of {args.moves} moves):\n")
    print("| surface | knob | median | max | of 1 s |\n|---|---|---:|---:|---:|")
    for surface, knob, times in browser_part(args.moves):
        if not times:
            print(f"| {surface} | {knob} | no redraw | | |")
            continue
        med = statistics.median(times)
        print(f"| {surface} | {knob} | {med * 1000:.0f} ms | {max(times) * 1000:.0f} ms | **{med / BUDGET_S:.2f}** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
