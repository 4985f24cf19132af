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
