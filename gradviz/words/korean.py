"""Korean particles chosen from the sound they follow: `x이(가)` becomes `x가`, `w1이(가)` becomes `w1이`.

Translations write a particle that depends on the word before it the conventional
way, as a pair: 은(는), 이(가), 을(를), 과(와), 아(야) (either order), (으)로,
and (이) or (으) before any ending, such as (이)라서 or (이)다. After formatting,
`particles(text)` replaces each pair written right after a word (no space) with
the form that fits how that word is read aloud:

- a Hangul syllable: its 받침 (final consonant); ㄹ takes 로, not 으로;
- digits: as Korean numbers are read: 0 영, 1 일, 3 삼, 6 육, 7 칠, 8 팔 end in a
  받침, 2 이, 4 사, 5 오, 9 구 do not; round numbers by their unit (10 십,
  100 백, 1000 천, 10000 만, 10⁸ 억, 10¹² 조); after a decimal point digit by digit
  (0.5 오, 1.0 영);
- a single Latin letter, a run of capitals (MSE, ReLU's LU, NaN's N) or a
  lowercase run without a vowel (lr, fc, nn): by the last letter's Korean name:
  l 엘, m 엠, n 엔, r 알 end in a 받침, the others (a 에이, w 더블유, x 엑스, ...) do not;
- other Latin words, a heuristic after how loanwords are spelled in Hangul:
  ending in l or le (ㄹ), m, n or ng take a 받침, and so do t, p, k after one
  short vowel or "ou" (input 인풋, step 스텝, out 아웃), and ck (stack 스택);
  every other ending none (weight는, loss는, grad가, model은, mean은).

Before reading, closing quotes, backticks, `*` (Markdown bold) and `_` are
skipped, `]` and `}` are read through (x[0] reads its 0, [2, 3] its 3), and a
`(...)` right after a word is a gloss or a call's arguments, so the word before
it decides (`x(모양 [3])가`, `mean()을`). Where the reading is unknown (a symbol,
`?`, a space before the pair) the pair stays as written.
"""
from __future__ import annotations

import re

__all__ = ["particles", "final_sound"]

# the pairs, with (form after a 받침, form after a vowel); (으)로 and (이)/(으) are apart
_PAIRS = {"은(는)": ("은", "는"), "는(은)": ("은", "는"), "이(가)": ("이", "가"), "가(이)": ("이", "가"),
          "을(를)": ("을", "를"), "를(을)": ("을", "를"), "과(와)": ("과", "와"), "와(과)": ("과", "와"),
          "아(야)": ("아", "야"), "야(아)": ("아", "야")}
_PATTERN = re.compile("|".join(re.escape(p) for p in sorted(_PAIRS, key=len, reverse=True))
                      + r"|\((?:으|이)\)(?=[가-힣])|으로\(로\)|로\(으로\)")

_JONG = [""] + list("ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ")
_DIGIT = {"0": "ㅇ", "1": "ㄹ", "2": "", "3": "ㅁ", "4": "", "5": "", "6": "ㄱ", "7": "ㄹ", "8": "ㄹ", "9": ""}
# the unit a round number ends with, by its count of trailing zeros: 십 백 천 만 (up to 천만) 억 조 경
_UNIT = {1: "ㅂ", 2: "ㄱ", 3: "ㄴ", 4: "ㄴ", 5: "ㄴ", 6: "ㄴ", 7: "ㄴ", 8: "ㄱ", 9: "ㄱ", 10: "ㄱ", 11: "ㄱ",
         12: "", 13: "", 14: "", 15: "", 16: "ㅇ", 17: "ㅇ", 18: "ㅇ", 19: "ㅇ"}
_LETTER = {"l": "ㄹ", "m": "ㅁ", "n": "ㄴ", "r": "ㄹ"}  # 엘 엠 엔 알; every other letter's name ends in a vowel
_SHORT = {"t": "ㅅ", "p": "ㅂ", "k": "ㄱ"}
_SKIP = set("`'\"”’»*_")
_THROUGH = set("]}")


def particles(text: str) -> str:
    """`text` with every particle pair after a word resolved; pairs after an unknown sound stay."""
    if "(" not in text:
        return text
    return _PATTERN.sub(lambda m: _choose(m.group(0), final_sound(text[:m.start()])), text)


def _choose(pair: str, final: str | None) -> str:
    if final is None:
        return pair
    if pair in _PAIRS:
        return _PAIRS[pair][0 if final else 1]
    if pair in ("(으)", "으로(로)", "로(으로)"):  # no 으 after a vowel or after ㄹ
        rest = "로" if pair != "(으)" else ""
        return ("으" if final and final != "ㄹ" else "") + rest
    return "이" if final else ""  # (이)


def final_sound(before: str) -> str | None:
    """The final consonant (a jamo such as "ㄴ", "ㄹ") of how `before` ends when read aloud,
    "" for a vowel, None when unknown."""
    i = len(before)
    while i > 0:
        c = before[i - 1]
        if c in _SKIP or c in _THROUGH:
            i -= 1
        elif c == ")":
            j = _opening(before, i - 1)
            if j is None:
                return None
            i = j if j > 0 and not before[j - 1].isspace() else i - 1
        else:
            break
    if i == 0:
        return None
    c = before[i - 1]
    if c in _POWERS:  # x² is read "x 제곱", x³ "x 세제곱": both end in ㅂ
        return "ㅂ"
    if c in _SMALL:  # GRU.bias₂: a subscript is read as the digit (이)
        return _number(before[:i].translate(_SMALL_DIGITS))
    if "가" <= c <= "힣":
        return _JONG[(ord(c) - 0xAC00) % 28]
    if c.isascii() and c.isdigit():
        return _number(before[:i])
    if c.isascii() and c.isalpha():
        return _latin(before[:i])
    return None


_POWERS = "⁰¹²³⁴⁵⁶⁷⁸⁹ⁿ"
_SMALL = "₀₁₂₃₄₅₆₇₈₉"
_SMALL_DIGITS = str.maketrans(_SMALL, "0123456789")


def _opening(text: str, close: int) -> int | None:
    depth = 0
    for j in range(close, -1, -1):
        if text[j] == ")":
            depth += 1
        elif text[j] == "(":
            depth -= 1
            if depth == 0:
                return j
    return None


def _number(text: str) -> str | None:
    digits = re.search(r"\d+$", text).group(0)
    start = len(text) - len(digits)
    if start >= 2 and text[start - 1] == "." and text[start - 2].isdigit():
        return _DIGIT[digits[-1]]  # after a decimal point, digit by digit
    digits = digits.lstrip("0")
    if not digits:
        return _DIGIT["0"]
    zeros = len(digits) - len(digits.rstrip("0"))
    return _DIGIT[digits[-1]] if zeros == 0 else _UNIT.get(zeros)


def _latin(text: str) -> str:
    run = re.search(r"[A-Za-z]+$", text).group(0)
    if run[-1].isupper() or len(run) == 1 or not re.search(r"[aeiouy]", run):
        return _LETTER.get(run[-1].lower(), "")  # spelled out: the last letter's name
    word = run.lower()
    if word.endswith("ng"):
        return "ㅇ"
    if word.endswith(("l", "le")):
        return "ㄹ"
    if word.endswith("ck"):
        return "ㄱ"
    if re.search(r"(?:^|[^aeiouy])[aeiou][tpk]$|out$", word):  # a short vowel: 넷, 스텝, 아웃
        return _SHORT[word[-1]]
    return {"m": "ㅁ", "n": "ㄴ"}.get(word[-1], "")
