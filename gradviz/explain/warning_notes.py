"""Words for a warning worth explaining (reading .grad of a non-leaf, ...): message in, texts out.

Pure: the catalogue's WARNINGS (gradviz.explain.mistakes) filled from the message
and the user's source line, in English and Korean (gradviz.words).
gradviz.script_watch catches the warnings while a script runs. Named so it does not
shadow the standard library's `warnings`.
"""
from __future__ import annotations

import re

from gradviz.explain.mistakes import WARNINGS
from gradviz.words import N_, both

__all__ = ["explain_warning"]


def explain_warning(message: str, source_line: str | None = None) -> dict | None:
    """Words for a warning worth explaining, or None.

    Returns {"id", "warning" (its text), "name", "title", "title_ko", "explanation",
    "explanation_ko" (with the fix), "hint"}.
    """
    for wid, w in WARNINGS.items():
        m = re.search(w.detect, message)
        if m is None:
            continue
        values: dict = {k: v for k, v in m.groupdict().items() if v is not None}
        name = None
        if wid == "nonleaf_grad" and source_line:
            found = re.findall(r"([A-Za-z_][\w.]*)\.grad\b", source_line)
            name = found[0] if found else None
        values["name"] = name or both(N_("tensor"))  # each language its own word
        title, title_ko = both(w.title, **values)
        text, text_ko = both(w.en, **values)
        hint, hint_ko = both(w.fix, **values)
        return {
            "id": wid,
            "warning": message.split(" (Triggered internally")[0].strip()[:300],
            "name": name,
            "title": title,
            "title_ko": title_ko,
            "explanation": text,
            "explanation_ko": both(N_("{text} Fix: {fix}"), text=(text, text_ko), fix=(hint, hint_ko))[1],
            "hint": hint,
        }
    return None
