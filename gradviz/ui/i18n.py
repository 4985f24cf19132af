"""Every word the page shows, in English and Korean.

`t("next", "ko")` gives the Korean label; `t("step_of", "en", k=2, n=3)` fills
placeholders. A key missing in one language falls back to English, and a key
missing everywhere shows itself, so a typo is visible, never a crash.
"""
from __future__ import annotations

from typing import Any

LANGS = {"en": "English", "ko": "한국어"}

LABELS: dict[str, dict[str, str]] = {
    # page and sidebar
    "app_title": {"en": "gradviz: see autograd at work", "ko": "gradviz: autograd가 일하는 모습 보기"},
    "app_tagline": {
        "en": "Pick a lesson, then step through backward() one node at a time.",
        "ko": "레슨을 고른 뒤 backward()를 노드 하나씩 따라가 보세요.",
    },
    "language": {"en": "Language", "ko": "언어"},
    "topic": {"en": "Topic", "ko": "주제"},
    "lesson": {"en": "Lesson", "ko": "레슨"},
    "device": {"en": "Device", "ko": "장치"},
    "device_help": {
        "en": "Only the devices PyTorch finds on this machine are listed.",
        "ko": "이 컴퓨터에서 PyTorch가 찾은 장치만 보입니다.",
    },
    "quick_run": {"en": "Quick run (fewer iterations)", "ko": "빠른 실행 (반복 횟수 줄임)"},
    "quick_help": {
        "en": "Runs the lesson with fewer iterations, so it finishes in seconds (the numbers in the "
              "lesson text come from the full run)",
        "ko": "반복 횟수를 줄여 몇 초 안에 끝나도록 실행합니다 (레슨 설명의 숫자는 전체 실행 기준)",
    },
    "display": {"en": "Display", "ko": "표시"},
    "show_values": {"en": "Values", "ko": "값"},
    "show_grads": {"en": "Gradients", "ko": "기울기"},
    "show_constants": {"en": "Constants", "ko": "상수"},
    "show_attrs": {"en": "Saved attributes", "ko": "저장된 속성"},
    "depth": {"en": "Module collapse depth", "ko": "모듈 접기 깊이"},
    "depth_help": {
        "en": "0: each top-level nn.Module is one box; 1: their children are open, and so on. "
              "auto: big graphs are folded just enough to stay readable; all: every op.",
        "ko": "0: 최상위 nn.Module을 각각 상자 하나로, 1: 그 아래 단계를 펼쳐서… "
              "자동: 큰 그래프를 읽을 수 있을 만큼만 접기, 전부: 모든 연산 보기.",
    },
    "collapse_auto": {"en": "auto", "ko": "자동"},
    "collapse_open": {"en": "all", "ko": "전부"},
    "layout": {"en": "Layout direction", "ko": "배치 방향"},
    "layout_auto": {"en": "auto", "ko": "자동"},
    "layout_LR": {"en": "→", "ko": "→"},
    "layout_TB": {"en": "↓", "ko": "↓"},
    "rerun": {"en": "Run again", "ko": "다시 실행"},
    "rerun_help": {"en": "Forget the cached run and run the lesson again.",
                   "ko": "저장된 결과를 지우고 레슨을 다시 실행합니다."},
    # groups (used when the catalogue has no titles of its own)
    "group_basics": {"en": "Autograd basics", "ko": "Autograd 기초"},
    "group_descent": {"en": "Gradient descent", "ko": "경사 하강법"},
    "group_models": {"en": "Models", "ko": "모델"},
    "group_restoration": {"en": "Image restoration", "ko": "이미지 복원"},
    "group_code": {"en": "Your code", "ko": "내 코드"},
    "your_code": {"en": "Write and run your own code", "ko": "직접 코드를 써서 실행하기"},
    # running
    "running": {"en": "Running “{what}” in its own process (only the first visit waits)…",
                "ko": "“{what}” 실행 중 (별도 프로세스, 처음 한 번만 기다립니다)…"},
    "progress": {"en": "iteration {i} of {n}", "ko": "반복 {i} / {n}"},
    "progress_count": {"en": "iteration {i}", "ko": "반복 {i}"},
    "ran_on": {"en": "ran on {device} in a separate process", "ko": "별도 프로세스에서 {device}로 실행"},
    # tabs
    "tab_steps": {"en": "Backward, step by step", "ko": "backward 단계별 보기"},
    "tab_training": {"en": "Training", "ko": "학습 과정"},
    "tab_output": {"en": "Printed output", "ko": "출력 결과"},
    "tab_restoration": {"en": "Restoration", "ko": "이미지 복원"},
    # stepping
    "first": {"en": "First", "ko": "처음"},
    "prev": {"en": "Previous", "ko": "이전"},
    "next": {"en": "Next", "ko": "다음"},
    "last": {"en": "Last", "ko": "마지막"},
    "step": {"en": "Backward step", "ko": "역전파 단계"},
    "step_of": {"en": "Step {k} of {n}", "ko": "{n}단계 중 {k}단계"},
    "keys_hint": {"en": "Keys: ← → step, Home / End jump.", "ko": "키보드: ← → 한 단계, Home / End 처음·끝."},
    "graph_pick": {"en": "backward() call", "ko": "backward() 호출"},
    "graph_pick_help": {
        "en": "The script called backward() {n} times; each call has its own graph.",
        "ko": "스크립트가 backward()를 {n}번 불렀습니다. 호출마다 그래프가 따로 있습니다.",
    },
    "graph_iteration": {"en": "backward() call {i} of {n}", "ko": "backward() 호출 {i} / {n}"},
    "no_steps": {
        "en": "This graph has no backward steps to step through (backward() was not called on it).",
        "ko": "이 그래프에는 따라갈 역전파 단계가 없습니다 (backward()가 호출되지 않았습니다).",
    },
    "no_graph": {
        "en": "Nothing was recorded: the code never built a graph with a grad_fn.",
        "ko": "기록된 것이 없습니다. 코드가 grad_fn이 있는 그래프를 만들지 않았습니다.",
    },
    "graph": {"en": "Graph", "ko": "그래프"},
    "graph_caption": {
        "en": "Boxes are tensors (name | data | grad), ellipses autograd ops. The thick outline is "
              "the current step; orange edges carry the gradients sent so far; faded parts run later.",
        "ko": "상자는 텐서(이름 | 값 | 기울기), 타원은 autograd 연산입니다. 굵은 테두리가 현재 단계이고, "
              "주황색 화살표는 지금까지 보낸 기울기, 흐린 부분은 아직 실행되지 않은 단계입니다.",
    },
    "drawing": {"en": "Drawing the graph…", "ko": "그래프를 그리는 중…"},
    "overview": {
        "en": "A large graph: it is drawn once, the current step is outlined and the steps still to come "
              "are faded; the chain-rule card below has this step's numbers.",
        "ko": "큰 그래프라 한 번만 그립니다. 현재 단계는 테두리로, 남은 단계는 흐리게 표시하고, "
              "이 단계의 숫자는 아래 연쇄 법칙 카드에 있습니다.",
    },
    "fit": {"en": "Fit the graph to the page", "ko": "그래프를 화면 폭에 맞추기"},
    "render_failed": {"en": "The graph could not be drawn: {msg}", "ko": "그래프를 그리지 못했습니다: {msg}"},
    "source": {"en": "Source", "ko": "소스 코드"},
    "source_caption": {"en": "The highlighted line made the op of this step.",
                       "ko": "강조된 줄이 이 단계의 연산을 만든 줄입니다."},
    # chain-rule card
    "card_title": {"en": "Chain rule at this step", "ko": "이 단계의 연쇄 법칙"},
    "element": {"en": "Element to follow", "ko": "따라갈 원소"},
    "element_help": {"en": "This step moves {n} numbers; pick which one the chain rule spells out (flat index).",
                     "ko": "이 단계는 숫자 {n}개를 다룹니다. 연쇄 법칙을 풀어 쓸 원소를 고르세요 (평탄화한 번호)."},
    "card_received": {"en": "Gradient arriving", "ko": "들어온 기울기"},
    "card_sent": {"en": "Gradients sent on", "ko": "내보낸 기울기"},
    "card_to": {"en": "to", "ko": "→"},
    "card_nowhere": {"en": "(an input that needs no gradient)", "ko": "(기울기가 필요 없는 입력)"},
    "card_accumulate": {
        "en": "AccumulateGrad stores the arriving gradient in the leaf's .grad (adding to what was there).",
        "ko": "AccumulateGrad는 들어온 기울기를 리프의 .grad에 저장합니다 (이미 있던 값에 더함).",
    },
    "card_grad_change": {"en": "{name}.grad: {before} → {after}", "ko": "{name}.grad: {before} → {after}"},
    "card_line": {"en": "line {line}", "ko": "{line}번째 줄"},
    "card_op": {"en": "{op} is the backward of `{fwd}`.", "ko": "{op}는 `{fwd}`의 역방향 연산입니다."},
    # results and table
    "after_backward": {"en": "After backward():", "ko": "backward() 후:"},
    "tensors": {"en": "Tensors in this graph", "ko": "이 그래프의 텐서"},
    "col_name": {"en": "name", "ko": "이름"},
    "col_shape": {"en": "shape", "ko": "모양"},
    "col_value": {"en": "value", "ko": "값"},
    "col_grad": {"en": "grad (after backward)", "ko": "grad (backward 후)"},
    "scalar": {"en": "scalar", "ko": "스칼라"},
    "notes": {"en": "Notes", "ko": "참고"},
    "stdout_empty": {"en": "The script printed nothing.", "ko": "스크립트가 출력한 내용이 없습니다."},
    # training
    "no_iterations": {
        "en": "No training iterations were recorded for this run.",
        "ko": "이 실행에서는 학습 반복이 기록되지 않았습니다.",
    },
    "loss_curve": {"en": "Loss per iteration", "ko": "반복별 손실"},
    "log_scale": {"en": "log scale", "ko": "로그 눈금"},
    "trajectory": {"en": "Parameter trajectory", "ko": "파라미터 궤적"},
    "trajectory_parabola": {
        "en": "The curve is L = {p}²; each dot is one iterate, sliding down toward the minimum at 0.",
        "ko": "곡선은 L = {p}²이고 점 하나가 반복 한 번입니다. 점들이 최솟값 0을 향해 내려갑니다.",
    },
    "trajectory_caption": {"en": "Each dot is one iteration: the parameter's value and the loss there.",
                           "ko": "점 하나가 반복 한 번입니다: 그때의 파라미터 값과 손실."},
    "param_values": {"en": "Parameter values per iteration", "ko": "반복별 파라미터 값"},
    "param_norms": {"en": "Parameter size (norm) per iteration", "ko": "반복별 파라미터 크기 (노름)"},
    "iteration": {"en": "Iteration", "ko": "반복"},
    "iter_table": {"en": "Value, gradient and update per iteration", "ko": "반복별 값, 기울기, 업데이트"},
    "col_iteration": {"en": "iteration", "ko": "반복"},
    "col_loss": {"en": "loss", "ko": "손실"},
    "iter_graph": {"en": "Graph of iteration {i}", "ko": "{i}번째 반복의 그래프"},
    "iter_no_graph": {
        "en": "The graph of this iteration was not recorded (only the first {n} backward() calls are kept).",
        "ko": "이 반복의 그래프는 기록되지 않았습니다 (처음 {n}번의 backward() 호출만 저장합니다).",
    },
    "pitfalls": {"en": "Pitfalls spotted", "ko": "발견된 함정"},
    "pitfall_at": {"en": "iteration {i}", "ko": "{i}번째 반복"},
    # restoration
    "images_broken": {"en": "broken (what we have)", "ko": "오염된 이미지 (주어진 것)"},
    "images_restored": {"en": "restored (iteration {i})", "ko": "복원 중 ({i}번째 반복)"},
    "images_exact": {"en": "exact (the answer)", "ko": "정답 이미지"},
    "images_short": {
        "en": "After only {n} iterations the restored picture is still mostly noise: turn off "
              "the quick run to watch all 20000 (about half a minute).",
        "ko": "{n}번 반복으로는 복원된 그림이 아직 거의 노이즈입니다. 빠른 실행을 끄고 20000번 "
              "전체를 보세요 (30초 정도).",
    },
    "images_none": {"en": "This run recorded no images.", "ko": "이 실행에는 이미지가 기록되지 않았습니다."},
    "upload": {"en": "Your own picture", "ko": "내 이미지 사용"},
    "upload_help": {
        "en": "A PNG or JPEG picture (it is scaled to 100×100 grey and scrambled), or the book's "
              "broken_image_t.p. Pickles are read as plain numbers, never executed.",
        "ko": "PNG나 JPEG 그림(100×100 흑백으로 줄인 뒤 뒤섞습니다) 또는 책의 broken_image_t.p 파일. "
              "피클 파일은 숫자로만 읽고 절대 실행하지 않습니다.",
    },
    "upload_ok": {"en": "Using {name} ({shape}).", "ko": "{name} ({shape}) 사용 중."},
    "upload_refused": {"en": "This file was refused: {why}", "ko": "이 파일은 거부되었습니다: {why}"},
    "upload_unavailable": {
        "en": "Reading pickles safely needs gradviz.safe_pickle, which is not installed here; "
              "pickles are refused.",
        "ko": "피클을 안전하게 읽는 gradviz.safe_pickle이 없어 피클 파일은 받지 않습니다.",
    },
    # your code
    "code_title": {"en": "Your code", "ko": "내 코드"},
    "code_intro": {
        "en": "Write PyTorch code that calls backward(), then press Run. It runs in a separate "
              "process with a {t} s time limit and a {m} memory limit, so a mistake cannot break the app.",
        "ko": "backward()를 호출하는 PyTorch 코드를 쓰고 실행을 누르세요. 코드는 별도 프로세스에서 "
              "{t}초 시간 제한과 {m} 메모리 제한으로 실행되므로 실수해도 앱은 멈추지 않습니다.",
    },
    "code_editor": {"en": "Code", "ko": "코드"},
    "code_run": {"en": "Run", "ko": "실행"},
    "code_reset": {"en": "Starter snippet", "ko": "예제 코드로"},
    "code_off": {
        "en": "Running code is off because this server listens on {addr}, not only on localhost; "
              "set GRADVIZ_ALLOW_CODE=1 before starting it to allow it.",
        "ko": "이 서버가 localhost가 아닌 {addr}에서 접속을 받으므로 코드 실행이 꺼져 있습니다. "
              "허용하려면 GRADVIZ_ALLOW_CODE=1을 설정하고 서버를 시작하세요.",
    },
    "all_interfaces": {"en": "all network interfaces", "ko": "모든 네트워크 인터페이스"},
    "code_press_run": {"en": "Press Run to record your code.", "ko": "실행을 눌러 코드를 기록하세요."},
    "code_changed": {"en": "The code changed since the last run: press Run to see the new version.",
                     "ko": "마지막 실행 뒤에 코드가 바뀌었습니다. 실행을 눌러 새 버전을 보세요."},
    # errors
    "error_title": {"en": "{type} at line {line}", "ko": "{line}번째 줄에서 {type}"},
    "error_title_noline": {"en": "{type}", "ko": "{type}"},
    "error_fix": {"en": "Fix", "ko": "해결"},
    "error_partial": {"en": "The graph recorded before the error:", "ko": "오류 전까지 기록된 그래프:"},
    "lesson_missing": {"en": "This lesson's script was not found: {path}",
                       "ko": "이 레슨의 스크립트를 찾지 못했습니다: {path}"},
    "internal_error": {
        "en": "Something went wrong while showing this part ({type}: {msg}). The rest of the page still works.",
        "ko": "이 부분을 보여 주다가 문제가 생겼습니다 ({type}: {msg}). 페이지의 나머지는 정상입니다.",
    },
    # export
    "export": {"en": "Export", "ko": "내보내기"},
    "export_svg": {"en": "Graph (SVG)", "ko": "그래프 (SVG)"},
    "export_html": {"en": "Stepper (HTML)", "ko": "단계 보기 (HTML)"},
    "export_json": {"en": "Recording (JSON)", "ko": "기록 (JSON)"},
    "export_html_missing": {"en": "The HTML stepper is not available in this version.",
                            "ko": "이 버전에서는 HTML 단계 보기를 만들 수 없습니다."},
}


def t(key: str, lang: str = "en", **fmt: Any) -> str:
    """The label `key` in `lang`, with `{placeholders}` filled from `fmt`."""
    entry = LABELS.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["en"]
    return text.format(**fmt) if fmt else text


def pick(texts: Any, lang: str) -> str:
    """A {"en": ..., "ko": ...} dict (or a plain string) in `lang`, falling back to English."""
    if isinstance(texts, dict):
        return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")
    return "" if texts is None else str(texts)
