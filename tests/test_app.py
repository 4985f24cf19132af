"""The Streamlit app under streamlit.testing (no browser): every lesson, both languages.

Lessons run once per test session (st.cache_data is shared by every AppTest in
this process), in quick mode where a lesson has one, so the file stays well
under a minute or two on two cores.
"""
from __future__ import annotations

import pickle
import re
import time
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from gradviz.lessons import LESSONS  # noqa: E402

from conftest import LESSONS_DIR, ROOT, SHARED  # noqa: E402

APP = str(ROOT / "app.py")
TIMEOUT = 240  # the first run of a lesson starts torch in a child process


@pytest.fixture(scope="module", autouse=True)
def warm_lessons():
    """Run every lesson once, three at a time, into the cache the app reads."""
    import logging
    from concurrent.futures import ThreadPoolExecutor

    from gradviz.ui import runs
    from gradviz.ui.restoration_view import is_restoration

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    jobs = sorted(LESSONS, key=lambda l: -len(l.quick_args) - (l.number in (7, 8, 10, 11)))
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda l: runs.warm(l, "cpu", list(l.quick_args), is_restoration(l)), jobs))
    yield


def open_app(lesson=None, lang: str = "en", **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["gv_lang"] = lang
    if lesson == "code":
        at.session_state["gv_topic"] = "code"
    elif lesson is not None:
        at.session_state["gv_topic"] = lesson.group
        at.session_state[f"gv_lesson|{lesson.group}"] = lesson.id
        at.session_state["gv_quick"] = True  # the long lessons in their quick form
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    # a part of the page that failed shows a short warning instead of a traceback: none expected
    broken = [w.value for w in at.warning if w.value.startswith(("Something went wrong", "이 부분을 보여 주다가"))]
    assert not broken, broken


def stepper_data(at: AppTest) -> dict:
    """The data of the stepper page the app embeds (the same page `gradviz html` writes)."""
    import json
    import re

    frames = [f.proto.srcdoc for f in at.get("iframe") if 'id="gv-data"' in f.proto.srcdoc]
    assert len(frames) == 1, "one stepper on the page"
    m = re.search(r'<script type="application/json" id="gv-data">(.*?)</script>', frames[0], re.S)
    return json.loads(m.group(1))


def graph_svgs(at: AppTest) -> list[str]:
    """The stepper pages on the page that hold a drawn graph."""
    return [f.proto.srcdoc for f in at.get("iframe") if 'class="gv-svg"' in f.proto.srcdoc]


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [h.value for h in at.get("html")]
    parts += [c.value for c in at.caption] + [t.value for t in at.title]
    return "\n".join(parts)


@pytest.mark.parametrize("lesson", LESSONS, ids=[l.id for l in LESSONS])
def test_lesson_loads_the_stepper_and_speaks_korean(lesson):
    at = open_app(lesson)
    no_exception(at)
    assert not at.error, [e.value for e in at.error]  # the lesson itself ran cleanly
    assert at.title[0].value == f"{lesson.number}. {lesson.title['en']}"
    data = stepper_data(at)
    assert data["face"] == "app" and data["lang"] == "en"
    assert data["graphs"] and data["graphs"][0]["steps"], "a graph with steps to walk through"
    assert data["name"] == lesson.script.removesuffix(".py")

    at.sidebar.radio(key="gv_lang").set_value("ko").run()
    no_exception(at)
    assert at.title[0].value == f"{lesson.number}. {lesson.title['ko']}"
    assert stepper_data(at)["lang"] == "ko"
    for text in (lesson.text["en"], lesson.text["ko"]):  # Python's ** inside `code` is code
        prose = text.split("`")[::2]
        assert not any("**" in part for part in prose), "no literal ** in a lesson's text"
    if lesson.number == 1:  # the power operator survives in the code (it once lost its **)
        assert "`l = a ** 2`" in lesson.text["en"] and "`l = a ** 2`" in lesson.text["ko"]


def test_lesson1_numbers_and_explanation():
    lesson = next(l for l in LESSONS if l.number == 1)
    at = open_app(lesson)
    g = stepper_data(at)["graphs"][0]
    mul = g["steps"][1]
    assert mul["op"] == "MulBackward0"
    assert "∂l/∂w = ∂l/∂a · 3 = 6 · 3 = 18" in mul["en"]  # the chain-rule card's words
    assert ["w", "18"] in mul["sent"]
    # the tensor table: name, shape, flags, grad_fn, value, grad
    frame = at.dataframe[0].value
    row = frame[frame.iloc[:, 0] == "w"].iloc[0]
    assert bool(row["is_leaf"]) and bool(row["requires_grad"]) and row.iloc[-1] == "18"
    assert frame[frame.iloc[:, 0] == "a"].iloc[0]["grad_fn"] == "MulBackward0"


def test_language_switch_does_not_run_the_lesson_again(monkeypatch):
    lesson = next(l for l in LESSONS if l.number == 2)
    at = open_app(lesson)
    import gradviz.ui.runs as runs

    def boom(*a, **k):
        raise AssertionError("the lesson ran again")

    monkeypatch.setattr(runs, "_run", boom)
    at.sidebar.radio(key="gv_lang").set_value("ko").run()
    no_exception(at)
    assert stepper_data(at)["lang"] == "ko"
    frame = at.dataframe[0].value
    assert "이름" in frame.columns or any("이" in c for c in frame.columns), list(frame.columns)


def test_training_view_for_gradient_descent():
    lesson = next(l for l in LESSONS if l.id == "gradient_descent")
    at = open_app(lesson, **{"gv_tabs|en": "Training"})  # only the open tab is made
    no_exception(at)
    labels = [t.label for t in at.tabs]
    assert "Training" in labels
    assert len(at.get("vega_lite_chart")) >= 2  # loss curve and the parabola
    table = [d.value for d in at.dataframe if "w value" in d.value.columns]
    assert table, "no per-iteration table"
    assert list(table[0]["w value"][:4].round(4)) == [10.0, 9.0, 8.1, 7.29]
    it_slider = at.slider(key=next(k for k in at.session_state if str(k).startswith("gv_iter|")))
    it_slider.set_value(3).run()
    no_exception(at)
    assert any("8.1 − 0.05·16.2" in m.value for m in at.markdown)


def test_exports_make_svg_html_and_json():
    import json

    from gradviz.ui import export, runs

    lesson = next(l for l in LESSONS if l.number == 1)
    at = open_app(lesson)
    buttons = {d.key: d for d in at.get("download_button")}
    assert {"gv_dl_svg", "gv_dl_html", "gv_dl_json"} <= set(buttons), buttons
    rec, _ = runs.warm(lesson, "cpu", [])
    data = json.loads(export._make_json("t", rec))
    assert data["graphs"][0]["nodes"]
    page = export._make_html("t", "ko", rec, "01_chain_rule").decode()
    assert page.startswith("<!DOCTYPE html>") and "MulBackward0" in page
    assert export.svg_name("01_chain_rule", 0, 3) == "01_chain_rule-1-step-3.svg"


def test_svg_export_of_a_large_graph_is_an_svg_file():
    """The big lesson 11 graph is drawn as an overview in the stepper; its SVG file is still a plain SVG."""
    import xml.etree.ElementTree as ET

    from gradviz.ui import export, runs
    from gradviz.ui.graphs import DisplayOptions

    lesson = next(l for l in LESSONS if l.number == 11)
    rec, _ = runs.warm(lesson, "cpu", list(lesson.quick_args))
    svg = export._make_svg("big", rec, DisplayOptions()).decode()
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag


def test_device_picker_lists_only_available_devices():
    from gradviz.runner import available_devices

    at = open_app(next(l for l in LESSONS if l.number == 1))
    assert at.sidebar.selectbox(key="gv_device").options == available_devices()


def hostile_pickle(marker: Path) -> bytes:
    class Evil:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    return pickle.dumps(Evil(), protocol=2)


def test_upload_refuses_a_hostile_pickle(tmp_path):
    marker = tmp_path / "pwned"
    lesson = next(l for l in LESSONS if l.group == "restoration")
    at = open_app(lesson)
    no_exception(at)
    assert at.sidebar.file_uploader(key="gv_upload") is not None
    at.sidebar.file_uploader(key="gv_upload").set_value(
        ("broken_image_t.p", hostile_pickle(marker), "application/octet-stream")).run()
    no_exception(at)
    refused = [e.value for e in at.sidebar.error]
    assert refused and "refused" in refused[0] and "system" in refused[0], refused
    time.sleep(0.2)
    assert not marker.exists(), "the pickle ran code"


def test_upload_reader_accepts_a_picture_and_refuses_junk():
    import io

    import numpy as np
    from PIL import Image

    from gradviz.ui.uploads import UploadRefused, read_upload, weird_function

    buf = io.BytesIO()
    Image.fromarray((np.arange(200 * 120) % 256).reshape(120, 200).astype("uint8")).save(buf, "PNG")
    got = read_upload("me.png", buf.getvalue())
    assert got.kind == "picture" and got.picture.shape == (100, 100) and got.scrambled.shape == (10000,)
    assert np.allclose(got.scrambled, weird_function(got.picture))
    with pytest.raises(UploadRefused):
        read_upload("x.png", b"not a png at all")
    with pytest.raises(UploadRefused):
        read_upload("x.p", pickle.dumps(np.zeros(7), protocol=4))  # wrong size
    with pytest.raises(UploadRefused):
        read_upload("x.p", pickle.dumps({"a": 1}, protocol=4))
    with pytest.raises(UploadRefused) as refused:  # any other file: refused in the page's language
        read_upload("notes.txt", b"hello")
    assert "PNG" in str(refused.value) and "피클" in refused.value.text("ko")


def test_numpy_scrambler_matches_the_lesson():
    torch = pytest.importorskip("torch")
    import numpy as np

    from gradviz.ui.uploads import weird_function

    source = (LESSONS_DIR / "10_image_restoration.py").read_text()
    start = source.index("def weird_function")
    end = source.index("\ndef ", start + 10)
    ns: dict = {"torch": torch}
    exec(source[start:end], ns)
    x = np.random.default_rng(0).random(10000).astype(np.float32)
    expected = ns["weird_function"](torch.tensor(x)).numpy()
    assert np.allclose(weird_function(x), expected, atol=1e-5)


@pytest.mark.skipif(not (SHARED / "data" / "broken_image_t.p").exists(), reason="the book's image is not here")
def test_restoration_with_the_books_image(monkeypatch):
    lesson = next(l for l in LESSONS if l.group == "restoration")
    at = open_app(lesson, **{"gv_tabs|en": "Restoration", "gv_tabs|ko": "이미지 복원"})  # the open tab
    data = (SHARED / "data" / "broken_image_t.p").read_bytes()
    at.sidebar.file_uploader(key="gv_upload").set_value(("broken_image_t.p", data, "application/octet-stream")).run()
    no_exception(at)
    assert not at.sidebar.error, [e.value for e in at.sidebar.error]
    assert not at.error, [e.value for e in at.error]
    assert "Restoration" in [t.label for t in at.tabs]
    assert len(at.image) >= 3  # broken, restored, exact
    import gradviz.ui.runs as runs

    def boom(*a, **k):
        raise AssertionError("the uploaded image was run again")

    monkeypatch.setattr(runs, "_run", boom)
    at.sidebar.radio(key="gv_lang").set_value("ko").run()
    no_exception(at)
    assert len(at.image) >= 3


def test_code_runs_and_errors_are_explained(monkeypatch):
    monkeypatch.setenv("GRADVIZ_ALLOW_CODE", "1")
    at = open_app("code")
    no_exception(at)
    at.button(key="gv_code_run").click().run()
    no_exception(at)
    assert graph_svgs(at), "the starter snippet drew no graph"
    assert not at.error
    at.text_area(key="gv_code").set_value(
        "import torch\nx = torch.ones(3, requires_grad=True)\ny = (x * 2).sum()\ny.backward()\n"
        "z = x @ torch.ones(4)\n").run()
    at.button(key="gv_code_run").click().run()
    no_exception(at)
    assert at.error, "the shape error was not shown"
    assert "line 5" in at.error[0].value and "RuntimeError" in at.error[0].value
    assert graph_svgs(at), "the graph recorded before the error is not shown"


def test_code_that_hangs_is_stopped(monkeypatch):
    monkeypatch.setenv("GRADVIZ_ALLOW_CODE", "1")
    import gradviz.ui.runs as runs

    monkeypatch.setattr(runs, "CODE_TIMEOUT", 6.0)  # room for the sandbox and torch to start on a loaded machine
    at = open_app("code")
    at.text_area(key="gv_code").set_value("while True:\n    pass\n").run()
    t0 = time.monotonic()
    at.button(key="gv_code_run").click().run()
    assert time.monotonic() - t0 < 60
    no_exception(at)
    # the loop is lines 1-2 (`while True:` / `pass`): the stack dump lands on either
    assert at.error and re.search(r"ran longer than 6 s at line [12] and was stopped", at.error[0].value)
    assert "--timeout" not in at.error[0].value, "no advice the app cannot follow"
    at.sidebar.radio(key="gv_lang").set_value("ko").run()
    assert at.error and "6초보다 오래 실행되어" in at.error[0].value


PILE_UP = """import torch
w = torch.tensor(1.0, requires_grad=True)
for i in range(3):
    loss = (w * 2) ** 2
    loss.backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
"""


def test_pitfall_notice_where_it_was_flagged(monkeypatch):
    monkeypatch.setenv("GRADVIZ_ALLOW_CODE", "1")
    at = open_app("code", lang="ko")
    at.text_area(key="gv_code").set_value(PILE_UP).run()
    at.button(key="gv_code_run").click().run()
    no_exception(at)
    notices = [w.value for w in at.warning if "w.grad" in w.value]
    assert len(notices) == 1 and "2번째 반복" in notices[0], notices  # Korean, with the iteration
    at.session_state["gv_tabs|ko"] = "학습 과정"  # the training tab (only the open tab is made)
    at.run()
    it_slider = at.slider(key=next(k for k in at.session_state if str(k).startswith("gv_iter|")))
    it_slider.set_value(2).run()  # the training view repeats it at that iteration
    assert len([w for w in at.warning if "w.grad" in w.value]) == 2


@pytest.mark.parametrize("code, kind", [
    ("import torch\nx = torch.empty(8_000_000_000)\n", "MemoryLimit"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", "Crash"),
], ids=["memory", "crash"])
def test_code_that_eats_memory_or_crashes_is_contained(monkeypatch, code, kind):
    monkeypatch.setenv("GRADVIZ_ALLOW_CODE", "1")
    at = open_app("code")
    at.text_area(key="gv_code").set_value(code).run()
    at.button(key="gv_code_run").click().run()
    no_exception(at)
    assert at.error and kind in at.error[0].value, [e.value for e in at.error]
    at.text_area(key="gv_code").set_value("import torch\nx = torch.ones(2, requires_grad=True)\n"
                                         "(x * x).sum().backward()\n").run()
    at.button(key="gv_code_run").click().run()  # the app goes on as before
    assert not at.error and graph_svgs(at)


def test_code_is_off_on_a_public_address(monkeypatch):
    monkeypatch.delenv("GRADVIZ_ALLOW_CODE", raising=False)
    from streamlit import config

    old = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        at = open_app("code")
        no_exception(at)
        assert not [b for b in at.button if b.key == "gv_code_run"]
        assert any("GRADVIZ_ALLOW_CODE=1" in w.value for w in at.warning)
        monkeypatch.setenv("GRADVIZ_ALLOW_CODE", "1")
        at.run()
        assert [b for b in at.button if b.key == "gv_code_run"]
    finally:
        config.set_option("server.address", old)


def test_code_allowed_rules(monkeypatch):
    from streamlit import config

    from gradviz.ui.code_view import code_allowed

    monkeypatch.delenv("GRADVIZ_ALLOW_CODE", raising=False)
    old = config.get_option("server.address")
    try:
        for address, ok in [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False),
                            ("", False), ("192.168.1.5", False)]:
            config.set_option("server.address", address or None)
            assert code_allowed()[0] is ok, address
    finally:
        config.set_option("server.address", old)
