"""The optimizer playground in a real browser: Chromium driven by Playwright against `streamlit run app.py`.

Moving the learning-rate knob redraws the five paths, and the end points the page
shows are the ones torch.optim reaches with the new lr (computed here, the lesson's
way); picking an iteration shows each optimizer's update in numbers; lesson 16's page
has the playground as a tab. Screenshots (English and Korean, light and dark) land
in test-artifacts/ (look at them); GRADVIZ_DOCS_SCREENSHOT=1 refreshes docs/playground.png.
"""
from __future__ import annotations

import os

import pytest

from conftest import ROOT
from test_app_browser import browser, server  # noqa: F401  (the fixtures: one app server, one Chromium)
from test_playground import reference

WAIT_MS = 120_000
pytestmark = pytest.mark.browser


def open_playground(browser, server, lang: str = "en", scheme: str = "light"):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 1700}, color_scheme=scheme)
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server}?lesson=playground&lang={lang}")
    page.locator(".st-key-gv_pg_table table").wait_for()
    page.locator(".vega-embed .mark-line.paths_marks path").nth(4).wait_for()  # the chart draws after the table
    return page


def shown_rows(page) -> dict[str, list[float]]:
    """The table under the chart: optimizer -> [w1, w2, loss, Δw1, Δw2] as the page shows them."""
    out = {}
    for text in page.locator(".st-key-gv_pg_table tbody tr").all_inner_texts():
        name, *cells = text.split("\t")
        out[name.strip()] = [float(c) for c in cells]
    return out


def lines_drawn(page) -> list[str]:
    return page.locator(".vega-embed .mark-line.paths_marks path").evaluate_all("ps => ps.map(p => p.getAttribute('d'))")


def table_changes(page, old: str) -> None:
    """Wait until the table's first row no longer reads `old` (the rerun drew it again), then settle."""
    page.wait_for_function("(old) => { const r = document.querySelector('.st-key-gv_pg_table tbody tr');"
                           " return r && r.innerText != old; }", arg=old)
    settled(page)


def first_row(page) -> str:
    return page.locator(".st-key-gv_pg_table tbody tr").first.inner_text()


def settled(page) -> None:
    page.wait_for_timeout(300)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden")


def assert_torch_optims(rows: dict[str, list[float]], surface: str, lr: float, steps: int,
                        start: tuple[float, float], lang: str = "en") -> None:
    from gradviz.words import tr

    for name, label in (("SGD", "SGD"), ("Momentum", tr("SGD + momentum", lang)), ("Adam", "Adam")):
        points, losses, _, _ = reference(surface, name, lr, steps, start)
        want = [*points[-1], losses[-1]]
        assert rows[label][:3] == pytest.approx(want, rel=2e-4, abs=1e-9), (name, lr)


def test_moving_the_lr_knob_redraws_torch_optims_paths(server, browser, artifacts):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    page = open_playground(browser, server)
    rows, drawn = shown_rows(page), lines_drawn(page)
    assert len(drawn) == 5 and rows["SGD"][:2] != [-4.0, 1.0]
    assert_torch_optims(rows, "ravine", 0.1, 50, (-4.0, 1.0))  # lesson 16's default race

    lr = page.locator(".st-key-gv_pg_lr-ravine input[type='range'], .st-key-gv_pg_lr-ravine [role='slider']").first
    old = first_row(page)
    lr.focus()
    lr.press("ArrowLeft")  # 0.1 -> 0.05
    expect(page.locator(".st-key-gv_pg_lr-ravine")).to_contain_text("0.05")
    table_changes(page, old)
    moved = shown_rows(page)
    assert moved["SGD"] != rows["SGD"]
    assert_torch_optims(moved, "ravine", 0.05, 50, (-4.0, 1.0))
    assert lines_drawn(page) != drawn, "the paths were drawn again"

    # pick iteration 1: each optimizer's first update, written out with torch.optim's numbers
    k = page.locator(".st-key-gv_pg_k [data-testid='stSlider'] input[type='range'], .st-key-gv_pg_k [role='slider']").first
    k.focus()
    k.press("Home")
    k.press("ArrowRight")
    expect(page.get_by_text("Step 1 of each optimizer, in numbers")).to_be_visible()
    # w1 = -4, grad 0.2·w1 = -0.8, lr 0.05: SGD's first step ends at -3.96; w2: 1 − 0.05·4 = 0.8
    expect(page.locator("[data-testid='stCode']").first).to_contain_text("w1 ← w1 − lr·grad = (-4) − 0.05·(-0.8) = (-3.96)")
    assert shown_rows(page)["SGD"][:2] == pytest.approx([-3.96, 0.8])
    settled(page)
    page.screenshot(path=str(artifacts / "playground_en_light.png"), full_page=True)
    page.close()


@pytest.mark.parametrize("lang,scheme,surface", [("en", "light", "ravine"), ("ko", "dark", "rosenbrock"),
                                                 ("en", "dark", "regression"), ("ko", "light", "bowl")])
def test_each_surface_in_each_language_and_scheme(server, browser, artifacts, lang, scheme, surface):  # noqa: F811
    from playwright.sync_api import expect

    from gradviz.capture.race import SURFACES
    from gradviz.ui import playground
    from gradviz.ui.playground import SURFACE_WORDS
    from gradviz.words import tr

    expect.set_options(timeout=WAIT_MS)
    page = open_playground(browser, server, lang, scheme)
    if surface != playground.FIRST:
        old = first_row(page)
        page.locator(".st-key-gv_pg_surface [role='combobox']").click()
        page.get_by_role("option", name=tr(SURFACE_WORDS[surface], lang)).click()
        table_changes(page, old)
    s = SURFACES[surface]
    assert_torch_optims(shown_rows(page), surface, s.lr, s.steps, s.start, lang)
    if lang == "ko":
        expect(page.get_by_text("손실 곡면")).to_be_visible()
        expect(page.locator(".vega-embed")).to_contain_text("출발점")  # the chart's own labels too
    if surface == "ravine":  # pick iteration 12: momentum has overshot w2 = 0 and swings back
        k = page.locator(".st-key-gv_pg_k input[type='range'], .st-key-gv_pg_k [role='slider']").first
        k.focus()
        k.press("Home")
        for _ in range(12):
            k.press("ArrowRight")
        expect(page.get_by_text("Step 12 of each optimizer, in numbers")).to_be_visible()
        settled(page)
        if os.environ.get("GRADVIZ_DOCS_SCREENSHOT"):  # the README's picture
            page.screenshot(path=str(ROOT / "docs" / "playground.png"),
                            clip={"x": 302, "y": 0, "width": 978, "height": 1000})
    page.screenshot(path=str(artifacts / f"playground_{lang}_{scheme}_{surface}.png"), full_page=True)
    page.close()


def test_lesson_16_has_the_playground_tab(server, browser, artifacts):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server}?lesson=16&lang=ko")
    tab = page.get_by_role("tab", name="옵티마이저 놀이터")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    page.locator(".st-key-gv_pg_table table").wait_for()
    expect(page.locator(".vega-embed .mark-line.paths_marks path")).to_have_count(5)
    settled(page)
    page.screenshot(path=str(artifacts / "playground_ko_light_lesson16.png"))
    page.close()
