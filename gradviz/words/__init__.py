"""One home for the words gradviz shows: English in the code, every other language in a gettext catalog.

The English text is the message id, written where it is used:

    tr("{name} is used {n} times", lang, name="x", n=2)   # in `lang` ("en", "ko", ...)
    both("{name} is a leaf", name="w")                     # (English, Korean): the *_ko data fields
    N_("The chain rule")                                   # marked for the catalog, not translated

Translations live in `locale/<lang>/LC_MESSAGES/gradviz.po`, compiled to the `.mo`
beside it, read with the standard library's gettext (no runtime dependency),
once per language. `languages()` lists English and every compiled catalog, named
by the `.po`'s `X-Native-Name` header. Korean translations write a particle that
depends on the word before it as a pair, `{name}이(가)`, and gradviz.words.korean
picks the form that fits once the values are in. Filling never raises: a missing
value prints "?", a broken template prints as written.

A translator adds a language without reading Python:

    python -m gradviz.words.catalog init ja 日本語   # locale/ja/LC_MESSAGES/gradviz.po from the template
    (translate every msgstr in that file, e.g. with Poedit)
    python -m gradviz.words.catalog update          # compile the .mo; check reports what is missing

Developers, after changing any text: `python -m gradviz.words.catalog update`
(extract the template gradviz.pot, merge it into every .po, compile the .mo) and
`python -m gradviz.words.catalog check`; both need Babel (the `test` extra).

This is a base-layer package: it imports nothing of gradviz and no torch.

    __init__.py   tr / both / N_ / languages: the words in a language, filled
    korean.py     Korean particles chosen from the last syllable of the word before them
    notes.py      the notes a recording keeps: English templates, shown in the reader's language
    catalog.py    the developers' and translators' tool: extract, merge, compile, check (Babel)
    locale/       gradviz.pot (the template) and <lang>/LC_MESSAGES/gradviz.po + .mo
"""
from __future__ import annotations

import functools
import gettext
import string
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from gradviz.words.korean import particles

__all__ = ["tr", "tr_in", "both", "pick", "N_", "languages", "template", "fill", "Msg", "LOCALE", "DOMAIN"]

LOCALE = Path(__file__).resolve().parent / "locale"
DOMAIN = "gradviz"
SOURCE = "en"  # the language of the message ids
_AFTER = {"ko": particles}  # what a language does to a filled text


@functools.cache
def _catalog(lang: str) -> gettext.GNUTranslations | None:
    path = LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if lang == SOURCE or "/" in lang or not path.is_file():
        return None
    try:
        with path.open("rb") as f:
            return gettext.GNUTranslations(f)
    except (OSError, ValueError):  # a broken catalog: that language shows English
        return None


@functools.cache
def languages() -> dict[str, str]:
    """{code: the language's own name}: English, then every compiled catalog found."""
    out = {SOURCE: "English"}
    for mo in sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")):
        code = mo.parent.parent.name
        cat = _catalog(code)
        if cat is not None:
            out[code] = cat.info().get("x-native-name") or code
    return out


def template(msgid: str, lang: str = SOURCE, context: str | None = None) -> str:
    """The translation of `msgid` in `lang`, unfilled; the msgid itself where there is none."""
    cat = _catalog(lang) if isinstance(lang, str) else None
    if cat is None:
        return msgid
    return cat.pgettext(context, msgid) if context else cat.gettext(msgid)


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


_formatter = string.Formatter()


def fill(text: str, values: Mapping[str, Any]) -> str:
    """text.format(**values), with "?" for a missing value; a broken template comes back as written."""
    try:
        return _formatter.vformat(text, (), _Blank(values))
    except (ValueError, IndexError, AttributeError, KeyError, TypeError):
        return text


def tr(msgid: str, lang: str = SOURCE, **values: Any) -> str:
    """`msgid` in `lang`, filled with `values` (English, or the msgid, where no translation exists)."""
    return _finish(template(msgid, lang), lang, values)


def tr_in(context: str, msgid: str, lang: str = SOURCE, **values: Any) -> str:
    """tr() for a msgid that needs another translation in this `context` (gettext's msgctxt)."""
    return _finish(template(msgid, lang, context), lang, values)


def _finish(text: str, lang: str, values: Mapping[str, Any]) -> str:
    text = fill(text, values)
    after = _AFTER.get(lang)
    return after(text) if after is not None else text


def both(msgid: str, **values: Any) -> tuple[str, str]:
    """(English, Korean) of `msgid`, for the data's `x` / `x_ko` pairs.

    A value that is itself such a pair gives each language its own side.
    """
    def side(i: int) -> dict[str, Any]:
        return {k: (v[i] if _is_pair(v) else v) for k, v in values.items()}

    return tr(msgid, SOURCE, **side(0)), tr(msgid, "ko", **side(1))


def pick(en: str, ko: str | None, lang: str) -> str:
    """The side of a data pair (`explanation` / `explanation_ko`) for `lang`: Korean when asked and filled."""
    return ko if lang == "ko" and ko else en


def _is_pair(v: Any) -> bool:
    return isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, str) for x in v)


def N_(msgid: str) -> str:
    """Mark `msgid` for the catalog where it is written in a table; translate it later with tr()."""
    return msgid


class Msg(Mapping[str, str]):
    """One msgid read as {language: text}: `title["ko"]`, `set(title) == set(languages())`."""

    __slots__ = ("msgid",)

    def __init__(self, msgid: str):
        self.msgid = msgid

    def __getitem__(self, lang: str) -> str:
        if lang not in languages():
            raise KeyError(lang)
        return tr(self.msgid, lang)

    def __iter__(self) -> Iterator[str]:
        return iter(languages())

    def __len__(self) -> int:
        return len(languages())

    def __str__(self) -> str:
        return self.msgid

    def __repr__(self) -> str:
        return f"Msg({self.msgid!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and other.msgid == self.msgid

    def __hash__(self) -> int:
        return hash(self.msgid)
