"""Broadcasting, shown: shapes lined up from the right, with ^ under the dimensions that clash.

Used by the broadcast error's explanation (exceptions.py). Lists of ints in, text (in `lang`) out.
"""
from __future__ import annotations

from gradviz.words import N_, tr

__all__ = ["broadcast_conflicts", "align_shapes"]


def broadcast_conflicts(a: list[int], b: list[int]) -> list[int]:
    """Dimensions (counted in the broadcast shape) where a and b cannot be broadcast."""
    n = max(len(a), len(b))
    pa, pb = [1] * (n - len(a)) + list(a), [1] * (n - len(b)) + list(b)
    return [i for i in range(n) if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1]


def align_shapes(rows: list[tuple[str, list[int]]], lang: str = "en") -> str:
    """Shapes lined up from the right, with ^ under each dimension that cannot broadcast.

        x: [2, 3]
        b:    [4]
               ^ dimension 1: 3 vs 4 (neither is 1)
    """
    n = max((len(s) for _, s in rows), default=0)
    padded = [[None] * (n - len(s)) + [int(d) for d in s] for _, s in rows]
    widths = [max((len(str(p[j])) for p in padded if p[j] is not None), default=1) for j in range(n)]
    label_w = max((len(label) for label, _ in rows), default=0) + 2
    starts, pos = [], label_w + 1
    for w in widths:
        starts.append(pos)
        pos += w + 2
    lines = []
    for (label, shape), p in zip(rows, padded):
        chars = [" "] * (pos + 1)
        chars[: len(label) + 1] = list(label + ":")
        present = [j for j in range(n) if p[j] is not None]
        if not present:
            chars[label_w: label_w + 2] = list("[]")
        for k, j in enumerate(present):
            text = str(p[j]).rjust(widths[j])
            chars[starts[j]: starts[j] + len(text)] = list(text)
            if k == 0:
                chars[starts[j] + len(text) - len(text.lstrip()) - 1] = "["
            if k + 1 < len(present):
                chars[starts[j] + widths[j]] = ","
            else:
                chars[starts[j] + widths[j]] = "]"
        lines.append("    " + "".join(chars).rstrip())
    bad = broadcast_conflicts(*(s for _, s in rows[:2])) if len(rows) >= 2 else []
    if bad:
        chars = [" "] * (pos + 1)
        for j in bad:
            chars[starts[j] + widths[j] - 1] = "^"
        j = bad[0]
        pair = [p[j] for p in padded[:2]]
        detail = tr("dimension {dim} ({nth} from the right): {a} vs {b}, and neither is 1", lang,
                    dim=j, nth=_ordinal(n - j, lang), a=pair[0], b=pair[1])
        lines.append("    " + "".join(chars).rstrip() + " " + detail)
    return "\n".join(lines)


_ORDINALS = {1: N_("1st"), 2: N_("2nd"), 3: N_("3rd")}


def _ordinal(k: int, lang: str) -> str:
    return tr(_ORDINALS[k], lang) if k in _ORDINALS else tr("{k}th", lang, k=k)
