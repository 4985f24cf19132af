"""Predict mode, the glossary cards and forward-mode steps in the app: the embedded HTML stepper.

The same checks as tests/test_stepper_learn.py, run in the stepper's frame inside
`streamlit run app.py` (Chromium driven by Playwright).
"""
from __future__ import annotations

import pytest
import torch

from test_app_browser import browser, open_lesson, server  # noqa: F401  (fixtures)
from test_stepper_learn import glossary_by_hover_and_tap, predict_right_and_wrong

pytestmark = pytest.mark.browser


def test_predict_mode_in_the_app(server, browser, artifacts):  # noqa: F811
    page, frame, _ = open_lesson(browser, server, 1)
    predict_right_and_wrong(frame)
    page.screenshot(path=str(artifacts / "app-predict-en.png"))
    page.close()


def test_glossary_cards_in_the_app(server, browser, artifacts):  # noqa: F811
    page, frame, _ = open_lesson(browser, server, 1)
    glossary_by_hover_and_tap(frame, page)
    page.screenshot(path=str(artifacts / "app-glossary-en.png"))
    page.close()


def test_forward_steps_in_the_app(server, browser, artifacts):  # noqa: F811
    from playwright.sync_api import expect

    page, frame, _ = open_lesson(browser, server, 14)
    frame.locator('[data-mode="forward"]').click()
    for _ in range(3):
        frame.locator('[data-fw="next"]').click()
    expect(frame.locator('[data-fw="op"]')).to_have_text("mul")
    expect(frame.locator('[data-fw="rule"]')).to_contain_text("t(a) = t(x_dual[0]) · x_dual[1] + x_dual[0] · t(x_dual[1])")
    a_tangent = torch.func.jvp(lambda x: x[0] * x[1], (torch.tensor([1.0, 2.0, 0.5]),),
                               (torch.tensor([1.0, 0.0, 0.0]),))[1]
    expect(frame.locator('[data-fw="tangent"]')).to_have_text(f"{a_tangent.item():g}")
    page.screenshot(path=str(artifacts / "app-forward-en.png"))
    page.close()
