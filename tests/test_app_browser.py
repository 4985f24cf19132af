"""The app in a real browser: Chromium driven by Playwright against `streamlit run app.py`.

The app embeds the HTML stepper: lesson 1 steps in the browser with no message
to the server, the camera keeps the current node in view at every step of
lessons 5, 8 and 11, a phone gets the closed sidebar, the stacked layout and the
dark scheme. The screenshots land in test-artifacts/ (look at them).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from bench_app_steps import app_frame  # noqa: E402
from bench_classroom import CHROMIUM, FLAGS, start_server, stop_server  # noqa: E402

WAIT_MS = 120_000  # the first run of a lesson starts torch in a child process

pytestmark = pytest.mark.browser
SERVER_PID: list[int] = []


def runner_children(pid: int) -> list[int]:
    """The gradviz.runner processes the app server at `pid` has started and not yet ended."""
    out = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except (OSError, IndexError):
            continue
        if int(stat[1]) == pid and b"gradviz.runner" in cmd and stat[0] != "Z":
            out.append(int(name))
    return out


@pytest.fixture(scope="module")
def server(artifacts: Path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    proc, url, log = start_server(artifacts / "app_server.log")
    SERVER_PID.append(proc.pid)
    try:
        yield url
    finally:
        stop_server(proc, log)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


def open_lesson(browser, server, number: int, lang: str = "en", **context):
    """A page at ?lesson=<number>; returns (page, stepper frame, the frame's offset in the window)."""
    from bench_app_steps import app_frame

    page = browser.new_page(**{"viewport": {"width": 1280, "height": 800}, **context})
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server}?lesson={number}&lang={lang}")
    frame, offset = app_frame(page)
    return page, frame, offset


def test_lesson1_steps_in_the_browser_without_a_rerun(server, browser, artifacts):
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    page, frame, _ = open_lesson(browser, server, 1)
    expect(page.get_by_role("heading", name="1. The chain rule")).to_be_visible()
    sent: list[str] = []  # what the browser tells the server: a rerun is a message on the websocket
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    page.wait_for_timeout(500)
    sent.clear()
    op, k = frame.locator('[data-gv="op"]'), frame.locator('[data-gv="k"]')
    expect(op).to_have_text("PowBackward0")
    frame.locator('[data-gv="next"]').click()
    expect(op).to_have_text("MulBackward0")
    expect(frame.locator('[data-gv="explanation"]')).to_contain_text("∂l/∂w = ∂l/∂a · 3 = 6 · 3 = 18")
    expect(frame.locator(".gv-ln.gv-cur")).to_contain_text("a = w * 3")  # the step's line
    expect(frame.locator("[data-gv-current]")).to_have_count(1)
    frame.locator("body").press("End")
    expect(op).to_have_text("AccumulateGrad")
    expect(frame.locator('[data-gv="grads"]')).to_contain_text("18")
    frame.locator("body").press("ArrowLeft")
    expect(k).to_have_text("2")
    page.wait_for_timeout(300)
    assert not sent, "a step never goes to the server"
    page.screenshot(path=str(artifacts / "app_lesson1_en.png"))
    if os.environ.get("GRADVIZ_DOCS_SCREENSHOT"):  # refresh the README picture
        page.screenshot(path=str(ROOT / "docs" / "app.png"))

    # Korean from the sidebar: the page and the stepper follow
    page.get_by_text("한국어").first.click()
    expect(page.get_by_role("heading", name="1. 연쇄 법칙")).to_be_visible()
    page.wait_for_function("() => [...document.querySelectorAll(\"iframe[data-testid='stIFrame']\")]"
                           ".some(f => (f.srcdoc || '').includes('\"lang\": \"ko\"'))")
    frame, _ = app_frame(page)
    expect(frame.locator(".gv-count")).to_contain_text("단계")
    expect(frame.locator('[data-gv="explanation"]')).to_contain_text("∂")
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "app_lesson1_ko.png"))
    page.close()


