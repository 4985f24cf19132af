"""One home for words: the catalogs are complete and current, Korean particles fit their word,
and no particle template (x이(가)) reaches a learner."""
import re
import textwrap

import pytest

import gradviz
from conftest import LESSONS_DIR, ROOT
from gradviz.lessons import LESSONS
from gradviz.render.html import recording_html
from gradviz.words import N_, Msg, both, fill, languages, pick, template, tr, tr_in
from gradviz.words.korean import final_sound, particles

HANGUL = re.compile(r"[\uac00-\ud7a3]")
# every way of writing a particle that depends on the word before it: 이(가), 은(는), (으)로, (이)라, ...
PARTICLE_TEMPLATE = re.compile(r"\((?:가|이|는|은|을|를|와|과|으|야|아|로|으로)\)")


# --- the catalogs ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def catalogs():
    pytest.importorskip("babel")
    from gradviz.words import catalog

    po = {path.parent.parent.name: catalog.read(path) for path in catalog.po_paths()}
    return catalog, catalog.extract(), po


def _ids(cat) -> set:
    return {(m.id, m.context) for m in cat if m.id}


def test_every_message_has_a_korean_translation(catalogs):
    _, extracted, po = catalogs
    ko = po["ko"]
    assert len(_ids(extracted)) > 250
    bad = []
    for key in _ids(extracted):
        m = ko.get(*key)
        if m is None or not m.string or m.fuzzy:
            bad.append(key[0][:80])
    assert not bad, "untranslated, missing or fuzzy in ko/gradviz.po:\n" + "\n".join(bad)


def test_no_translation_is_stale(catalogs):
    _, extracted, po = catalogs
    for lang, cat in po.items():
        stale = _ids(cat) - _ids(extracted)
        assert not stale, f"{lang}: translations of messages no longer in the source: {sorted(stale)[:5]}"
        assert not cat.obsolete, f"{lang}: obsolete entries left in the .po"


def test_the_template_is_the_extracted_source(catalogs):
    catalog, extracted, _ = catalogs
    assert _ids(catalog.read(catalog.TEMPLATE)) == _ids(extracted), \
        "gradviz.pot is stale: python -m gradviz.words.catalog update"


def test_the_committed_mo_is_the_compiled_po(catalogs):
    catalog, _, po = catalogs
    for lang, cat in po.items():
        mo = catalog.LOCALE / lang / "LC_MESSAGES" / "gradviz.mo"
        assert mo.read_bytes() == catalog.mo_bytes(cat), f"{lang}: run python -m gradviz.words.catalog update"


def test_placeholders_of_each_translation_equal_its_msgid(catalogs):
    catalog, _, po = catalogs
    for lang, cat in po.items():
        for m in cat:
            if m.id and m.string:
                assert catalog.placeholders(m.string) == catalog.placeholders(m.id), (lang, m.id, m.string)


def test_the_catalog_check_passes_and_names_the_language(catalogs):
    catalog, _, po = catalogs
    assert catalog.problems() == []
    assert dict(po["ko"].extra).get("X-Native-Name") == "한국어"


def test_no_hangul_in_python_outside_words():
    words = ROOT / "gradviz" / "words"
    found = [f"{p.relative_to(ROOT)}:{i}" for p in sorted((ROOT / "gradviz").rglob("*.py"))
             if words not in p.parents
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if HANGUL.search(line)]
    assert not found, "Korean belongs in gradviz/words/locale:\n" + "\n".join(found)


# --- the functions -------------------------------------------------------------------------

def test_tr_fills_english_and_korean_and_never_raises():
    assert tr("{name} is used {n} times: the gradients from all its uses add up", "en", name="x", n=2) == \
        "x is used 2 times: the gradients from all its uses add up"
    assert tr("{name} is used {n} times: the gradients from all its uses add up", "ko", name="x", n=2) == \
        "x가 2번 쓰였으므로, 각 경로에서 온 기울기를 모두 더합니다"
    assert tr("{a} and {b}", "en", a=1) == "1 and ?"  # a missing value prints "?"
    assert tr("{broken", "ko") == "{broken"
    assert tr("Next", "xx") == "Next" and tr("Next", None) == "Next"  # unknown language: English
    assert tr("a message nobody translated", "ko") == "a message nobody translated"
    assert fill("{a} and {b}", {"a": 1}) == "1 and ?"


def test_both_gives_each_language_its_side_of_a_pair():
    name = both(N_("the tensor"))
    assert name == ("the tensor", "이 텐서")
    en, ko = both("{name} is a constant (requires_grad=False): it gets no gradient", name=name)
    assert en.startswith("the tensor is a constant") and ko.startswith("이 텐서는 상수입니다")
    assert N_("not translated here") == "not translated here"
    assert pick("en", "ko", "ko") == "ko" and pick("en", "", "ko") == "en" and pick("en", "ko", "en") == "en"


