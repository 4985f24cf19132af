"""The standalone HTML stepper: self-contained, complete, and working in a real browser."""
import html as htmllib
import json
import re
from pathlib import Path

import pytest

from gradviz.recording import Edge, Graph, GradInput, Node, Recording, Step
from gradviz.render.html import recording_html
from gradviz.runner import execute

from conftest import LESSONS_DIR

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def lessons() -> dict[str, Recording]:
    out = {}
    for key, name in (("1", "01_chain_rule.py"), ("2", "02_fan_in.py")):
        rec = execute(LESSONS_DIR / name, [])
        assert rec.error is None and rec.graphs, name
        out[key] = rec
    return out


def page_data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="gv-data">(.*?)</script>', page, re.S)
    assert m, "the page carries its data"
    return json.loads(m.group(1))


def assert_self_contained(page: str) -> None:
    assert not re.search(r"""(src|href|action|srcset)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"<script[^>]+src\s*=", page, re.I), "no external script"
    assert not re.search(r"<link\b", page, re.I), "no external stylesheet"
    assert "@import" not in page and "url(http" not in page
    assert "https://" not in page
    # the only http:// left are the SVG and XLink namespace names, which are never fetched
    assert set(re.findall(r"http://[^\s\"'<>]+", page)) <= {
        "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@pytest.mark.parametrize("lesson", ["1", "2"])
def test_page_is_self_contained_and_complete(lessons, lesson):
    rec = lessons[lesson]
    page = recording_html(rec)
    assert page.startswith("<!DOCTYPE html>")
    assert_self_contained(page)
    graph = rec.graph
    n = len(graph.steps)
    # one pre-rendered SVG per step, each a template, plus the first step shown at once
    for k in range(n):
        assert f'<template id="gv-f-0-{k}"><svg class="gv-svg"' in page
    # a left-to-right graph also has each step drawn top to bottom, for phones
    narrow = sum(f'<template id="gv-f-0-t{k}"><svg class="gv-svg"' in page for k in range(n))
    assert narrow in (0, n)
    assert page.count('<svg class="gv-svg"') == n + narrow + 1
    data = page_data(page)
    steps = data["graphs"][0]["steps"]
    assert data["graphs"][0]["mode"] == "steps" and len(steps) == n
    for s, d in zip(graph.steps, steps):
        assert d["op"] == s.op
        if s.explanation:
            assert d["en"] == s.explanation
        if s.explanation_ko:
            assert d["ko"] == s.explanation_ko
        assert d["en"] and d["ko"], "every step has words, even before the explain module fills them"
    # the source with line numbers, and where backward() was called
    assert 'data-line="1"' in page and graph.line
    assert htmllib.escape("backward()") in page


def test_lesson1_numbers(lessons):
    data = page_data(recording_html(lessons["1"]))
    g = data["graphs"][0]
    ops = [s["op"] for s in g["steps"]]
    assert ops == ["PowBackward0", "MulBackward0", "AccumulateGrad"]
    mul = g["steps"][1]
    assert mul["arrived"] == ["6"] and ["w", "18"] in mul["sent"]
    assert "18" in mul["en"]
    assert mul["line"] == 12  # a = w * 3
    w_grad = [dict(s["grads"])[rec_id(g, "w")] for s in g["steps"]]
    assert w_grad == [None, None, "18"], "w.grad is None until AccumulateGrad runs"
    assert g["steps"][2]["changed"] == [rec_id(g, "w")]


def rec_id(g: dict, label: str) -> str:
    return next(nid for nid, name, _ in g["tracked"] if name == label)


def test_lesson2_leaf_and_retained_grads(lessons):
    rec = lessons["2"]
    g = page_data(recording_html(rec))["graphs"][0]
    names = {nid: label for nid, label, _ in g["tracked"]}
    final = {names[nid]: v for nid, v in g["steps"][-1]["grads"]}
    assert final == {"x": "4", "y": "2", "f": "1"}
    retained = [label for _, label, kept in g["tracked"] if kept]
    assert retained == ["f"]


def test_explanations_both_languages_embedded_and_escaped(lessons):
    rec = Recording.from_dict(lessons["1"].to_dict())
    nasty = "</script><script>alert(1)</script> <!-- x"
    for i, s in enumerate(rec.graph.steps):
        s.explanation = f"step {i}: dl/dw = 18 `code` {nasty}"
        s.explanation_ko = f"{i}단계: 연쇄 법칙으로 18 {nasty}"
    page = recording_html(rec, lang="ko")
    assert page.count("</script>") == 2, "user text cannot close the data script"
    assert '<html lang="ko">' in page
    steps = page_data(page)["graphs"][0]["steps"]
    for i, d in enumerate(steps):
        assert d["en"] == rec.graph.steps[i].explanation
        assert d["ko"] == rec.graph.steps[i].explanation_ko
        assert not d["generated"]


def _chain(n_ops: int) -> Graph:
    """x -> neg -> neg -> ... : a long plain-data graph with one step per op, no torch needed."""
    nodes = [Node(id="x", kind="tensor", name="x", label="x", is_leaf=True, requires_grad=True, value=1.0)]
    edges, steps, prev = [], [], "x"
    for i in range(n_ops):
        op, out = f"op{i}", f"t{i}"
        nodes += [Node(id=op, kind="op", label="NegBackward0", op="NegBackward0", forward_op="neg", line=3),
                  Node(id=out, kind="tensor", label=f"y{i}", requires_grad=True, value=(-1.0) ** (i + 1),
                       output=i == n_ops - 1)]
        edges += [Edge(prev, op), Edge(op, out)]
        prev = out
    for j, i in enumerate(reversed(range(n_ops))):
        src = f"t{i - 1}" if i else "x"
        steps.append(Step(index=j, node=f"op{i}", op="NegBackward0", grad_outputs=[1.0],
                          grad_inputs=[GradInput(edge_to=src, grad=1.0)]))
    steps.append(Step(index=n_ops, node="x", op="AccumulateGrad", grad_outputs=[1.0], grad_after=1.0))
    return Graph(index=0, nodes=nodes, edges=edges, steps=steps, root=f"t{n_ops - 1}", line=4)


def test_many_steps_use_one_overview_svg():
    rec = Recording(graphs=[_chain(70), _chain(2)],
                    source="import torch\nx = torch.ones(())\ny = chain(x)\ny.backward()\n")
    page = recording_html(rec)
    assert_self_contained(page)
    data = page_data(page)
    assert [g["mode"] for g in data["graphs"]] == ["overview", "steps"]
    assert len(data["graphs"][0]["steps"]) == 71
    assert '<template id="gv-f-0-o">' in page and '<template id="gv-f-0-1">' not in page
    assert '<template id="gv-f-1-2">' in page
    assert 'id="node&#45;op69"' in page or 'id="node-op69"' in page  # what the JS highlights
    assert '<select data-gv="graph">' in page, "two graphs: a picker"


@pytest.fixture(scope="module")
def deep_mlp() -> Recording:
    """60 x (Linear + ReLU): over the node budget, so the overview is drawn collapsed."""
    torch = pytest.importorskip("torch")
    import gradviz

    torch.manual_seed(0)
    model = torch.nn.Sequential(*[m for _ in range(60) for m in (torch.nn.Linear(8, 8), torch.nn.ReLU())])
    with gradviz.record(explain=False) as rec:
        model(torch.randn(2, 8)).sum().backward()
    return rec


def _overview_ids(page: str) -> tuple[set[str], set[str]]:
    """Node ids and edge titles ("a->b") of the first graph's overview SVG."""
    svg = re.search(r'<template id="gv-f-0-o">(.*?)</template>', page, re.S).group(1)
    nodes = {htmllib.unescape(i)[len("node-"):] for i in re.findall(r'<g id="([^"]+)" class="node"', svg)}
    edges = {htmllib.unescape(t) for t in re.findall(r'<g id="[^"]+" class="edge">\s*<title>([^<]*)</title>', svg)}
    return nodes, edges


def test_collapsed_overview_steps_map_to_drawn_nodes(deep_mlp):
    """The stepper still works on a collapsed graph: a step inside a collapsed module highlights the module."""
    page = recording_html(deep_mlp)
    g = page_data(page)["graphs"][0]
    assert g["mode"] == "overview"
    nodes, edges = _overview_ids(page)
    recorded = {n.id for n in deep_mlp.graph.nodes}
    assert len(nodes) < len(recorded), "the picture is collapsed"
    for d, s in zip(g["steps"], deep_mlp.graph.steps, strict=True):
        assert d["node"] in nodes, (d["op"], s.node, d["node"])
        for a, b in d["edges"]:
            assert f"{a}->{b}" in edges, (d["op"], a, b)
    assert [d["recorded"] for d in g["steps"]] == [s.node for s in deep_mlp.graph.steps]
    inside = [d for d in g["steps"] if d["node"] != d["recorded"]]
    assert inside and all(d["node"] not in recorded for d in inside), "steps inside modules name the module"
    assert sum(bool(d["edges"]) for d in g["steps"]) >= 100, "gradients flow between the drawn modules"


def test_empty_recording_and_missing_dot(monkeypatch):
    page = recording_html(Recording())
    assert "Nothing was recorded" in page
    import gradviz.render.svg as svg

    def no_dot(*a, **k):
        raise svg.DotMissing("Graphviz 'dot' was not found.")

    monkeypatch.setattr(svg, "render_svg", no_dot)
    page = recording_html(Recording(graphs=[_chain(2)]))
    assert "gv-nosvg" in page and "was not found" in page
    assert len(page_data(page)["graphs"][0]["steps"]) == 3


def test_embed_is_an_iframe_with_the_whole_page(lessons):
    rec = lessons["1"]
    a, b = recording_html(rec, embed=True), rec._repr_html_()
    for frag in (a, b):
        assert frag.startswith("<iframe") and frag.endswith("</iframe>")
        assert "<script" not in frag, "scripts live inside srcdoc, escaped"
        inner = htmllib.unescape(re.search(r'srcdoc="([^"]*)"', frag).group(1))
        assert inner.startswith("<!DOCTYPE html>") and '"embed": true' in inner
        assert_self_contained(inner)
    ids = [re.search(r'id="([^"]+)"', f).group(1) for f in (a, b)]
    assert ids[0] != ids[1], "each output has its own id"


def test_save_html(lessons, tmp_path):
    path = lessons["2"].save(tmp_path / "lesson2.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "AddBackward0" in text


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
    page.on("request", lambda r: errors.append("network: " + r.url)
            if not r.url.startswith(("file:", "data:", "about:")) else None)
    page.goto(url)
    return page, errors


@pytest.mark.browser
def test_stepper_in_chromium(browser, lessons, tmp_path, artifacts):
    from playwright.sync_api import expect

    path = lessons["1"].save(tmp_path / "lesson1.html")
    page, errors = _open(browser, path.as_uri())
    op, k = page.locator('[data-gv="op"]'), page.locator('[data-gv="k"]')
    expect(op).to_have_text("PowBackward0")
    for i in range(2, 6):
        if op.inner_text() == "MulBackward0":
            break
        page.keyboard.press("ArrowRight")
        expect(k).to_have_text(str(i))
    expect(op).to_have_text("MulBackward0")
    expect(k).to_have_text("2")
    expect(page.locator('[data-gv="slider"]')).to_have_value("1")
    explanation = page.locator('[data-gv="explanation"]')
    expect(explanation).to_be_visible()
    expect(explanation).to_contain_text("18")
    expect(page.locator(".gv-ln.gv-cur")).to_have_attribute("data-line", "12")
    expect(page.locator('[data-gv="cam"] svg')).to_have_count(1)

    page.get_by_role("button", name="한국어").click()
    expect(page.locator('[data-lang="ko"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(k).to_have_text("2")  # the language toggle keeps the step
    expect(explanation).to_contain_text("18")
    expect(page.locator(".gv-count")).to_contain_text("단계")
    page.screenshot(path=str(artifacts / "html-stepper.png"), full_page=True)

    page.keyboard.press("End")
    expect(op).to_have_text("AccumulateGrad")
    expect(page.locator('[data-gv="grads"]')).to_contain_text("18")
    page.keyboard.press("Home")
    expect(k).to_have_text("1")
    expect(page.locator('[data-gv="grads"] .gv-none')).to_have_text("None")
    assert not errors, errors
    page.close()


@pytest.mark.browser
def test_overview_and_dark_mode_in_chromium(browser, tmp_path, artifacts):
    from playwright.sync_api import expect

    rec = Recording(graphs=[_chain(70), _chain(2)])
    path = rec.save(tmp_path / "long.html")
    page, errors = _open(browser, path.as_uri(), color_scheme="dark")
    for i in range(2, 5):
        page.keyboard.press("ArrowRight")
        expect(page.locator('[data-gv="k"]')).to_have_text(str(i))
    expect(page.locator("#node-op66.gv-cur")).to_have_count(1)  # the fourth step's node
    expect(page.locator("g.node.gv-todo")).to_have_count(66 + 1)  # ops still to come, and leaf x
    expect(page.locator("g.edge.gv-flow")).to_have_count(4)
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg != "rgb(255, 255, 255)", "dark scheme"
    page.select_option('[data-gv="graph"]', "1")
    expect(page.locator('[data-gv="n"]')).to_have_text("3")
    expect(page.locator('[data-gv="k"]')).to_have_text("1")
    expect(page.locator('[data-gv="slider"]')).to_have_value("0")
    page.screenshot(path=str(artifacts / "html-stepper-dark.png"), full_page=True)
    assert not errors, errors
    page.close()


@pytest.mark.browser
def test_notebook_fragment_in_chromium(browser, lessons, tmp_path):
    from playwright.sync_api import expect

    host = tmp_path / "host.html"
    host.write_text("<!DOCTYPE html><meta charset='utf-8'><body><p>cell</p>"
                    + lessons["2"]._repr_html_() + "</body>", encoding="utf-8")
    page, errors = _open(browser, host.as_uri())
    frame = page.frame_locator("iframe.gradviz-frame")
    frame.locator('[data-gv="next"]').click()
    expect(frame.locator('[data-gv="op"]')).to_have_text("AddBackward0")
    page.wait_for_function(
        "() => { const f = document.querySelector('iframe.gradviz-frame');"
        " const inner = f.contentDocument.documentElement.getBoundingClientRect().height;"
        " return Math.abs(f.getBoundingClientRect().height - inner) < 10; }", timeout=5000)
    assert not errors, errors
    page.close()


@pytest.mark.browser
def test_collapsed_overview_highlights_module_in_chromium(browser, deep_mlp, tmp_path, artifacts):
    from playwright.sync_api import expect

    path = deep_mlp.save(tmp_path / "deep.html")
    g = page_data(path.read_text(encoding="utf-8"))["graphs"][0]
    k = next(i for i, d in enumerate(g["steps"]) if d["op"] == "AddmmBackward0")  # inside Linear 60
    module = g["steps"][k]["node"]
    assert module not in {n.id for n in deep_mlp.graph.nodes}, "the step lies inside a collapsed module"
    page, errors = _open(browser, path.as_uri())
    for i in range(k):
        page.keyboard.press("ArrowRight")
        expect(page.locator('[data-gv="k"]')).to_have_text(str(i + 2))
    expect(page.locator('[data-gv="op"]')).to_have_text("AddmmBackward0")
    current = page.locator('[data-gv="stage"] g.node.gv-cur')
    expect(current).to_have_count(1)
    expect(current).to_have_attribute("id", "node-" + module)
    look = page.evaluate("() => { const g = document.querySelector('g.node.gv-cur'); "
                         "const box = g.querySelector('path, polygon, ellipse'); "
                         "return [getComputedStyle(g).filter, getComputedStyle(box).strokeWidth]; }")
    assert "drop-shadow" in look[0] and look[1] == "3px", look  # the module's box glows and is outlined
    expect(page.locator("g.edge.gv-flow")).to_have_count(len({(a, b) for d in g["steps"][:k + 1]
                                                               for a, b in d["edges"]}))
    page.locator('[data-gv="actual"]').click()  # 1:1, centred on the current step
    page.locator('[data-gv="stage"]').screenshot(path=str(artifacts / "html-stepper-collapsed.png"))
    assert not errors, errors
    page.close()


# ---------------------------------------------------------------- the camera, the layout, Play, exports

def rec_id_of(rec: Recording, name: str) -> str:
    return next(n.id for n in rec.graph.nodes if n.kind == "tensor" and (n.name or n.label) == name)


def _lesson_page(lesson_recording, number: int, folder: Path) -> Path:
    from gradviz.lessons import LESSONS

    lesson = next(l for l in LESSONS if l.number == number)
    path = folder / f"{lesson.script.removesuffix('.py')}.html"
    path.write_text(recording_html(lesson_recording(number), name=path.stem), encoding="utf-8")
    return path


@pytest.mark.browser
@pytest.mark.parametrize("number", [5, 8, 11])
def test_camera_keeps_every_step_in_view(browser, lesson_recording, tmp_path, artifacts, number):
    """At 1280x800, after every step the current node is inside the window and at least 14 px tall."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from bench_app_steps import VIEWPORT, walk

    path = _lesson_page(lesson_recording, number, tmp_path)
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    result = walk(page.main_frame)
    assert result["steps"] >= 8 and not result["bad"], result["bad"]
    assert len({c["id"] for c in result["seen"]}) >= 3, "the camera follows different nodes"
    (artifacts / f"html-steps-{number}.json").write_text(json.dumps(result["times"]))  # bench figures
    page.screenshot(path=str(artifacts / f"html-lesson{number}-last-step.png"))
    assert not errors, errors
    page.close()


@pytest.mark.browser
def test_card_beside_graph_on_wide_screens_and_below_on_phones(browser, lessons, tmp_path):
    path = lessons["1"].save(tmp_path / "lesson1.html")
    for viewport, beside in (({"width": 1280, "height": 800}, True), ({"width": 390, "height": 844}, False)):
        page = browser.new_page(viewport=viewport, has_touch=not beside, is_mobile=not beside)
        page.goto(path.as_uri())
        stage = page.locator('[data-gv="stage"]').bounding_box()
        card = page.locator(".gv-explain").bounding_box()
        if beside:
            assert card["x"] >= stage["x"] + stage["width"] and card["y"] < stage["y"] + stage["height"]
            assert card["y"] + card["height"] <= 800, "the card is on screen with the graph"
            assert page.locator(".gv-keys").is_visible()
            svg = page.locator('[data-gv="cam"] svg').bounding_box()
            wide = svg["width"] / svg["height"]
            assert wide > 1.5, "left to right on a wide screen"
        else:
            assert card["y"] >= stage["y"] + stage["height"], "stacked on a phone"
            svg = page.locator('[data-gv="cam"] svg').bounding_box()
            assert svg["width"] / svg["height"] < wide / 2, "top to bottom on a narrow screen"
            assert not page.locator(".gv-keys").is_visible(), "no key hints on a touch screen"
        assert page.evaluate("getComputedStyle(document.querySelector('.gv')).wordBreak") == "keep-all"
        page.close()


@pytest.mark.browser
def test_wheel_drag_fit_and_actual_size(browser, lesson_recording, tmp_path):
    path = _lesson_page(lesson_recording, 5, tmp_path)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(path.as_uri())
    scale = "() => new DOMMatrix(getComputedStyle(document.querySelector('.gv-cam')).transform).a"
    settle = "() => !document.querySelector('.gv-cam').getAnimations().length"
    page.wait_for_function(settle)
    s0 = page.evaluate(scale)
    box = page.locator('[data-gv="stage"]').bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -400)
    s1 = page.evaluate(scale)
    assert s1 > s0 * 1.3, (s0, s1)
    before = page.locator('[data-gv-current]').bounding_box()
    page.mouse.down()
    page.mouse.move(cx + 120, cy + 60, steps=5)
    page.mouse.up()
    after = page.locator('[data-gv-current]').bounding_box()
    assert abs(after["x"] - before["x"] - 120) < 3 and abs(after["y"] - before["y"] - 60) < 3, (before, after)
    page.locator('[data-gv="fit"]').click()
    page.wait_for_function(settle)
    svg = page.locator('[data-gv="cam"] svg').bounding_box()
    assert svg["x"] >= box["x"] - 1 and svg["y"] >= box["y"] - 1
    assert svg["x"] + svg["width"] <= box["x"] + box["width"] + 1
    assert svg["y"] + svg["height"] <= box["y"] + box["height"] + 1, "fit: the whole graph in the stage"
    page.locator('[data-gv="actual"]').click()
    page.wait_for_function(settle)
    assert abs(page.evaluate(scale) - 1) < 1e-3
    cur = page.locator('[data-gv-current]').bounding_box()
    assert box["x"] <= cur["x"] + cur["width"] / 2 <= box["x"] + box["width"], "1:1 is centred on the step"
    page.close()


@pytest.mark.browser
def test_gradients_point_back_and_play_animates(browser, lessons, tmp_path):
    path = lessons["1"].save(tmp_path / "lesson1.html")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(path.as_uri())
    page.keyboard.press("ArrowRight")  # MulBackward0 sends 18 to w
    edge = page.locator('[data-gv="stage"] g.edge', has_text="∂ 18")
    expect_one = edge.count()
    assert expect_one == 1
    # the arrowhead sits on the input's end (w, where dot's path starts), not on the op's
    ends = page.evaluate("""() => {
      const e = [...document.querySelectorAll('[data-gv="stage"] g.edge')].find(g => g.textContent.includes('∂ 18'));
      const path = e.querySelector('path'), L = path.getTotalLength();
      const b = e.querySelector('polygon').getBBox(), hx = b.x + b.width / 2, hy = b.y + b.height / 2;
      const d = p => Math.hypot(p.x - hx, p.y - hy);
      return [e.querySelector('title').textContent, d(path.getPointAtLength(0)), d(path.getPointAtLength(L))];
    }""")
    assert ends[0].startswith(rec_id_of(lessons["1"], "w") + "->"), ends
    ends = ends[1:]
    assert ends[0] < ends[1], ends
    page.keyboard.press("Home")
    page.locator('[data-gv="play"]').click()
    page.wait_for_selector(".gv-spark", state="attached", timeout=3000)  # a value on its way back
    page.wait_for_function("() => document.querySelector('[data-gv=\"k\"]').textContent === '3'", timeout=6000)
    page.close()


@pytest.mark.browser
def test_svg_download_is_a_named_svg_file(browser, lessons, lesson_recording, tmp_path):
    import xml.etree.ElementTree as ET

    for rec, name, steps in ((lessons["1"], "01_chain_rule", 2), (lesson_recording(11), "11_char_rnn", 5)):
        path = tmp_path / f"{name}.html"
        path.write_text(recording_html(rec, name=name), encoding="utf-8")
        page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        page.goto(path.as_uri())
        for _ in range(steps - 1):
            page.keyboard.press("ArrowRight")
        with page.expect_download() as info:
            page.locator('[data-gv="svg"]').click()
        download = info.value
        assert download.suggested_filename == f"{name}-1-step-{steps}.svg"
        root = ET.fromstring(Path(download.path()).read_bytes())
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        page.close()


@pytest.mark.browser
def test_lesson11_rnn_is_one_block_that_the_step_highlights(browser, lesson_recording, tmp_path):
    rec = lesson_recording(11)
    page_text = recording_html(rec, name="11_char_rnn")
    g = page_data(page_text)["graphs"][0]
    recorded = {n.id for n in rec.graphs[0].nodes}
    inside = [i for i, s in enumerate(g["steps"]) if s["node"] not in recorded]
    assert len(inside) > len(g["steps"]) / 2, "the unrolled time steps are folded into the RNN block"
    path = tmp_path / "l11.html"
    path.write_text(page_text, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(path.as_uri())
    from playwright.sync_api import expect

    page.locator('[data-gv="slider"]').fill(str(inside[0]))
    current = page.locator("[data-gv-current]")
    # the step's node is marked once the page has moved there (step 1's mark may come first)
    expect(current).to_have_attribute("data-gv-current", g["steps"][inside[0]]["node"])
    assert "RNN" in current.text_content()
    page.close()


def test_graph_labels_in_korean(lesson_recording):
    from gradviz.render.dot import graph_dot

    graph = lesson_recording(5).graphs[0]
    ko = re.sub(r'tooltip="(\\.|[^"\\])*"', "", graph_dot(graph, step=3, lang="ko"))  # tooltips: the source
    for word in ("스칼라", "값 ", "기울기 ", "상수", "리프 아님"):
        assert word in ko, word
    assert not re.search(r"\(\d+ values\)|>data |>grad |\bscalar\b|\(not a leaf\)|\bconst\b", ko)
    assert re.search(r"\(값 \d+개\)", ko)
    en = graph_dot(graph, step=3, lang="en")
    assert re.search(r"\(\d+ values\)", en) and "scalar" in en and "(not a leaf)" in en


def test_per_iteration_table_has_no_rows_of_blanks():
    pytest.importorskip("streamlit")
    from gradviz.recording import Iteration, ParamUpdate
    from gradviz.ui.training_view import table_frame

    its = [Iteration(index=i, loss=1.0 / i,
                     params={"W": ParamUpdate(value=[1.0, 2.0] if i % 10 == 1 else None,
                                              grad=[0.1, 0.2] if i % 10 == 1 else None,
                                              update=None, norm={"value": 2.2})})
           for i in range(1, 31)]
    frame = table_frame(its, "ko")
    assert list(frame.iloc[:, 0]) == [1, 11, 21], "only the iterations with a snapshot"
    assert list(frame.columns[:2]) == ["반복", "손실"] and "W 기울기" in frame.columns
    assert not frame.isna().any().any()
