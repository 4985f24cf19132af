"""The app in a real browser: Chromium driven by Playwright against `streamlit run app.py`.

Lesson 1: step with the buttons to MulBackward0, read w.grad = 18 and the
chain-rule explanation, step with the arrow keys, switch to Korean. The
screenshots land in test-artifacts/ (look at them: an ugly page is a bug).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from bench_classroom import CHROMIUM, FLAGS, start_server, stop_server  # noqa: E402

WAIT_MS = 120_000  # the first run of a lesson starts torch in a child process

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(artifacts: Path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    proc, url, log = start_server(artifacts / "app_server.log")
    try:
        yield url
    finally:
        stop_server(proc, log)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


def settle(page) -> None:
    """Wait until the app has finished its rerun, so the next key sees the page it changed."""
    page.wait_for_timeout(250)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=WAIT_MS)
    page.wait_for_timeout(250)


def step_label(page):
    return page.locator("[data-testid='stMarkdownContainer']", has_text=re.compile(r"Step \d+ of \d+|단계 중"))


def test_lesson1_to_mulbackward_in_english_and_korean(server, browser, artifacts):
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    page.set_default_timeout(WAIT_MS)
    page.goto(server)
    page.get_by_text("1. The chain rule").first.click()  # the lesson picker
    expect(page.get_by_role("heading", name="1. The chain rule")).to_be_visible()
    label = step_label(page).first
    expect(label).to_contain_text("Step 1 of 3")

    for _ in range(5):  # "Next" until the MulBackward0 step
        if "MulBackward0" in label.inner_text():
            break
        page.get_by_role("button", name=re.compile("Next")).click()
        page.wait_for_timeout(300)
        expect(label).not_to_contain_text("Step 1 of")
    expect(label).to_contain_text("Step 2 of 3")
    expect(label).to_contain_text("MulBackward0")

    main = page.locator("section.stMain, [data-testid='stMain']").first
    expect(main).to_contain_text("w.grad = 18")
    expect(main).to_contain_text("∂l/∂w = ∂l/∂a · 3 = 6 · 3 = 18")  # the chain-rule card
    expect(page.locator("svg.gv-svg").first).to_be_visible()  # the graph, drawn by dot
    expect(page.locator("svg.gv-svg").first).to_contain_text("MulBackward0")
    expect(page.locator(".gv-src-now")).to_contain_text("a = w * 3")  # the step's line
    page.screenshot(path=str(artifacts / "app_lesson1_en.png"))
    if os.environ.get("GRADVIZ_DOCS_SCREENSHOT"):  # refresh the README picture
        page.screenshot(path=str(ROOT / "docs" / "app.png"))

    # the keyboard: arrows step back and forth
    page.get_by_role("heading", name="1. The chain rule").click()  # focus off the widgets
    for key, expected in [("ArrowLeft", "Step 1 of 3 · PowBackward0"), ("ArrowRight", "Step 2 of 3"),
                          ("End", "Step 3 of 3"), ("Home", "Step 1 of 3"),
                          ("ArrowRight", "Step 2 of 3 · MulBackward0")]:
        settle(page)
        page.keyboard.press(key)
        expect(label).to_contain_text(expected)

    # Korean: labels, lesson text and explanations change; the step stays
    page.get_by_text("한국어").first.click()
    expect(page.get_by_role("heading", name="1. 연쇄 법칙")).to_be_visible()
    label = step_label(page).first
    expect(label).to_contain_text("3단계 중 2단계")
    expect(main).to_contain_text("w.grad = 18")
    expect(main).to_contain_text("리프")
    expect(page.get_by_role("button", name=re.compile("다음"))).to_be_visible()
    expect(page.locator("svg.gv-svg").first).to_be_visible()
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "app_lesson1_ko.png"))
    page.close()
