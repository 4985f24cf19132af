"""Predict mode, the glossary cards and forward-mode steps in the app: the embedded HTML stepper.

The same checks as tests/test_stepper_learn.py, run in the stepper's frame inside
`streamlit run app.py` (Chromium driven by Playwright).
"""
from __future__ import annotations

import pytest

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