@pytest.mark.parametrize("number", [5, 8, 11])
def test_camera_keeps_every_step_in_view_in_the_app(server, browser, artifacts, number):
    """At 1280x800, after every step the current node is inside the window and at least 14 px tall."""
    import json

    from bench_app_steps import walk

    page, frame, offset = open_lesson(browser, server, number)
    result = walk(frame, offset)
    assert result["steps"] >= 8 and not result["bad"], result["bad"]
    (artifacts / f"app-steps-{number}.json").write_text(json.dumps(result["times"]))  # bench figures
    page.close()


def test_phone_dark_sidebar_closed_and_stacked(server, browser, artifacts):
    page, frame, _ = open_lesson(browser, server, 2, viewport={"width": 390, "height": 844},
                                 color_scheme="dark", is_mobile=True, has_touch=True)
    sidebar = page.locator("[data-testid='stSidebar']")
    assert sidebar.get_attribute("data-collapsed") == "true", "the sidebar starts closed"
    assert sidebar.bounding_box()["x"] + sidebar.bounding_box()["width"] <= 0
    stage = frame.locator('[data-gv="stage"]').bounding_box()
    card = frame.locator(".gv-explain").bounding_box()
    assert card["y"] >= stage["y"] + stage["height"], "graph and card stacked"
    bg = frame.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg != "rgb(255, 255, 255)", "the stepper follows the dark scheme"
    app_bg = page.evaluate("getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor")
    assert app_bg not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), app_bg
    page.screenshot(path=str(artifacts / "app_lesson2_phone_dark.png"))
    page.close()


