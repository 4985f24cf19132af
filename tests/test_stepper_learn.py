"""Learning by doing in the HTML stepper: predict mode, the glossary cards, forward-mode steps.

Numbers are checked against PyTorch itself; the page is driven in a real Chromium.
"""
from __future__ import annotations

import pytest
import torch

from gradviz.render.html import recording_html
from gradviz.runner import execute

from conftest import LESSONS_DIR
from test_html import _open, browser, page_data  # noqa: F401  (browser: a fixture)


@pytest.fixture(scope="module")
def lesson1():
    rec = execute(LESSONS_DIR / "01_chain_rule.py", [])
    assert rec.error is None and rec.graphs
    return rec


def test_predict_questions_carry_pytorchs_numbers_and_hide_them_in_the_hint(lesson1):
    w = torch.tensor(1.0, requires_grad=True)
    a = w * 3
    l = a ** 2
    dl_da, dl_dw = torch.autograd.grad(l, (a, w))
    steps = page_data(recording_html(lesson1))["graphs"][0]["steps"]
    asks = {s["op"]: s["ask"] for s in steps}
    assert asks["PowBackward0"]["answer"] == dl_da.item()
    assert asks["MulBackward0"]["answer"] == dl_dw.item()
    assert asks["AccumulateGrad"]["answer"] == dl_dw.item()
    mul = asks["MulBackward0"]
    assert mul["lhs"] == "∂l/∂w"
    assert mul["hint"] == "∂l/∂w = ∂l/∂a · 3 = 6 · 3 = ?", "every number but the answer"
    for ask in asks.values():
        assert ask["hint"].endswith("?") and not ask["hint"].endswith(ask["shown"])


# ---------------------------------------------------------------- in a real browser

def predict_right_and_wrong(frame) -> None:
    """Predict mode on lesson 1, in a page or the app's frame: a right and a wrong prediction."""
    from playwright.sync_api import expect

    frame.locator('[data-gv="predict-toggle"]').click()
    expect(frame.locator('[data-gv="predict-toggle"]')).to_have_attribute("aria-pressed", "true")
    frame.locator('[data-gv="next"]').click()
    expect(frame.locator('[data-gv="op"]')).to_have_text("MulBackward0")
    # before the answer: no gradient sent on the card, the edge label hidden on the picture
    expect(frame.locator('[data-gv="explanation"]')).to_have_text("")
    expect(frame.locator('[data-gv="flow"]')).not_to_contain_text("18")
    assert frame.locator(".gv-cam g.edge.gv-veil").count() >= 1
    frame.locator('[data-gv="predict-hint"]').click()
    expect(frame.locator('[data-gv="predict-hint-text"]')).to_contain_text("∂l/∂w = ∂l/∂a · 3 = 6 · 3 = ?")
    frame.locator('[data-gv="predict-input"]').fill("seventeen")
    frame.locator('[data-gv="predict-input"]').press("Enter")
    expect(frame.locator('[data-gv="predict-msg"]')).to_contain_text("Type a number")
    frame.locator('[data-gv="predict-input"]').fill("18.01")  # within 3 significant digits
    frame.locator('[data-gv="predict-input"]').press("Enter")
    expect(frame.locator('[data-gv="predict-result"]')).to_have_text("Right: PyTorch computed 18.")
    expect(frame.locator('[data-gv="explanation"]')).to_contain_text("6 · 3 = 18")
    assert frame.locator(".gv-cam g.edge.gv-veil").count() == 0
    frame.locator('[data-gv="next"]').click()
    expect(frame.locator('[data-gv="grads"]')).to_contain_text("?")
    frame.locator('[data-gv="predict-input"]').fill("17")
    frame.locator('[data-gv="predict-input"]').press("Enter")
    expect(frame.locator('[data-gv="predict-result"]')).to_have_text(
        "Not quite: you typed 17, PyTorch computed 18.")
    expect(frame.locator('[data-gv="grads"]')).to_contain_text("18")
    expect(frame.locator('[data-gv="score"]')).to_have_text("Score 1 of 2")


