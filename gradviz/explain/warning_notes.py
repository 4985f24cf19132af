"""Words for a warning worth explaining (reading .grad of a non-leaf, ...): message in, texts out.

Pure: the catalogue's WARNINGS (gradviz.explain.mistakes) filled from the message
and the user's source line. gradviz.script_watch catches the warnings while a
script runs. Named so it does not shadow the standard library's `warnings`.
"""
from __future__ import annotations

import re

from gradviz.explain.mistakes import WARNINGS, fill

__all__ = ["explain_warning"]


def explain_warning(message: str, source_line: str | None = None) -> dict | None:
    """Words for a warning worth explaining, or None.

    Returns {"id", "warning" (its text), "name", "title", "title_ko", "explanation",
    "explanation_ko" (with the fix), "hint"}.
    """
    for wid, w in WARNINGS.items():
        m = re.search(w["detect"], message)
        if m is None:
            continue
        values = {k: v for k, v in m.groupdict().items() if v is not None}
        name = None
        if wid == "nonleaf_grad" and source_line:
            found = re.findall(r"([A-Za-z_][\w.]*)\.grad\b", source_line)
            name = found[0] if found else None
        values["name"] = name or "tensor"
        ko_values = values
        return {
            "id": wid,
            "warning": message.split(" (Triggered internally")[0].strip()[:300],
            "name": name,
            "title": fill(w["title"], values),
            "title_ko": fill(w["title_ko"], values),
            "explanation": fill(w["en"], values),
            "explanation_ko": fill(w["ko"], ko_values) + " 해결: " + fill(w["fix_ko"], ko_values),
            "hint": fill(w["fix"], values),
        }
    return None