def test_your_code_shows_a_timer_and_stops(server, browser):
    """Hanging code: the page counts the seconds, and Stop ends its child process."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server}?lesson=code")
    editor = page.locator(".st-key-gv_code textarea")
    editor.fill("import time\nwhile True:\n    time.sleep(0.1)\n")
    editor.press("Control+Enter")
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_text(re.compile(r"Running your code… [1-9]\d* s"))).to_be_visible()
    assert runner_children(SERVER_PID[-1]), "the code runs in a child process"
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text("Stopped. Change the code and press Run again.")).to_be_visible()
    page.wait_for_timeout(500)
    assert not runner_children(SERVER_PID[-1]), "Stop ended the child process"
    expect(page.get_by_text("ran longer than")).to_have_count(0)
    page.close()


def test_lesson10_korean_upload_words_and_the_slider_keeps_its_tab(server, browser, artifacts):
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server}?lesson=10&lang=ko&quick=1")
    upload = page.locator("[data-testid='stFileUploaderDropzone'] [data-testid='stBaseButton-secondary'] p")
    upload.wait_for()
    shown = upload.evaluate("p => getComputedStyle(p, '::after').content")
    assert "올리기" in shown, shown
    limit = page.locator("[data-testid='stFileUploaderDropzoneInstructions'] span")
    assert "파일당 8 MB" in limit.evaluate("s => getComputedStyle(s, '::after').content")
    tab = page.get_by_role("tab", name="이미지 복원")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    thumb = page.get_by_role("tabpanel").locator("[data-testid='stSlider'] input[type='range']").first
    for _ in range(2):  # the first move used to switch back to the first tab
        thumb.focus()
        thumb.press("ArrowLeft")
        page.wait_for_timeout(400)
        page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden")
        expect(tab).to_have_attribute("aria-selected", "true")
    page.screenshot(path=str(artifacts / "app_lesson10_ko_restoration.png"))
    # a file of another kind is refused by gradviz, in Korean (Streamlit's own type filter spoke English)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    expect(page.get_by_text("PNG나 JPEG 그림, 또는 숫자만 담은 피클")).to_be_visible()
    page.close()


def _open_tab(browser, server, number: int, lang: str, tab: str):
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server}?lesson={number}&lang={lang}&quick=1")
    tab_el = page.get_by_role("tab", name=tab)
    tab_el.click()
    expect(tab_el).to_have_attribute("aria-selected", "true")
    return page, page.get_by_role("tabpanel")


def test_lesson14_forward_mode_tab_lists_each_tangent(server, browser, artifacts):
    import torch

    page, panel = _open_tab(browser, server, 14, "en", "Forward mode")
    table = panel.locator("table")
    table.wait_for()
    assert "torch.autograd.forward_ad" in panel.inner_text()
    head = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    rows = [dict(zip(head[-6:], r.locator("td").all_inner_texts()[-6:])) for r in table.locator("tbody tr").all()]
    outputs = [r for r in rows if r["tensor"] == "y"]
    assert len(outputs) == 3 and len(rows) == 27
    # each pass's output tangent is one column of J, as torch.func.jvp computes it
    x = torch.tensor([1.0, 2.0, 0.5])
    f = lambda x: torch.stack([x[0] * x[1] + torch.sin(x[2]), x[0] * x[1] * torch.sin(x[2])])
    for i, row in enumerate(outputs):
        column = torch.func.jvp(f, (x,), (torch.eye(3)[i],))[1]
        shown = [float(v) for v in row["tangent"].strip("[]").split(",")]
        assert shown == pytest.approx(column.tolist(), rel=1e-3), (row, column)
    page.screenshot(path=str(artifacts / "app_lesson14_forward_mode.png"))
    page.close()


@pytest.mark.parametrize("number, lang, title", [
    (15, "ko", "스크립트가 기록한 값"), (17, "en", "Gradient size per parameter (log scale)")])
def test_training_tab_shows_logged_numbers_and_gradient_sizes(server, browser, artifacts, number, lang, title):
    pytest.importorskip("pytorch_lightning") if number == 15 else None
    page, panel = _open_tab(browser, server, number, lang, "학습" if lang == "ko" else "Training")
    heading = panel.get_by_text(title).first
    heading.wait_for()
    heading.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    charts = page.locator("[data-testid='stVegaLiteChart']")
    assert charts.count() >= (4 if number == 15 else 3)  # loss, values, then logged (15) and gradients
    page.screenshot(path=str(artifacts / f"app_lesson{number}_training_{lang}.png"))
    page.close()


def test_lesson17_sigmoid_gradients_shrink_layer_by_layer(server, browser, artifacts):
    """The Training tab's per-layer table of lesson 17: each of the four models' first gradient
    sizes, layer 1 to layer 10, equal what the lesson prints when run by plain python; the
    sigmoid net's shrink toward the input."""
    import subprocess

    from gradviz.lessons import lessons_dir

    plain = subprocess.run([sys.executable, str(lessons_dir() / "17_gradient_flow.py")],
                           capture_output=True, text=True, timeout=300, check=True).stdout
    printed = [[float(v) for v in m.split()]
               for m in re.findall(r"first gradient norms, layer 1 to 10: ([-+.e\d ]+)\(", plain)]
    assert len(printed) == 4  # sigmoid, relu, relu_batchnorm, residual: 30 iterations each
    page, panel = _open_tab(browser, server, 17, "en", "Training")
    opener = panel.get_by_text("Gradient size of each parameter where each run starts")
    opener.wait_for()
    opener.click()
    table = panel.locator("[data-testid='stTable'] table").last
    table.wait_for()
    heads = [c.inner_text().strip() for c in table.locator("thead th").all()]
    shown = {}
    for row in table.locator("tbody tr").all():
        cells = [c.inner_text().strip() for c in row.locator("td, th").all()]
        name = next((c for c in cells if c.startswith("model.")), None)
        if name:
            shown[name] = dict(zip(heads[-len(cells):], cells))
    starts = [h for h in heads if h.startswith("‖grad‖ at iteration")]
    assert len(starts) == 4, heads  # where each model's first backward() ran
    layer_names = [[f"model.{2 * k}.weight" for k in range(10)],  # Linear, Sigmoid/ReLU, ...
                   [f"model.{2 * k}.weight" for k in range(10)],
                   [f"model.{3 * k}.weight" for k in range(10)],  # Linear, BatchNorm1d, ReLU, ...
                   [f"model.{k}.linear.weight" for k in range(10)]]  # Residual blocks
    for start, names, expected in zip(starts, layer_names, printed):
        got = [float(shown[n][start]) for n in names]
        assert got == pytest.approx(expected, rel=0.06), (start, got, expected)  # both to 2 digits
        if start == starts[0]:
            assert all(a < b for a, b in zip(got, got[1:])), got  # smaller toward the input
    page.screenshot(path=str(artifacts / "app_lesson17_gradient_sizes.png"), full_page=True)
    page.close()
