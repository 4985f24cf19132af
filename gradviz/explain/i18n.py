"""The words of the chain-rule explanations, in English and Korean.

The formulas themselves (∂L/∂x = ∂L/∂y · 3 = 6 · 3 = 18) are the same in every
language; only the remarks around them are translated. `say(key, lang, **kw)`
fills one template; an unknown language falls back to English.
"""
from __future__ import annotations

LANGS = ("en", "ko")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "broadcast": "{name} was broadcast from {src} to {dst}: its gradient sums over {dims}",
        "dim": "dim {dims}",
        "dims": "dims {dims}",
        "fan_in": "{name} is used {n} times: the gradients from all its uses add up",
        "retain": "{name}.retain_grad(): {name}.grad = {value} is kept here",
        "acc_first": "{name} is a leaf: AccumulateGrad stores the gradient in {name}.grad (it was None)",
        "acc_more": "{name}.grad already held {before} (not zeroed): gradients accumulate",
        "acc_fan_in": "{name} is used {n} times: the gradients of all its uses add up in {name}.grad",
        "not_picked": "{name}{idx} is not in {expr}: its gradient is 0",
        "not_target": "{name}{idx} is not the target class: only the target's log-probability is in the loss, so its gradient is 0",
        "stopped": "{op} is flat at {name}{idx}: the gradient stops there (0)",
        "no_values": "values not kept (more than 64 elements): the rule and the result only",
        "constant": "{name} is a constant (requires_grad=False): it gets no gradient",
        "generic": "{op} received {up} and sent {down}",
        "no_formula": "(no formula for this op here: the numbers in and out)",
        "recorded": "autograd sent {value}",
        "moved": "{op} only moves numbers: each gradient goes back to the place its number came from",
        "sum_copy": "sum copies the gradient to every element it added",
        "mean_split": "mean shares the gradient equally: each element gets 1/{n} of it",
        "max_pick": "only the largest element decides max: the gradient goes there, the others get 0",
        "min_pick": "only the smallest element decides min: the gradient goes there, the others get 0",
        "softmax_sum": "{defs}g = ∂{root}/∂{y}: Σₖ g{k}·{y}{k} = {value}",
        "log_softmax_sum": "{defs}g = ∂{root}/∂{y}: Σₖ g{k} = {value}",
        "check_ok": "{name}: autograd {autograd}, numeric {numeric} (|Δ| {diff}) ✓",
        "check_bad": "{name}: autograd {autograd}, numeric {numeric} (|Δ| {diff}) ✗ they disagree",
        "check_skip": "{name}: not checked ({n} elements, more than {limit})",
        "check_summed": "the build returned {n} elements: their sum was checked",
    },
    "ko": {
        "broadcast": "브로드캐스팅: {name}의 모양이 {src}에서 {dst}(으)로 늘어났으므로, 기울기는 {dims}에 걸쳐 더해집니다",
        "dim": "차원 {dims}",
        "dims": "차원 {dims}",
        "fan_in": "{name}이(가) {n}번 쓰였으므로, 각 경로에서 온 기울기를 모두 더합니다",
        "retain": "{name}.retain_grad() 덕분에 여기서 {name}.grad = {value} 값이 저장됩니다",
        "acc_first": "{name}은(는) 리프 텐서: AccumulateGrad가 기울기를 {name}.grad에 저장합니다 (이전 값은 None)",
        "acc_more": "{name}.grad에 이미 {before}이(가) 있었습니다 (zero_grad 하지 않음): 기울기가 누적됩니다",
        "acc_fan_in": "{name}이(가) {n}번 쓰였으므로, 모든 경로의 기울기가 {name}.grad에 더해집니다",
        "not_picked": "{name}{idx}은(는) {expr}에 들어가지 않으므로 기울기는 0입니다",
        "not_target": "{name}{idx}은(는) 정답 클래스가 아닙니다: 손실에는 정답의 로그 확률만 들어가므로 기울기는 0입니다",
        "stopped": "{name}{idx}에서 {op}의 기울기가 0이므로 기울기가 더 흐르지 않습니다",
        "no_values": "값이 저장되지 않았습니다 (원소 64개 초과): 규칙과 결과만 보여 줍니다",
        "constant": "{name}은(는) 상수입니다 (requires_grad=False): 기울기를 받지 않습니다",
        "generic": "{op}: 받은 기울기 {up}, 보낸 기울기 {down}",
        "no_formula": "(이 연산의 공식은 준비되지 않았습니다: 들어오고 나간 값만 보여 줍니다)",
        "recorded": "autograd가 보낸 값: {value}",
        "moved": "{op}은(는) 숫자의 자리만 옮깁니다: 각 기울기는 그 숫자가 원래 있던 자리로 돌아갑니다",
        "sum_copy": "sum은 더한 모든 원소에 기울기를 그대로 복사해 줍니다",
        "mean_split": "mean은 기울기를 똑같이 나눕니다: 각 원소는 1/{n}씩 받습니다",
        "max_pick": "max의 값은 가장 큰 원소 하나로 정해지므로, 기울기는 그 원소로만 가고 나머지는 0입니다",
        "min_pick": "min의 값은 가장 작은 원소 하나로 정해지므로, 기울기는 그 원소로만 가고 나머지는 0입니다",
        "softmax_sum": "{defs}g = ∂{root}/∂{y}: Σₖ g{k}·{y}{k} = {value}",
        "log_softmax_sum": "{defs}g = ∂{root}/∂{y}: Σₖ g{k} = {value}",
        "check_ok": "{name}: autograd {autograd}, 수치 미분 {numeric} (차이 {diff}) ✓",
        "check_bad": "{name}: autograd {autograd}, 수치 미분 {numeric} (차이 {diff}) ✗ 값이 서로 다릅니다",
        "check_skip": "{name}: 검사하지 않음 (원소 {n}개, {limit}개 초과)",
        "check_summed": "결과가 원소 {n}개라서 그 합을 검사했습니다",
    },
}


def say(key: str, lang: str = "en", **kw: object) -> str:
    """One remark in `lang` (English when the language or the key is unknown)."""
    table = TEXT.get(lang) or TEXT["en"]
    template = table.get(key) or TEXT["en"].get(key) or key
    try:
        return template.format(**kw)
    except (KeyError, IndexError, ValueError):
        return template
