"""Learning by doing in the HTML stepper: predict mode, the glossary cards, forward-mode steps.

Numbers are checked against PyTorch itself; the page is driven in a real Chromium.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gradviz.render.html import recording_html
from gradviz.runner import execute

from conftest import LESSONS_DIR
from test_html import CHROMIUM, CHROMIUM_ARGS, page_data


@pytest.fixture(scope="module")
def lesson1():
    rec = execute(LESSONS_DIR / "01_chain_rule.py", [])
    assert rec.error is None and rec.graphs
    return rec


def test_predict_questions_carry_pytorchs_numbers_and_hide_them_in_the_hint(lesson1):
    w = torch.tensor(1.0, requires_grad=True)
    a = w * 3
    l = a ** 2
    dl_da, dl_dw = torch.autograd.grad(l, (a, w))
    steps = page_data(recording_html(lesson1))["graphs"][0]["steps"]
    asks = {s["op"]: s["ask"] for s in steps}
    assert asks["PowBackward0"]["answer"] == dl_da.item()
    assert asks["MulBackward0"]["answer"] == dl_dw.item()
    assert asks["AccumulateGrad"]["answer"] == dl_dw.item()
    mul = asks["MulBackward0"]
    assert mul["lhs"] == "∂l/∂w"
    assert mul["hint"] == "∂l/∂w = ∂l/∂a · 3 = 6 · 3 = ?", "every number but the answer"
    for ask in asks.values():
        assert ask["hint"].endswith("?") and not ask["hint"].endswith(ask["shown"])


# ---------------------------------------------------------------- in a real browser

@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package to run browser tests")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser, url: str, **kw):
    page = browser.new_page(viewport={"width": 1360, "height": 900}, **kw)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    return page, errors


def predict_right_and_wrong(frame) -> None:
    """Predict mode on lesson 1, in a page or the app's frame: a right and a wrong prediction."""
    from playwright.sync_api import expect

    frame.locator('[data-gv="predict-toggle"]').click()
    expect(frame.locator('[data-gv="predict-toggle"]')).to_have_attribute("aria-pressed", "true")
    frame.locator('[data-gv="next"]').click()
    expect(frame.locator('[data-gv="op"]')).to_have_text("MulBackward0")
    # before the answer: no gradient sent on the card, the edge label hidden on the picture
    expect(frame.locator('[data-gv="explanation"]')).to_have_text("")
    expect(frame.locator('[data-gv="flow"]')).not_to_contain_text("18")
    assert frame.locator(".gv-cam g.edge.gv-veil").count() >= 1
    frame.locator('[data-gv="predict-hint"]').click()
    expect(frame.locator('[data-gv="predict-hint-text"]')).to_contain_text("∂l/∂w = ∂l/∂a · 3 = 6 · 3 = ?")
    frame.locator('[data-gv="predict-input"]').fill("seventeen")
    frame.locator('[data-gv="predict-input"]').press("Enter")
    expect(frame.locator('[data-gv="predict-msg"]')).to_contain_text("Type a number")
    frame.locator('[data-gv="predict-input"]').fill("18.01")  # within 3 significant digits
    frame.locator('[data-gv="predict-input"]').press("Enter")
    expect(frame.locator('[data-gv="predict-result"]')).to_have_text("Right: PyTorch computed 18.")
    expect(frame.locator('[data-gv="explanation"]')).to_contain_text("6 · 3 = 18")
    assert frame.locator(".gv-cam g.edge.gv-veil").count() == 0
    frame.locator('[data-gv="next"]').click()
    expect(frame.locator('[data-gv="grads"]')).to_contain_text("?")
    frame.locator('[data-gv="predict-input"]').fill("17")
    frame.locator('[data-gv="predict-input"]').press("Enter")
    expect(frame.locator('[data-gv="predict-result"]')).to_have_text(
        "Not quite: you typed 17, PyTorch computed 18.")
    expect(frame.locator('[data-gv="grads"]')).to_contain_text("18")
    expect(frame.locator('[data-gv="score"]')).to_have_text("Score 1 of 2")


@pytest.mark.browser
def test_predict_mode_in_the_exported_page(browser, lesson1, tmp_path, artifacts):
    from playwright.sync_api import expect

    path = tmp_path / "01_chain_rule.html"
    path.write_text(recording_html(lesson1, name="01_chain_rule"), encoding="utf-8")
    page, errors = _open(browser, path.as_uri())
    predict_right_and_wrong(page)
    page.screenshot(path=str(artifacts / "predict-en-light.png"))
    # the score is kept for the session, per lesson: a reload keeps it and the answers
    page.reload()
    expect(page.locator('[data-gv="score"]')).to_have_text("Score 1 of 2")
    page.locator('[data-lang="ko"]').click()
    expect(page.locator('[data-gv="score"]')).to_have_text("점수 2문제 중 1개")
    page.keyboard.press("Home")
    expect(page.locator('[data-gv="predict-toggle"]')).to_have_text("예측")
    expect(page.locator(".gv-pq-form")).to_contain_text("내 예측")
    page.locator('[data-gv="predict-input"]').fill("6")
    page.locator('[data-gv="predict-input"]').press("Enter")
    expect(page.locator('[data-gv="predict-result"]')).to_contain_text("정답")
    expect(page.locator('[data-gv="score"]')).to_have_text("점수 3문제 중 2개")
    page.locator('[data-gv="predict-reset"]').click()
    expect(page.locator('[data-gv="score"]')).to_have_text("점수 0문제 중 0개")
    assert not errors, errors
    page.close()
