"""Issue 15 in the app (streamlit.testing, no browser): code runs only where it is walled in,
and the code pane shows what the script wrote to stderr and its warnings.
"""
from __future__ import annotations

import pytest

pytest.importorskip("streamlit")
from streamlit import config  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from conftest import ROOT  # noqa: E402
from gradviz.runner import sandbox  # noqa: E402


@pytest.fixture
def address():
    old = config.get_option("server.address")

    def set_to(value: str | None) -> None:
        config.set_option("server.address", value)

    yield set_to
    config.set_option("server.address", old)


def test_without_a_sandbox_code_runs_only_on_localhost(monkeypatch, address):
    from gradviz.ui.code_view import code_allowed

    monkeypatch.setenv("GRADVIZ_ALLOW_CODE", "1")
    monkeypatch.setenv("GRADVIZ_SANDBOX", "off")  # stands for a machine without bubblewrap
    address("0.0.0.0")
    assert code_allowed()[0] is False
    address("127.0.0.1")
    assert code_allowed()[0] is True


@pytest.mark.skipif(not sandbox.available(), reason="bubblewrap is not installed here")
def test_with_the_sandbox_a_public_server_may_run_code(monkeypatch, address):
    from gradviz.ui.code_view import code_allowed

    monkeypatch.setenv("GRADVIZ_ALLOW_CODE", "1")
    monkeypatch.delenv("GRADVIZ_SANDBOX", raising=False)
    address("0.0.0.0")
    assert code_allowed()[0] is True
    monkeypatch.delenv("GRADVIZ_ALLOW_CODE")
    assert code_allowed()[0] is False  # still only when asked for


def test_the_refusal_is_said_on_the_page(monkeypatch, address):
    monkeypatch.setenv("GRADVIZ_ALLOW_CODE", "1")
    monkeypatch.setenv("GRADVIZ_SANDBOX", "off")
    address("0.0.0.0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["gv_topic"] = "code"
    at.run()
    assert not at.exception
    assert not [b for b in at.button if b.key == "gv_code_run"]
    assert any("no sandbox" in w.value for w in at.warning), [w.value for w in at.warning]


def test_the_code_pane_shows_stderr_and_warnings(monkeypatch):
    monkeypatch.setenv("GRADVIZ_ALLOW_CODE", "1")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.session_state["gv_topic"] = "code"
    at.run()
    at.text_area(key="gv_code").set_value(
        "import sys, warnings, torch\nx = torch.ones(2, requires_grad=True)\n(x * x).sum().backward()\n"
        "print('to stdout')\nprint('to stderr', file=sys.stderr)\nwarnings.warn('a warning to read')\n").run()
    at.session_state["gv_tabs|en"] = "Printed output"  # only the open tab is made
    at.button(key="gv_code_run").click().run()
    assert not at.exception and not at.error
    shown = "\n".join(c.value for c in at.code)
    assert "to stdout" in shown and "to stderr" in shown and "a warning to read" in shown, shown