@pytest.mark.browser
def test_predict_mode_in_the_exported_page(browser, lesson1, tmp_path, artifacts):
    from playwright.sync_api import expect

    path = tmp_path / "01_chain_rule.html"
    path.write_text(recording_html(lesson1, name="01_chain_rule"), encoding="utf-8")
    page, errors = _open(browser, path.as_uri())
    predict_right_and_wrong(page)
    page.screenshot(path=str(artifacts / "predict-en-light.png"))
    # the score is kept for the session, per lesson: a reload keeps it and the answers
    page.reload()
    expect(page.locator('[data-gv="score"]')).to_have_text("Score 1 of 2")
    page.locator('[data-lang="ko"]').click()
    expect(page.locator('[data-gv="score"]')).to_have_text("점수 2문제 중 1개")
    page.keyboard.press("Home")
    expect(page.locator('[data-gv="predict-toggle"]')).to_have_text("예측")
    expect(page.locator(".gv-pq-form")).to_contain_text("내 예측")
    page.locator('[data-gv="predict-input"]').fill("6")
    page.locator('[data-gv="predict-input"]').press("Enter")
    expect(page.locator('[data-gv="predict-result"]')).to_contain_text("정답")
    expect(page.locator('[data-gv="score"]')).to_have_text("점수 3문제 중 2개")
    page.locator('[data-gv="predict-reset"]').click()
    expect(page.locator('[data-gv="score"]')).to_have_text("점수 0문제 중 0개")
    page.locator('[data-gv="play"]').click()  # Play waits at the next question
    expect(page.locator('[data-gv="play"]')).to_have_attribute("aria-pressed", "false", timeout=10_000)
    expect(page.locator('[data-gv="k"]')).to_have_text("2")
    expect(page.locator('[data-gv="predict-input"]')).to_be_visible()
    assert not errors, errors
    page.close()


def test_glossary_entries_follow_what_each_node_is(lesson1):
    """Each node's card lists the words its box uses: read from PyTorch's own tensors."""
    w = torch.tensor(1.0, requires_grad=True)
    a = w * 3
    terms = page_data(recording_html(lesson1))["graphs"][0]["terms"]
    graph = lesson1.graph
    by_name = {n.label: n.id for n in graph.nodes if n.kind == "tensor"}
    assert w.is_leaf and "leaf" in terms[by_name["w"]] and "AccumulateGrad" in terms[by_name["w"]]
    assert not a.is_leaf and a.grad_fn is not None
    assert {"grad_fn", "retain_grad"} <= set(terms[by_name["a"]]) and "leaf" not in terms[by_name["a"]]
    mul = next(n.id for n in graph.nodes if n.kind == "op" and n.op == type(a.grad_fn).__name__)
    assert terms[mul] == ["grad_fn", "saved"]  # other=3


def glossary_by_hover_and_tap(frame, page) -> None:
    """The card of lesson 1's leaf w on hover; an op's card on a tap; the whole glossary from the card."""
    from playwright.sync_api import expect

    card = frame.locator('[data-gv="gloss-card"]')
    leaf = frame.locator(".gv-cam g.node", has=frame.locator("title", has_text="t2")).first
    leaf.hover()
    expect(card).to_be_visible()
    expect(card).to_contain_text("leaf tensor")
    expect(card).to_contain_text("AccumulateGrad")
    frame.locator('[data-gv="first"]').hover()
    expect(card).to_be_hidden()
    frame.locator(".gv-cam g.node", has=frame.locator("title", has_text="op1")).first.click()
    expect(frame.locator('[data-gv="op"]')).to_have_text("MulBackward0")  # a tap also steps there
    expect(card).to_contain_text("grad_fn")
    expect(card).to_contain_text("other=3")
    card.locator('[data-gv="gloss-all"]').click()
    glossary = frame.locator('[data-gv="glossary"]')
    expect(glossary).to_be_visible()
    expect(glossary.locator("dt")).to_have_count(6)
    expect(glossary).to_contain_text("mean [min, max] ‖·‖")


@pytest.mark.browser
def test_predict_mode_in_a_notebook_output(browser, lesson1, tmp_path):
    """A notebook shows the same page in an <iframe srcdoc>: predict mode works there too."""
    host = tmp_path / "host.html"
    host.write_text("<!DOCTYPE html><meta charset='utf-8'><body><p>cell</p>" + lesson1._repr_html_() + "</body>",
                    encoding="utf-8")
    page, errors = _open(browser, host.as_uri())
    predict_right_and_wrong(page.frame_locator("iframe.gradviz-frame"))
    assert not errors, errors
    page.close()


