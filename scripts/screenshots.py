"""Screenshots of every lesson in the app: English and Korean, light and dark, desktop and phone.

    python scripts/screenshots.py              # all lessons -> test-artifacts/screens/
    python scripts/screenshots.py 1 5 11       # only these lessons
    python scripts/screenshots.py --features   # predict mode, glossary card, forward steps (exported page)

Starts the app (`streamlit run app.py`) on a free port, opens each lesson in
Chromium (/usr/bin/chromium) and saves the window with the stepper scrolled
into view, two steps on (by the Next button; the long lessons in their quick form). Look at them: an unreadable graph is a bug.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEVICES = {"desktop": {"viewport": {"width": 1280, "height": 800}},
           "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}}


def step_on(frame, n: int) -> None:
    """n steps on (no further than the last), by the Next button: a key press on the page would go to
    the app, not into the stepper's frame. Fails loudly when the stepper did not move."""
    k = frame.locator('[data-gv="k"]')
    before = int(k.inner_text() or 0)
    for _ in range(n):
        nxt = frame.locator('[data-gv="next"]')
        if nxt.is_disabled():
            break
        nxt.click()
    frame.wait_for_function("() => !document.querySelector('.gv-cam').getAnimations().length")
    total = int(frame.locator('[data-gv="n"]').inner_text() or 0)
    assert int(k.inner_text()) == min(before + n, max(total, 1)), "the stepper did not step"


def features(out: Path) -> None:
    """Predict mode, a glossary card and forward-mode steps in the exported page (lessons 1 and 14),
    English and Korean, light and dark."""
    from playwright.sync_api import sync_playwright

    from bench_classroom import CHROMIUM, FLAGS
    from gradviz.lessons import LESSONS
    from gradviz.render.html import recording_html
    from gradviz.runner import execute

    pages = {}
    for n in (1, 14):
        lesson = next(l for l in LESSONS if l.number == n)
        rec = execute(lesson.path, [])
        for lang in ("en", "ko"):
            path = out / f"{lesson.script.removesuffix('.py')}-{lang}.html"
            path.write_text(recording_html(rec, lang=lang, name=path.stem), encoding="utf-8")
            pages[n, lang] = path.as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for lang in ("en", "ko"):
            for scheme in ("light", "dark"):
                page = browser.new_page(color_scheme=scheme, viewport={"width": 1280, "height": 800})
                page.goto(pages[1, lang])
                page.locator('[data-gv="predict-toggle"]').click()
                step_on(page, 1)
                page.locator('[data-gv="predict-hint"]').click()
                page.locator('[data-gv="predict-input"]').fill("18")
                page.screenshot(path=str(out / f"predict-ask-{lang}-{scheme}.png"))
                page.locator('[data-gv="predict-input"]').press("Enter")
                page.screenshot(path=str(out / f"predict-right-{lang}-{scheme}.png"))
                page.locator(".gv-cam g.node", has=page.locator("title", has_text="t2")).first.hover()
                page.locator('[data-gv="gloss-card"]').wait_for()
                page.screenshot(path=str(out / f"glossary-card-{lang}-{scheme}.png"))
                page.close()
                page = browser.new_page(color_scheme=scheme, viewport={"width": 1280, "height": 800})
                page.goto(pages[14, lang])
                page.locator('[data-mode="forward"]').click()
                for _ in range(3):
                    page.locator('[data-fw="next"]').click()
                page.screenshot(path=str(out / f"forward-steps-{lang}-{scheme}.png"))
                page.close()
                print(f"features {lang} {scheme}", flush=True)
        browser.close()


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    from bench_app_steps import app_frame
    from bench_classroom import CHROMIUM, FLAGS, start_server, stop_server
    from gradviz.lessons import LESSONS

    out = ROOT / "test-artifacts" / "screens"
    out.mkdir(parents=True, exist_ok=True)
    if "--features" in argv:
        features(out)
        return 0
    numbers = [int(a) for a in argv if a.isdigit()] or sorted(l.number for l in LESSONS)
    proc, url, log = start_server(out / "server.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for n in numbers:
                for device, options in DEVICES.items():
                    for scheme in ("light", "dark"):
                        for lang in ("en", "ko"):
                            t0 = time.monotonic()
                            page = browser.new_page(color_scheme=scheme, **options)
                            page.set_default_timeout(600_000)
                            page.goto(f"{url}?lesson={n}&lang={lang}&quick=1")
                            frame, _ = app_frame(page)
                            step_on(frame, 2)
                            name = out / f"lesson{n:02d}-{lang}-{scheme}-{device}.png"
                            page.screenshot(path=str(name))
                            print(f"{name.name}  {time.monotonic() - t0:.1f} s", flush=True)
                            page.close()
            browser.close()
    finally:
        stop_server(proc, log)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
