"""The app's stepper page packs its step pictures (gzip + base64): the same pictures, a fifth of the bytes.

A big lesson's page (lesson 10: 56 steps of a 180 kB SVG) is 10 MB as <template>s; the
app sends it through Streamlit into a frame, which took seconds before its first graph.
"""
from __future__ import annotations

import base64
import gzip
import re

import pytest

from gradviz.render.html import _frame_tag, recording_html

from test_html import _open, browser, lessons  # noqa: F401  (fixtures)

TEMPLATE = re.compile(r'<template id="(gv-f-[^"]+)">(.*?)</template>', re.S)
PACKED = re.compile(r'<script type="application/gzip" id="(gv-f-[^"]+)">([A-Za-z0-9+/=]*)</script>', re.S)


def unpacked(page: str) -> dict[str, str]:
    return {k: gzip.decompress(base64.b64decode(v)).decode("utf-8") for k, v in PACKED.findall(page)}


def test_a_packed_picture_unpacks_to_the_same_text(lessons):
    page = recording_html(lessons["1"], face="page", lang="ko")
    for ident, svg in TEMPLATE.findall(page):
        assert unpacked(_frame_tag(ident, svg, packed=True)) == {ident: svg}
        assert _frame_tag(ident, svg, packed=False) == f'<template id="{ident}">{svg}</template>'


def test_the_app_page_packs_every_picture_and_shows_the_first_as_it_is(lessons):
    for rec in lessons.values():
        plain = dict(TEMPLATE.findall(recording_html(rec, face="page")))
        app = recording_html(rec, face="app")
        packed = unpacked(app)
        assert plain and packed.keys() == plain.keys()
        assert "<template id=" not in app
        assert all(svg.startswith('<svg class="gv-svg"') for svg in packed.values())
        assert packed["gv-f-0-0"] in app, "the first picture is in the page as it is, before any script runs"


READ = ("svg => { const t = document.createElement('template'); t.innerHTML = svg; const s = t.content.querySelector('svg'); "
        "return s.getAttribute('viewBox') + '|' + s.getAttribute('width') + '|' + s.textContent; }")


@pytest.mark.browser
def test_stepping_shows_each_unpacked_picture_in_chromium(browser, lessons, tmp_path):  # noqa: F811
    rec = lessons["2"]
    html = recording_html(rec, face="app")
    frames = unpacked(html)
    path = tmp_path / "app.html"
    path.write_text(html, encoding="utf-8")
    page, errors = _open(browser, path.as_uri())
    shown = []
    for k in range(len(rec.graphs[0].steps)):
        if k:
            page.keyboard.press("ArrowRight")
        page.wait_for_function("k => document.querySelector('[data-gv=\"k\"]').textContent === String(k)", arg=k + 1)
        key = f"gv-f-0-t{k}" if page.evaluate("window.gvStepper.state.tall") else f"gv-f-0-{k}"
        # the picture's words and size, as the browser reads the unpacked text (the page marks
        # the current node with classes of its own)
        want = page.evaluate(READ, frames[key])
        page.wait_for_function("([read, want]) => eval(read)(document.querySelector('.gv-cam').innerHTML) === want",
                               arg=[READ, want], timeout=5000)
        shown.append(want)
    assert not errors, errors
    assert len(set(shown)) == len(shown), "each step has its own picture"


@pytest.mark.browser
def test_a_packed_overview_is_highlighted_step_by_step_in_chromium(browser, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    from gradviz.recording import Recording
    from test_html import _chain

    path = tmp_path / "app.html"
    path.write_text(recording_html(Recording(graphs=[_chain(70), _chain(2)]), face="app"), encoding="utf-8")
    page, errors = _open(browser, path.as_uri())
    for i in range(2, 5):
        page.keyboard.press("ArrowRight")
        expect(page.locator('[data-gv="k"]')).to_have_text(str(i))
    expect(page.locator("#node-op66.gv-cur")).to_have_count(1)  # the fourth step's node
    expect(page.locator("g.node.gv-todo")).to_have_count(66 + 1)  # ops still to come, and leaf x
    pick = "i => { const s = document.querySelector('[data-gv=\"graph\"]'); s.value = i; s.dispatchEvent(new Event('change')); }"
    page.evaluate(pick, "1")  # the app's face keeps the graph picker out of sight
    expect(page.locator('[data-gv="n"]')).to_have_text("3")
    page.evaluate(pick, "0")
    expect(page.locator("#node-op69.gv-cur")).to_have_count(1)  # the first step of graph 0 again
    assert not errors, errors