def test_languages_come_from_the_catalogs():
    assert languages() == {"en": "English", "ko": "한국어"}
    assert " · ".join(tr("Language", code) for code in languages()) == "Language · 언어"
    assert tr_in("pitfall", "iteration {i}", "ko", i=3) == "3번째 반복"
    assert tr("iteration {i}", "ko", i=3) == "반복 3"
    title = Msg(N_("Autograd basics"))
    assert set(title) == {"en", "ko"} and title["ko"] == "자동 미분 기초" and str(title) == "Autograd basics"
    with pytest.raises(KeyError):
        title["xx"]
    assert template("{name} is used {n} times: the gradients from all its uses add up", "ko").startswith(
        "{name}이(가)")


def test_the_cli_offers_the_catalogs_languages():
    from gradviz.cli import build_parser

    render = build_parser()._subparsers._group_actions[0].choices["render"]
    lang = next(a for a in render._actions if a.dest == "lang")
    assert list(lang.choices) == list(languages())


# --- Korean particles ----------------------------------------------------------------------

@pytest.mark.parametrize("text, want", [
    # Latin letters by their Korean names: l 엘, m 엠, n 엔, r 알 end in a 받침
    ("w은(는)", "w는"), ("l은(는)", "l은"), ("x이(가)", "x가"), ("m을(를)", "m을"), ("n과(와)", "n과"),
    ("b와(과)", "b와"), ("r(으)로", "r로"), ("n(으)로", "n으로"), ("W이(가)", "W가"), ("F은(는)", "F는"),
    # acronyms and a run without vowels, letter by letter; capitals at the end too
    ("SGD은(는)", "SGD는"), ("NLL(으)로", "NLL로"), ("MSE을(를)", "MSE를"), ("NaN이(가)", "NaN이"),
    ("AdamW은(는)", "AdamW는"), ("ReLU을(를)", "ReLU를"), ("lr(으)로", "lr로"), ("fc은(는)", "fc는"),
    # words, by their ending: l, le, m, n, ng take a 받침
    ("loss은(는)", "loss는"), ("model.fc1.weight은(는)", "model.fc1.weight는"), ("model은(는)", "model은"),
    ("mean은(는)", "mean은"), ("sum이(가)", "sum이"), ("string(으)로", "string으로"), ("module을(를)", "module을"),
    ("tensor이(가)", "tensor가"), ("cuda(으)로", "cuda로"), ("x.grad이(가)", "x.grad가"), ("Adam은(는)", "Adam은"),
    # t, p, k after one short vowel (or ou), and ck, as loanwords are written: 인풋, 스텝, 아웃, 스택
    ("input은(는)", "input은"), ("step(으)로", "step으로"), ("out이(가)", "out이"), ("stack을(를)", "stack을"),
    ("weight이(가)", "weight가"), ("float(으)로", "float로"), ("mask은(는)", "mask는"), ("list을(를)", "list를"),
    # Hangul by its 받침; ㄹ takes 로
    ("텐서은(는)", "텐서는"), ("값을(를)", "값을"), ("그래프(으)로", "그래프로"), ("파일(으)로", "파일로"),
    ("손실이(가)", "손실이"), ("정수(이)라서", "정수라서"), ("값(이)라서", "값이라서"), ("행렬과(와)", "행렬과"),
    ("연산와(과)", "연산과"), ("철수아(야)", "철수야"), ("민준아(야)", "민준아"), ("길(으)로", "길로"),
    # numbers as they are read: 영 일 삼 육 칠 팔 end in a 받침; 십 백 천 만 for round ones
    ("18이(가)", "18이"), ("3(으)로", "3으로"), ("2(으)로", "2로"), ("0은(는)", "0은"), ("1(으)로", "1로"),
    ("7(으)로", "7로"), ("6(으)로", "6으로"), ("9이(가)", "9가"), ("10이(가)", "10이"), ("100을(를)", "100을"),
    ("1000은(는)", "1000은"), ("20000이(가)", "20000이"), ("0.5이(가)", "0.5가"), ("1.0이(가)", "1.0이"),
    ("1e-06이(가)", "1e-06이"), ("w1(으)로", "w1로"), ("int64은(는)", "int64는"), ("cuda:0(으)로", "cuda:0으로"),
    # brackets, quotes and calls: x[0] reads its 0, a gloss or a call's arguments read the word before
    ("x[0]은(는)", "x[0]은"), ("[2, 3]이(가)", "[2, 3]이"), ("[3, 4]을(를)", "[3, 4]를"),
    ("`MulBackward0`은(는)", "`MulBackward0`은"), ("`w`은(는)", "`w`는"), ("**18**이(가)", "**18**이"),
    ("x(모양 [2, 3])이(가)", "x(모양 [2, 3])가"), ("mean()을(를)", "mean()을"), ("x.add_(1)이(가)", "x.add_(1)가"),
    ("h(3번째 줄)이(가)", "h(3번째 줄)가"), ('"loss"은(는)', '"loss"는'),
    # subscripts read as digits, powers as 제곱 (ㅂ)
    ("GRU.bias₂은(는)", "GRU.bias₂는"), ("w₁₀을(를)", "w₁₀을"), ("x²이(가)", "x²이"), ("a³(으)로", "a³으로"),
    # several in one text, and the pair in either order
    ("w은(는) x와(과) y을(를)", "w는 x와 y를"), ("텐서는(은)", "텐서는"), ("값를(을)", "값을"), ("x가(이)", "x가"),
    # unknown readings keep the pair as written
    ("?이(가)", "?이(가)"), (" 은(는)", " 은(는)"), ("σ은(는)", "σ은(는)"), ("…이(가)", "…이(가)"),
    # nothing to do
    ("리프(leaf) 텐서", "리프(leaf) 텐서"), ("(이전 값은 None)", "(이전 값은 None)"), ("no particles", "no particles"),
])
def test_particles(text, want):
    assert particles(text) == want


