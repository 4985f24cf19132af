"""The Training tab's payoff, the knobs and the live curves in a real browser (Chromium + Playwright).

Lesson 6 marks its restart at iteration 31; lesson 9 shows a smoothed loss and accuracy per
epoch; lesson 11 the predicted string of the picked iteration, as a plain run prints it; the
knobs run lesson 6 again with lr 0.3 and the printed numbers equal a plain run's with those
arguments; lesson 15 (Lightning) draws its curves while it trains. Screenshots in test-artifacts/.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from gradviz import lessons
from test_app_browser import WAIT_MS, _open_tab, browser, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def plain_stdout(number: int, *args: str) -> str:
    return subprocess.run([sys.executable, str(lessons.get(str(number)).path), *args], capture_output=True,
                          text=True, timeout=600, check=True).stdout


def _look(page, panel, text: str):
    el = panel.get_by_text(text).first
    el.wait_for()
    el.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)  # the charts draw
    return el


def test_lesson6_marks_its_restart_and_lesson9_smooths_and_charts_epochs(server, browser, artifacts):
    page, panel = _open_tab(browser, server, 6, "en", "Training")
    _look(page, panel, "Training starts again from new parameters at iteration 31")
    page.screenshot(path=str(artifacts / "app_lesson6_restart.png"))
    page.close()
    page, panel = _open_tab(browser, server, 9, "ko", "학습")
    _look(page, panel, "굵은 선은 최근 손실")
    page.screenshot(path=str(artifacts / "app_lesson9_smoothed_ko.png"))
    _look(page, panel, "스크립트가 기록한 값")
    page.screenshot(path=str(artifacts / "app_lesson9_epochs_ko.png"))
    page.close()


def test_lesson11_shows_the_prediction_of_the_picked_iteration(server, browser, artifacts):
    printed = [line.split("prediction ", 1)[1] for line in plain_stdout(11).splitlines() if "prediction '" in line]
    page, panel = _open_tab(browser, server, 11, "en", "Training")
    _look(page, panel, "prediction: ")
    assert printed[0] in panel.inner_text()  # iteration 1's string, as PyTorch predicted it
    thumb = panel.locator("[data-testid='stSlider'] input[type='range']").first
    thumb.focus()
    thumb.press("End")  # the last iteration
    page.get_by_text(f"prediction: {printed[-1]}").first.wait_for()
    page.screenshot(path=str(artifacts / "app_lesson11_prediction.png"))
    page.close()


def test_knobs_rerun_lesson6_and_equal_a_plain_run(server, browser, artifacts):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server}?lesson=6&lang=en")
    page.get_by_text("Try other settings").click()
    lr = page.get_by_label("learning rate")
    lr.fill("0.3")
    steps = page.get_by_label("iterations")
    steps.fill("5")
    page.get_by_role("button", name="Run with these").click()
    page.get_by_text("--lr 0.3 --iterations 5").first.wait_for()
    tab = page.get_by_role("tab", name="Printed output")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    code = page.get_by_role("tabpanel").locator("code").first
    expect(code).to_contain_text("lr=0.3: [4.0, 1.6, 0.64, 0.256, 0.1024]")
    assert code.inner_text().strip() == plain_stdout(6, "--lr", "0.3", "--iterations", "5").strip()
    page.screenshot(path=str(artifacts / "app_lesson6_knobs.png"))
    page.close()


def test_lesson15_curves_update_while_it_trains(server, browser, artifacts):
    pytest.importorskip("pytorch_lightning")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server}?lesson=15&lang=en")  # the whole run: the quick one can end between two looks
    live = page.get_by_text("Training so far (live)").first
    live.wait_for()
    assert page.get_by_role("tab", name="Training").count() == 0  # still running: these are live
    page.screenshot(path=str(artifacts / "app_lesson15_live.png"))
    page.get_by_role("tab", name="Training").wait_for()
    assert page.get_by_text("Training so far (live)").count() == 0
    page.close()


def test_lesson10_charts_the_error_to_the_true_picture_beside_the_loss(server, browser, artifacts):
    """The loss and the error to the true picture, charted side by side (the quick run: the full
    20,000 iterations cost the suite minutes; tests/test_training_payoff.py checks the numbers)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS * 3)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(WAIT_MS * 3)
    page.goto(f"{server}?lesson=10&lang=en&quick=1")
    tab = page.get_by_role("tab", name="Training")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    panel = page.get_by_role("tabpanel")
    _look(page, panel, "Numbers the script logged")
    charts = panel.locator("[data-testid='stVegaLiteChart']")
    assert charts.count() >= 3  # loss, parameter size, then the logged restoration chart
    page.screenshot(path=str(artifacts / "app_lesson10_error_to_truth.png"))
    page.close()
