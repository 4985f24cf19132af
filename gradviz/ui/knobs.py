"""Live knobs for the training lessons: learning rate, iterations (or epochs, steps) and seed.

A lesson's catalogue entry names the options its script takes (`Lesson.knobs`, flag ->
default); turning them and pressing "Run with these" runs the lesson again with those
arguments after its own (`gradviz render --lesson 6 -- --lr 0.3` does the same from the
CLI). The run is cached by its arguments like any other, so going back costs nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import streamlit as st

from gradviz.lessons import settings
from gradviz.ui.sidebar import Choice
from gradviz.words import N_, tr

WORDS = {"lr": N_("learning rate"), "iterations": N_("iterations"), "epochs": N_("epochs"),
         "steps": N_("steps"), "seed": N_("seed")}


@dataclass
class Tuned(Choice):
    """The sidebar's choice, and the knobs' arguments after the lesson's own."""

    extra: tuple[str, ...] = ()

    @property
    def args(self) -> list[str]:
        return super().args + list(self.extra)


def extra_args(lesson: Any, base: list[str], wanted: dict[str, Any]) -> list[str]:
    """`--name value` for each knob whose wanted value differs from what `base` gives."""
    now = settings(lesson, base)
    out: list[str] = []
    for name, value in wanted.items():
        if value is not None and name in now and value != now[name]:
            out += [f"--{name}", repr(float(value)) if name == "lr" else str(int(value))]
    return out


def _key(lesson: Any) -> str:
    return f"gv_knobs|{lesson.id}"


def _reset(lesson: Any) -> None:
    st.session_state.pop(_key(lesson), None)


def show(choice: Choice) -> Choice:
    """The knobs of the chosen lesson (none for lessons without a loop), and the choice they make."""
    lesson, lang = choice.lesson, choice.lang
    names = [n for n in WORDS if lesson is not None and n in lesson.knobs]
    if not names:
        return choice
    base = choice.args
    now = settings(lesson, base)
    wanted: dict[str, Any] = st.session_state.get(_key(lesson), {})
    with st.expander(tr("Try other settings", lang), expanded=bool(wanted), icon=":material/tune:"):
        with st.form(f"gv_knobs_form|{lesson.id}", border=False):
            cols = st.columns(len(names))
            values: dict[str, Any] = {}
            for col, name in zip(cols, names):
                value = wanted.get(name, now[name])
                label = tr(WORDS[name], lang)
                if name == "lr":
                    values[name] = col.number_input(label, min_value=0.0, value=value, format="%g",
                                                    step=(value or 0.01) / 10, key=f"gv_knob_lr|{lesson.id}")
                else:
                    values[name] = col.number_input(label, min_value=0 if name == "seed" else 1,
                                                    value=value, step=1, key=f"gv_knob_{name}|{lesson.id}")
            run = st.form_submit_button(tr("Run with these", lang), icon=":material/play_arrow:")
        st.button(tr("Back to the lesson's settings", lang), key=f"gv_knobs_reset|{lesson.id}",
                     on_click=_reset, args=(lesson,), disabled=not wanted)
        if run:
            wanted = {n: v for n, v in values.items() if v is not None}
            st.session_state[_key(lesson)] = wanted
        extra = extra_args(lesson, base, wanted)
        st.caption(tr("The lesson runs again with these options after its own: {args}. The numbers "
                      "in its text are for its own settings.", lang,
                      args=" ".join(extra) if extra else "—"))
    return Tuned(**{f.name: getattr(choice, f.name) for f in fields(choice)}, extra=tuple(extra))