def test_final_sound():
    assert final_sound("값") == "ㅄ" and final_sound("밥") == "ㅂ" and final_sound("파일") == "ㄹ" and final_sound("텐서") == ""
    assert final_sound("10") == "ㅂ" and final_sound("100") == "ㄱ" and final_sound("?") is None
    assert final_sound("") is None and final_sound("(") is None and final_sound("x)") is None


# --- end to end: what a learner sees in Korean ----------------------------------------------

def _no_template(text: str, where: str) -> None:
    hit = PARTICLE_TEMPLATE.search(text)
    assert hit is None, f"particle template in {where}: ...{text[max(0, hit.start() - 40):hit.end() + 20]}..."


@pytest.mark.parametrize("number", ["01", "02", "04", "06"])
def test_korean_lessons_have_no_particle_templates(number):
    (path,) = LESSONS_DIR.glob(f"{number}_*.py")
    rec = gradviz.run_script(path)
    assert rec.error is None and rec.graphs
    steps = [s for g in rec.graphs for s in g.steps]
    assert steps and any(HANGUL.search(s.explanation_ko) for s in steps)
    for s in steps:
        _no_template(s.explanation_ko, f"lesson {number}, step {s.op}")
    for p in rec.pitfalls:
        _no_template(p.title_ko + p.explanation_ko, f"lesson {number}, pitfall {p.kind}")
    for it in rec.iterations:
        for name, u in it.params.items():
            if u.formula is not None:
                _no_template(u.formula.explanation_ko, f"lesson {number}, the update of {name}")
    page = recording_html(rec, lang="ko")
    assert '<html lang="ko">' in page and HANGUL.search(page)
    _no_template(page, f"lesson {number}'s Korean stepper")
    for g in rec.graphs[:3]:
        for step in (None, 0):
            _no_template(g.svg(lang="ko", step=step), f"lesson {number}'s Korean SVG")
    lesson = next(l for l in LESSONS if l.script == path.name)
    _no_template(lesson.title["ko"] + lesson.text["ko"], f"lesson {number}'s text")


BROKEN = {
    "broadcast": """
        import torch
        x = torch.ones(2, 3, requires_grad=True)
        b = torch.ones(4)
        y = x + b
        """,
    "backward_twice": """
        import torch
        w = torch.tensor(2.0, requires_grad=True)
        h = w * 3
        for i in range(2):
            loss = h ** 2
            loss.backward()
        """,
    "int_mean": """
        import torch
        n = torch.tensor([1, 2, 3])
        m = n.mean()
        """,
    "linear": """
        import torch
        layer = torch.nn.Linear(3, 2)
        x = torch.ones(4, 5)
        y = layer(x)
        """,
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_korean_error_explanations_have_no_particle_templates(tmp_path, kind):
    path = tmp_path / "broken.py"
    path.write_text(textwrap.dedent(BROKEN[kind]).lstrip())
    e = gradviz.run_script(path).error
    assert e is not None and HANGUL.search(e.explanation_ko) and HANGUL.search(e.hint_ko), e
    _no_template(e.explanation_ko + e.hint_ko, f"the Korean explanation of {kind}")


def test_korean_app_labels_have_no_particle_templates(catalogs):
    catalog, extracted, _ = catalogs
    seen = 0
    for m in extracted:
        if not m.id or not any(f.startswith("gradviz/ui/") for f, _ in m.locations):
            continue
        values = {name: "x" for name in catalog.placeholders(m.id)}
        text = tr_in(m.context, m.id, "ko", **values) if m.context else tr(m.id, "ko", **values)
        assert HANGUL.search(text) or not HANGUL.search(template(m.id, "ko", m.context)), m.id
        _no_template(text, f"the app's label {m.id!r}")
        seen += 1
    assert seen > 80  # the app's own step view is gone: its words live in render/html.py now
