"""The catalogs' upkeep, for developers and translators (needs Babel: `pip install babel`).

    python -m gradviz.words.catalog update           extract gradviz.pot from the source,
                                                     merge it into every .po, compile each .mo
    python -m gradviz.words.catalog check            exit 1, saying why, when the template is
                                                     stale, a message is untranslated, fuzzy or
                                                     obsolete, placeholders differ, or a .mo is old
    python -m gradviz.words.catalog init CODE NAME   start locale/CODE/LC_MESSAGES/gradviz.po
                                                     (NAME: the language's own name, e.g. 日本語)

Messages are the first argument of tr(), both() and N_() (tr_in(context, msgid)
adds a msgctxt) anywhere under gradviz/. Files are rewritten only when their
messages change, so dates do not churn; the .po keeps the X-Native-Name header
that gradviz.words.languages() shows. Nothing here runs when gradviz runs.
"""
from __future__ import annotations

import io
import string
import sys
from pathlib import Path

from gradviz.words import DOMAIN, LOCALE

PACKAGE = LOCALE.parent.parent  # gradviz/
TEMPLATE = LOCALE / f"{DOMAIN}.pot"
KEYWORDS = {"tr": None, "both": None, "N_": None, "tr_in": ((1, "c"), 2)}
_SKIP_DIRS = ("lessons/0", "lessons/1")  # the lesson scripts are the learner's code
HEADER = """Translations of gradviz, a visual debugger for PyTorch autograd.

Keep every {placeholder} as it is. Korean: write a particle that depends on the
word before it as a pair, {name}이(가), 은(는), 을(를), 과(와), (으)로, (이)라서;
gradviz picks the right form once the word is known (gradviz/words/korean.py).
"""

try:
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import PoFileParser, write_po
except ImportError:  # pragma: no cover - a developer tool
    sys.exit("gradviz.words.catalog needs Babel: pip install babel")


class _Catalog(Catalog):
    """Babel's Catalog, keeping the X- headers (X-Native-Name) and leaving out Generated-By,
    so a compiled .mo does not depend on the Babel version."""

    extra: list[tuple[str, str]] = []

    @property
    def mime_headers(self) -> list[tuple[str, str]]:
        base = [(k, v) for k, v in Catalog.mime_headers.fget(self) if k != "Generated-By"]
        return base + list(self.extra)

    @mime_headers.setter
    def mime_headers(self, headers) -> None:
        headers = list(headers)
        self.extra = [(k, v) for k, v in headers if k.lower().startswith("x-")]
        Catalog.mime_headers.fset(self, headers)


def extract() -> _Catalog:
    """Every message in the source, in a fresh template."""
    cat = _Catalog(project="gradviz", version="", domain=DOMAIN, charset="utf-8",
                   header_comment="# " + HEADER.strip().replace("\n", "\n# "), fuzzy=False)
    found = extract_from_dir(str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS,
                             comment_tags=("TRANSLATORS:",), strip_comment_tags=True)
    for filename, lineno, message, comments, context in found:
        if filename.startswith(_SKIP_DIRS):
            continue
        where = (f"gradviz/{filename}", None)
        old = cat.get(message, context)
        if old is not None:
            old.locations.append(where)
        else:
            cat.add(message, None, [where], auto_comments=comments, context=context)
    return cat


def read(path: Path) -> _Catalog:
    cat = _Catalog(domain=DOMAIN, charset="utf-8")
    with path.open("rb") as f:
        PoFileParser(cat, ignore_obsolete=False).parse(f)
    return cat


def po_text(cat: Catalog) -> bytes:
    buf = io.BytesIO()
    write_po(buf, cat, width=100, sort_by_file=True, include_lineno=False, ignore_obsolete=True)
    return buf.getvalue()


def mo_bytes(cat: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, cat, use_fuzzy=False)
    return buf.getvalue()


def po_paths() -> list[Path]:
    return sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def _template() -> tuple[_Catalog, bytes]:
    """The extracted template and its text, dated as the file on disk while its messages stay."""
    cat = extract()
    if TEMPLATE.is_file():
        cat.creation_date = read(TEMPLATE).creation_date
        text = po_text(cat)
        if text == TEMPLATE.read_bytes():
            return cat, text
        cat.creation_date = Catalog().creation_date  # now
    return cat, po_text(cat)


def _write(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print(f"wrote {path.relative_to(PACKAGE.parent)}")
    return True


def update() -> None:
    """Template from the source, merged into every .po, every .mo compiled."""
    template, text = _template()
    _write(TEMPLATE, text)
    for path in po_paths():
        cat = read(path)
        cat.update(template)
        _write(path, po_text(cat))
        _write(path.with_suffix(".mo"), mo_bytes(read(path)))


def init(code: str, name: str) -> None:
    """A new language's .po, every message still to translate."""
    path = LOCALE / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    if path.exists():
        sys.exit(f"{path} exists already")
    template, _ = _template()
    cat = _Catalog(locale=code, project="gradviz", version="", domain=DOMAIN, charset="utf-8",
                   header_comment=template.header_comment, fuzzy=False)
    cat.extra = [("X-Native-Name", name)]
    cat.update(template)
    _write(path, po_text(cat))


def placeholders(text: str) -> set[str]:
    try:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError:
        return {"<broken template>"}


def problems() -> list[str]:
    """What `check` complains about; empty when the catalogs are in order."""
    out = []
    template, text = _template()
    if not TEMPLATE.is_file() or TEMPLATE.read_bytes() != text:
        out.append(f"{TEMPLATE.name} is stale: run `python -m gradviz.words.catalog update`")
    wanted = {(m.id, m.context) for m in template if m.id}
    for path in po_paths():
        lang = path.parent.parent.name
        cat = read(path)
        if not any(k.lower() == "x-native-name" for k, _ in cat.extra):
            out.append(f"{lang}: no X-Native-Name header")
        have = {(m.id, m.context): m for m in cat if m.id}
        for key in sorted(wanted - set(have), key=str):
            out.append(f"{lang}: missing {key[0][:70]!r}")
        for key in sorted(set(have) - wanted, key=str):
            out.append(f"{lang}: stale (no longer in the source) {key[0][:70]!r}")
        for key, m in have.items():
            if key not in wanted:
                continue
            if not m.string:
                out.append(f"{lang}: untranslated {m.id[:70]!r}")
            elif m.fuzzy:
                out.append(f"{lang}: fuzzy {m.id[:70]!r}")
            elif placeholders(m.string) != placeholders(m.id):
                out.append(f"{lang}: placeholders {sorted(placeholders(m.string))} != "
                           f"{sorted(placeholders(m.id))} in {m.id[:60]!r}")
        for m in cat.obsolete.values():
            out.append(f"{lang}: obsolete {m.id[:70]!r}")
        mo = path.with_suffix(".mo")
        if not mo.is_file() or mo.read_bytes() != mo_bytes(cat):
            out.append(f"{lang}: {mo.name} is not the compiled .po: run update")
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["update"]:
        update()
        return 0
    if args[:1] == ["check"]:
        found = problems()
        print("\n".join(found) or "the catalogs are in order")
        return 1 if found else 0
    if args[:1] == ["init"] and len(args) == 3:
        init(args[1], args[2])
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
