"""The sidebar: language, lesson, device and what the pictures show."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from gradviz.ui.graphs import DisplayOptions
from gradviz.words import N_, languages, tr

CODE = "code"  # the topic key of "your code"
PLAYGROUND = "playground"  # the topic key of the optimizer playground (ui/playground.py)
COLLAPSE = ["0", "1", "2", "3", "auto", "open"]  # module depth shown as one box each; see DisplayOptions
_COLLAPSE_WORDS = {"auto": N_("auto"), "open": N_("all")}
_LAYOUT_WORDS = {"auto": N_("auto"), "LR": "→", "TB": "↓"}


@dataclass
class Choice:
    """Everything the sidebar decided, for the rest of the page."""

    lang: str
    lesson: Any | None  # a gradviz.lessons.Lesson, or None for "your code"
    device: str
    quick: bool
    opts: DisplayOptions
    playground: bool = False  # the optimizer playground instead of a lesson or code

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
        return tr("Your code", lang)
    if key == PLAYGROUND:
        return tr("Optimizer playground", lang)
    return titles[key][lang] if key in titles else key


def _from_query(order: list[str], groups: dict) -> None:
    """?lesson=<id or number>, ?lang=ko and ?quick=1 in the address preselect (once per session)."""
    if st.session_state.get("_gv_query_done"):
        return
    st.session_state["_gv_query_done"] = True
    wanted = st.query_params.get("lesson")
    lang = st.query_params.get("lang")
    if lang in languages():
        st.session_state["gv_lang"] = lang
    if st.query_params.get("quick") == "1":  # ?quick=1: the long lessons in their quick form
        st.session_state["gv_quick"] = True
    if not wanted:
        return
    if wanted in (CODE, PLAYGROUND):
        st.session_state["gv_topic"] = wanted
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
    langs = languages()
    label = " · ".join(dict.fromkeys(tr("Language", code) for code in langs))  # in every language
    lang = sb.radio(label, list(langs), format_func=langs.get, horizontal=True, key="gv_lang")
    lang = lang if lang in langs else "en"

    topics = order + [PLAYGROUND, CODE]
    if st.session_state.get("gv_topic") not in topics:
        st.session_state["gv_topic"] = topics[0]
    # a radio, not a selectbox: a selectbox keeps showing the old language's label
    topic = sb.radio(tr("Topic", lang), topics, key="gv_topic",
                     format_func=lambda k: _topic_title(k, titles, lang))
    lesson = None
    if topic not in (CODE, PLAYGROUND):
        members = groups[topic]
        ids = [l.id for l in members]
        lkey = f"gv_lesson|{topic}"
        if st.session_state.get(lkey) not in ids:
            st.session_state[lkey] = ids[0]
        by_id = {l.id: l for l in members}
        chosen = sb.radio(tr("Lesson", lang), ids, key=lkey,
                          format_func=lambda i: f"{by_id[i].number}. {by_id[i].title[lang]}")
        lesson = by_id.get(chosen, members[0])

    if st.session_state.get("gv_device") not in devices:
        st.session_state["gv_device"] = devices[0]
    device = sb.selectbox(tr("Device", lang), devices, key="gv_device",
                          help=tr("Only the devices PyTorch finds on this machine are listed.", lang))

    quick = False
    if lesson is not None and lesson.quick_args:
        quick = sb.toggle(tr("Quick run (fewer iterations)", lang), value=False, key="gv_quick",
                          help=tr("Runs the lesson with fewer iterations, so it finishes in seconds "
                                  "(the numbers in the lesson text come from the full run)",
                                  lang) + f" ({' '.join(lesson.quick_args)})")

    sb.markdown("**" + tr("Display", lang) + "**")
    c1, c2 = sb.columns(2)
    values = c1.checkbox(tr("Values", lang), value=True, key="gv_values")
    grads = c2.checkbox(tr("Gradients", lang), value=True, key="gv_grads")
    constants = c1.checkbox(tr("Constants", lang), value=True, key="gv_constants")
    attrs = c2.checkbox(tr("Saved attributes", lang), value=True, key="gv_attrs")
    collapse = sb.select_slider(tr("Module collapse depth", lang), COLLAPSE, value="auto", key="gv_collapse",
                                format_func=lambda c: tr(_COLLAPSE_WORDS[c], lang) if not c.isdigit() else c,
                                help=tr("0: each top-level nn.Module is one box; 1: their children "
                                        "are open, and so on. auto: big graphs are folded just "
                                        "enough to stay readable; all: every op.", lang))
    rankdir = sb.radio(tr("Layout direction", lang), ["auto", "LR", "TB"], key="gv_rankdir", horizontal=True,
                       format_func=lambda d: tr(_LAYOUT_WORDS[d], lang))
    opts = DisplayOptions(values=values, grads=grads, constants=constants, attrs=attrs,
                          collapse=str(collapse), rankdir=rankdir or "auto", lang=lang)
    return Choice(lang=lang, lesson=lesson, device=device, quick=bool(quick), opts=opts,
                  playground=topic == PLAYGROUND)
