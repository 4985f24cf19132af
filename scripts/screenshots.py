"""Screenshots of every lesson in the app: English and Korean, light and dark, desktop and phone.

    python scripts/screenshots.py              # all lessons -> test-artifacts/screens/
    python scripts/screenshots.py 1 5 11       # only these lessons

Starts the app (`streamlit run app.py`) on a free port, opens each lesson in
Chromium (/usr/bin/chromium) and saves the window with the stepper scrolled
into view, after two steps (the long lessons in their quick form). Look at them: an unreadable graph is a bug.
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


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    from bench_app_steps import app_frame
    from bench_classroom import CHROMIUM, FLAGS, start_server, stop_server
    from gradviz.lessons import LESSONS

    numbers = [int(a) for a in argv if a.isdigit()] or sorted(l.number for l in LESSONS)
    out = ROOT / "test-artifacts" / "screens"
    out.mkdir(parents=True, exist_ok=True)
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
                            for _ in range(2):  # two steps on (no further than the last)
                                frame.locator("body").press("ArrowRight")
                            frame.wait_for_function(
                                "() => !document.querySelector('.gv-cam').getAnimations().length")
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