@pytest.mark.browser
def test_glossary_cards_in_the_exported_page(browser, lesson1, tmp_path, artifacts):
    from playwright.sync_api import expect

    path = tmp_path / "01_chain_rule.html"
    path.write_text(recording_html(lesson1, name="01_chain_rule"), encoding="utf-8")
    page, errors = _open(browser, path.as_uri())
    glossary_by_hover_and_tap(page, page)
    page.locator('[data-lang="ko"]').click()
    glossary = page.locator('[data-gv="glossary"]')
    expect(glossary).to_contain_text("리프 텐서")
    page.keyboard.press("End")
    page.locator('[data-gv="explanation"] .gv-term').first.click()  # AccumulateGrad in the step's text
    expect(glossary.locator("dt.gv-flash")).to_have_text("AccumulateGrad")
    # a tap on a touch screen pins the card too
    touch, errors2 = _open(browser, path.as_uri(), has_touch=True, is_mobile=True)
    touch.locator(".gv-cam g.node", has=touch.locator("title", has_text="t2")).first.tap()
    expect(touch.locator('[data-gv="gloss-card"]')).to_contain_text("leaf tensor")
    assert not errors and not errors2, errors + errors2
    touch.close()
    page.close()


# ---------------------------------------------------------------- forward mode

@pytest.fixture(scope="module")
def lesson14():
    rec = execute(LESSONS_DIR / "14_forward_reverse_mode.py", [])
    assert rec.error is None and rec.tangents and rec.graphs
    return rec


def _numbers(text: str) -> list[float]:
    import re

    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def _jvp_passes() -> list[dict[str, tuple[list[float], list[float]]]]:
    """What torch.func.jvp says each of lesson 14's tensors is, per pass (one per input direction)."""
    x = torch.tensor([1.0, 2.0, 0.5])
    parts = {"a": lambda x: x[0] * x[1], "b": lambda x: torch.sin(x[2]),
             "y": lambda x: torch.stack([x[0] * x[1] + torch.sin(x[2]), x[0] * x[1] * torch.sin(x[2])])}
    out = []
    for i in range(3):
        direction = torch.zeros(3)
        direction[i] = 1.0
        out.append({name: tuple(torch.atleast_1d(t).tolist() for t in torch.func.jvp(fn, (x,), (direction,)))
                    for name, fn in parts.items()})
    return out


def test_forward_steps_in_the_page_are_torch_funcs_jvp(lesson14):
    steps = page_data(recording_html(lesson14))["forward"]
    assert len(steps) == len(lesson14.tangents)
    passes = [i for i, s in enumerate(steps) if s["op"] == "_make_dual"]
    assert len(passes) == 3
    for start, expected in zip(passes, _jvp_passes()):
        shown = {s["output"]: s for s in steps[start:start + 9]}
        for name, (value, tangent) in expected.items():
            assert _numbers(shown[name]["value"]) == pytest.approx(value, rel=5e-4), name
            assert _numbers(shown[name]["tangent"]) == pytest.approx(tangent, rel=5e-4, abs=1e-6), name
            assert shown[name]["en"] and shown[name]["ko"] and "t(" in shown[name]["en"]


@pytest.mark.browser
def test_forward_steps_in_the_browser(browser, lesson14, tmp_path, artifacts):
    from playwright.sync_api import expect

    path = tmp_path / "14.html"
    path.write_text(recording_html(lesson14, name="14_forward_reverse_mode"), encoding="utf-8")
    page, errors = _open(browser, path.as_uri())
    page.locator('[data-mode="forward"]').click()
    expect(page.locator('[data-gv="forward"]')).to_be_visible()
    expect(page.locator(".gv-main")).to_be_hidden()
    expected = _jvp_passes()
    steps = page_data(page.content())["forward"]
    third = [i for i, s in enumerate(steps) if s["op"] == "_make_dual"][2]
    b = next(i for i in range(third, len(steps)) if steps[i]["output"] == "b")
    page.keyboard.press("Home")
    for _ in range(b):
        page.keyboard.press("ArrowRight")  # the keys step forward mode while its tab is open
    expect(page.locator('[data-fw="k"]')).to_have_text(str(b + 1))
    expect(page.locator('[data-fw="op"]')).to_have_text("sin")
    assert _numbers(page.locator('[data-fw="tangent"]').inner_text()) == pytest.approx(expected[2]["b"][1], rel=5e-4)
    expect(page.locator('[data-fw="rule"]')).to_contain_text("cos(0.5)")
    page.screenshot(path=str(artifacts / "forward-en-light.png"))
    page.locator('[data-lang="ko"]').click()
    expect(page.locator('[data-gv="modes"]')).to_contain_text("순방향 모드")
    expect(page.locator('[data-gv="forward"]')).to_contain_text("접선")
    page.locator('[data-mode="backward"]').click()
    expect(page.locator(".gv-main")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(page.locator('[data-gv="k"]')).to_have_text("2")  # the keys are the backward stepper's again
    assert not errors, errors
    page.close()
