"""How long one backward step takes in a real browser, in the exported stepper and in the app.

    python bench/bench_app_steps.py            # lessons 5, 8 and 11
    python bench/bench_app_steps.py 1 5        # only these lesson numbers
    python bench/bench_app_steps.py --html 5   # only the exported page (no app server)

Stepping happens in the browser (assets/stepper.js), in the app too: the app
embeds the same page in a frame. Per lesson, Chromium at 1280x800 clicks "Next"
through every step and times, inside the page, the click until the next frame
is ready (the picture swapped or re-marked, the card, the table and the camera
updated). It also checks what the learner sees: after the camera has settled,
the node marked [data-gv-current] lies inside the window and is at least 14 px
tall. Budget: a median under 100 ms. Run it on an otherwise idle machine.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BUDGET_MS = 100
MIN_NODE_PX = 14
VIEWPORT = {"width": 1280, "height": 800}
FRAME = "iframe[data-testid='stIFrame']"  # the app's frame around the stepper

# the click on "Next" until the browser has painted the next frame (in ms)
STEP_JS = """async () => {
  const t0 = performance.now();
  document.querySelector('[data-gv="next"]').click();
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  return performance.now() - t0;
}"""
# the camera's pan has finished
SETTLED_JS = "() => !document.querySelector('.gv-cam').getAnimations().length"
CURRENT_JS = """() => { const n = document.querySelector('[data-gv-current]'); if (!n) return null;
  const r = n.getBoundingClientRect();
  return {id: n.getAttribute('data-gv-current'), x: r.left, y: r.top, w: r.width, h: r.height}; }"""


def walk(frame, offset=(0.0, 0.0), window=(VIEWPORT["width"], VIEWPORT["height"])) -> dict:
    """Step through every step of the stepper in `frame` (a Playwright Frame).

    offset: where the frame's document starts in the window (the app's iframe).
    Returns the step times (ms), and the steps whose current node was missing,
    outside the window or smaller than MIN_NODE_PX.
    """
    n = int(frame.locator('[data-gv="n"]').inner_text())
    times, bad, seen = [], [], []
    for k in range(n):
        if k:
            times.append(frame.evaluate(STEP_JS))
        frame.wait_for_function(SETTLED_JS, timeout=5000)
        cur = frame.evaluate(CURRENT_JS)
        if cur is None:
            bad.append((k + 1, "no [data-gv-current]"))
            continue
        x, y = cur["x"] + offset[0], cur["y"] + offset[1]
        seen.append(cur)
        if cur["h"] < MIN_NODE_PX:
            bad.append((k + 1, f"{cur['id']} only {cur['h']:.1f} px tall"))
        if x < 0 or y < 0 or x + cur["w"] > window[0] or y + cur["h"] > window[1]:
            bad.append((k + 1, f"{cur['id']} at ({x:.0f}, {y:.0f}) {cur['w']:.0f}x{cur['h']:.0f}: outside"))
    return {"steps": n, "times": times, "bad": bad, "seen": seen}


def app_frame(page):
    """The stepper's frame in the app, scrolled fully into the window; (frame, offset)."""
    handle = page.locator(FRAME).first
    handle.wait_for(timeout=600_000)
    handle.evaluate("f => f.scrollIntoView({block: 'end'})")
    frame = handle.element_handle().content_frame()
    frame.locator("[data-gv-current]").first.wait_for(state="attached", timeout=60_000)
    page.wait_for_timeout(300)
    box = handle.bounding_box()
    return frame, (box["x"], box["y"])


def _html_pages(numbers: list[int], folder: Path) -> dict[int, Path]:
    from gradviz.lessons import LESSONS
    from gradviz.render.html import recording_html
    from gradviz.runner import execute

    out = {}
    for n in numbers:
        lesson = next(l for l in LESSONS if l.number == n)
        rec = execute(lesson.path, list(lesson.quick_args))
        path = folder / f"{lesson.script.removesuffix('.py')}.html"
        path.write_text(recording_html(rec, name=path.stem), encoding="utf-8")
        out[n] = path
    return out


def _report(face: str, n: int, r: dict) -> bool:
    med = statistics.median(r["times"] or [0.0])
    top = max(r["times"] or [0.0])
    ok = med < BUDGET_MS and not r["bad"]
    camera = "ok" if not r["bad"] else f"{len(r['bad'])} bad: {r['bad'][:2]}"
    print(f"{face:>5} {n:>6} {r['steps']:>5} {med:>9.1f} {top:>7.1f}  {camera}")
    return ok


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    from bench_classroom import CHROMIUM, FLAGS, start_server, stop_server

    html_only = "--html" in argv
    numbers = [int(a) for a in argv if a.isdigit()] or [5, 8, 11]
    ok = True
    print(f"in-browser step time at {VIEWPORT['width']}x{VIEWPORT['height']}, ms (budget: median "
          f"{BUDGET_MS} ms); current node inside the window and >= {MIN_NODE_PX} px tall")
    print(f"{'face':>5} {'lesson':>6} {'steps':>5} {'median':>9} {'max':>7}  camera")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for n, path in _html_pages(numbers, Path(tmp)).items():
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(path.as_uri())
            ok &= _report("html", n, walk(page.main_frame))
            page.close()
        if not html_only:
            proc, url, log = start_server(Path(tmp) / "server.log")
            try:
                for n in numbers:
                    page = browser.new_page(viewport=VIEWPORT)
                    t0 = time.monotonic()
                    page.goto(f"{url}?lesson={n}")
                    frame, offset = app_frame(page)
                    print(f"{'':>5} (lesson {n} ready in the app after {time.monotonic() - t0:.0f} s)")
                    ok &= _report("app", n, walk(frame, offset))
                    page.close()
            finally:
                stop_server(proc, log)
        browser.close()
    print("\nevery median under budget and every step in view:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
