"""A small classroom (issue 7): several browser sessions at once on one server.

Four lesson sessions (two English, two Korean, different lessons and step
counts) and one "Your code" session that hangs, all started together against
one `streamlit run app.py`; every session must end on its own lesson, language
and step, with no exception anywhere, and the hanging one with an explained
TimeLimit error. The full 20-session load is bench/bench_classroom.py.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import bench_classroom as bc  # noqa: E402

pytestmark = pytest.mark.browser


def test_four_sessions_and_a_hang_stay_apart(artifacts: Path, monkeypatch):
    if not Path(bc.CHROMIUM).exists():
        pytest.skip(f"no Chromium at {bc.CHROMIUM} (Debian: apt-get install chromium)")
    pytest.importorskip("playwright.async_api")
    sessions = [
        bc.Session("a", lesson=1, lang="en", clicks=2),
        bc.Session("b", lesson=1, lang="ko", clicks=1),  # same lesson as "a", other step and language
        bc.Session("c", lesson=2, lang="en", clicks=3),
        bc.Session("d", lesson=2, lang="ko", clicks=0),
        bc.Session("hang", None, "en", code=bc.HANG, expect_error="s at line"),
    ]
    proc, url, log = bc.start_server(artifacts / "classroom_server.log")
    try:
        wall = asyncio.run(bc.classroom(url, sessions, warm=True, log=lambda *a: None))
    finally:
        bc.stop_server(proc, log)
    report = bc.details(sessions) + "\n" + bc.table(sessions, wall)
    assert not [s for s in sessions if s.error], report
    # each session showed its own step: the clicks it made, not another's
    assert [s.clicks for s in sessions[:4]] == [2, 1, 3, 0], report
