"""The sidebar: language, lesson, device and what the pictures show."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from gradviz.ui.graphs import DisplayOptions
from gradviz.ui.i18n import LANGS, pick, t

CODE = "code"  # the topic key of "your code"
COLLAPSE = ["0", "1", "2", "3", "auto", "open"]  # module depth shown as one box each; see DisplayOptions


@dataclass
class Choice:
    """Everything the sidebar decided, for the rest of the page."""

    lang: str
    lesson: Any | None  # a gradviz.lessons.Lesson, or None for "your code"
    device: str
    quick: bool
    opts: DisplayOptions

    @property
    def args(self) -> list[str]:
        if self.lesson is None:
            return []
        return list(self.lesson.quick_args) if self.quick and self.lesson.quick_args else []


def _catalogue():
    from gradviz.lessons import GROUP_TITLES, LESSONS

    groups: dict[str, list] = {}
    for lesson in sorted(LESSONS, key=lambda l: l.number):
        groups.setdefault(lesson.group, []).append(lesson)
    order = [g for g in GROUP_TITLES if g in groups] + [g for g in groups if g not in GROUP_TITLES]
    return order, groups, GROUP_TITLES


def _topic_title(key: str, titles: dict, lang: str) -> str:
    if key == CODE:
        return t("group_code", lang)
    if key in titles:
        return pick(titles[key], lang)
    return t(f"group_{key}", lang)


def _from_query(order: list[str], groups: dict) -> None:
    """?lesson=<id or number> in the address preselects a lesson (once per session)."""
    if st.session_state.get("_gv_query_done"):
        return
    st.session_state["_gv_query_done"] = True
    wanted = st.query_params.get("lesson")
    lang = st.query_params.get("lang")
    if lang in LANGS:
        st.session_state["gv_lang"] = lang
    if not wanted:
        return
    if wanted == CODE:
        st.session_state["gv_topic"] = CODE
        return
    for g in order:
        for lesson in groups[g]:
            if wanted in (lesson.id, str(lesson.number)):
                st.session_state["gv_topic"] = g
                st.session_state[f"gv_lesson|{g}"] = lesson.id


def show(devices: list[str]) -> Choice:
    order, groups, titles = _catalogue()
    _from_query(order, groups)
    sb = st.sidebar
    lang = sb.radio("Language · 언어", list(LANGS), format_func=LANGS.get, horizontal=True,
                    key="gv_lang")
    lang = lang if lang in LANGS else "en"

    topics = order + [CODE]
    if st.session_state.get("gv_topic") not in topics:
        st.session_state["gv_topic"] = topics[0]
    # a radio, not a selectbox: a selectbox keeps showing the old language's label
    topic = sb.radio(t("topic", lang), topics, key="gv_topic",
                     format_func=lambda k: _topic_title(k, titles, lang))
    lesson = None
    if topic != CODE:
        members = groups[topic]
        ids = [l.id for l in members]
        lkey = f"gv_lesson|{topic}"
        if st.session_state.get(lkey) not in ids:
            st.session_state[lkey] = ids[0]
        by_id = {l.id: l for l in members}
        chosen = sb.radio(t("lesson", lang), ids, key=lkey,
                          format_func=lambda i: f"{by_id[i].number}. {pick(by_id[i].title, lang)}")
        lesson = by_id.get(chosen, members[0])

    if st.session_state.get("gv_device") not in devices:
        st.session_state["gv_device"] = devices[0]
    device = sb.selectbox(t("device", lang), devices, key="gv_device", help=t("device_help", lang))

    quick = False
    if lesson is not None and lesson.quick_args:
        quick = sb.toggle(t("quick_run", lang), value=False, key="gv_quick",
                          help=t("quick_help", lang) + f" ({' '.join(lesson.quick_args)})")

    sb.markdown(f"**{t('display', lang)}**")
    c1, c2 = sb.columns(2)
    values = c1.checkbox(t("show_values", lang), value=True, key="gv_values")
    grads = c2.checkbox(t("show_grads", lang), value=True, key="gv_grads")
    constants = c1.checkbox(t("show_constants", lang), value=True, key="gv_constants")
    attrs = c2.checkbox(t("show_attrs", lang), value=True, key="gv_attrs")
    collapse = sb.select_slider(t("depth", lang), COLLAPSE, value="auto", key="gv_collapse",
                                format_func=lambda c: t(f"collapse_{c}", lang) if not c.isdigit() else c,
                                help=t("depth_help", lang))
    rankdir = sb.radio(t("layout", lang), ["auto", "LR", "TB"], key="gv_rankdir", horizontal=True,
                       format_func=lambda d: t(f"layout_{d}", lang))
    fit = sb.toggle(t("fit", lang), value=True, key="gv_fit")
    opts = DisplayOptions(values=values, grads=grads, constants=constants, attrs=attrs,
                          collapse=str(collapse), rankdir=rankdir or "auto", lang=lang, fit=bool(fit))
    return Choice(lang=lang, lesson=lesson, device=device, quick=bool(quick), opts=opts)
