"""The page around the pieces: set-up, the lesson header, and one recording's views."""
from __future__ import annotations

import streamlit as st

from gradviz.ui import (curves, errors, export, forward_view, playground, restoration_view, runs, stepper,
                        tensors, training_view)
from gradviz.words import tr
from gradviz.words.notes import shown
from gradviz.ui.sidebar import Choice

# Colours that read on Streamlit's light and dark themes alike: translucent
# washes over whatever the background is, text left to the theme.
CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
.gv-stage { overflow: auto; padding: 6px 2px; text-align: center; }
.gv-stage svg.gv-svg { width: min(100%, calc(var(--w, 600px) * 1.25)); height: auto; }
.gv-stage .gv-nosvg { color: #e03131; font-family: monospace; text-align: left; }
/* Korean breaks between words, never inside one */
[data-testid="stMain"], [data-testid="stSidebar"] { word-break: keep-all; }
.st-key-gv_code textarea { font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace;
                           font-size: 14px; line-height: 1.5; }
.gv-lesson-text { font-size: 1.02rem; line-height: 1.6; max-width: 70rem; }
</style>
"""


def setup() -> None:
    st.set_page_config(page_title="gradviz", page_icon="∂", layout="wide",
                       initial_sidebar_state="auto")  # closed on a phone
    st.html(CSS)


def header(choice: Choice) -> None:
    lang = choice.lang
    if choice.lesson is None:
        st.title(tr("Your code", lang))
        return
    lesson = choice.lesson
    st.title(f"{lesson.number}. {lesson.title[lang]}")
    st.markdown(lesson.text[lang])


def lesson_run(choice: Choice) -> runs.Run | None:
    """Run (or recall) the chosen lesson, with the restoration upload when there is one."""
    lesson, lang = choice.lesson, choice.lang
    if not lesson.path.is_file():
        st.error(tr("This lesson's script was not found: {path}", lang, path=lesson.path),
                 icon=":material/error:")
        return None
    args = choice.args
    restoration = restoration_view.is_restoration(lesson)
    upload = restoration_view.upload_widget(lang) if restoration else None
    run = runs.lesson_run(lesson, choice.device, args, lang, save_images=restoration, upload=upload)
    if upload is not None:
        run.extra["upload"] = upload
    return run


def recording(run: runs.Run, choice: Choice) -> None:
    """Everything about one run: its error, pitfalls, steps, training, output, exports."""
    rec, lang, opts = run.rec, choice.lang, choice.opts
    if rec.error is not None:
        errors.show_error(rec.error, lang)
        if rec.graphs:
            st.caption(tr("The graph recorded before the error:", lang))
    if rec.pitfalls:
        with st.expander(tr("Pitfalls spotted", lang) + f" ({len(rec.pitfalls)})", expanded=True,
                         icon=":material/lightbulb:"):
            training_view.show_pitfalls(rec, lang)

    names = [("steps", tr("Backward, step by step", lang))]
    if playground.belongs_to(choice.lesson):
        names.append(("playground", tr("Optimizer playground", lang)))  # after the steps, as every lesson opens
    if rec.tangents:
        names.append(("forward", tr("Forward mode", lang)))
    if len(training_view.iterations(rec)) >= 2:
        names.append(("training", tr("Training", lang)))
    if restoration_view.is_restoration(choice.lesson) and run.extra.get("images"):
        names.append(("restoration", tr("Restoration", lang)))
    names.append(("output", tr("Printed output", lang)))
    # a keyed tab bar keeps its tab when a widget inside one reruns the page (lesson 10's slider);
    # picking a tab reruns the page, and only the open tab's part is made
    tabs = dict(zip([n for n, _ in names], st.tabs([label for _, label in names], key=f"gv_tabs|{lang}",
                                                   on_change="rerun")))

    def shown(name: str) -> bool:
        return name in tabs and getattr(tabs[name], "open", None) is not False


    stem = choice.lesson.script.removesuffix(".py") if choice.lesson is not None else "your_code"
    if shown("playground"):
        with tabs["playground"], errors.guarded(lang):
            playground.show(lang)
    if shown("steps"):
        with tabs["steps"], errors.guarded(lang):
            stepper.show(run.key, rec, opts, stem)
            tensors.show(rec, lang)
    if shown("forward"):
        with tabs["forward"], errors.guarded(lang):
            forward_view.show(rec, lang)
    if shown("training"):
        with tabs["training"], errors.guarded(lang):
            training_view.show(run.key, rec, opts)
            its = training_view.iterations(rec)
            curves.show(rec, its, lang, starts=training_view.restarts(its))
    if shown("restoration"):
        with tabs["restoration"], errors.guarded(lang):
            restoration_view.show(run.key, rec, run.extra.get("images", {}), choice.args,
                                  lang, run.extra.get("upload"))
    if shown("output"):
        with tabs["output"]:
            if rec.stdout.strip():
                st.code(rec.stdout, language="text")
            else:
                st.caption(tr("The script printed nothing.", lang))
            for note in rec.notes:
                st.caption(shown(note, lang))
            st.caption(tr("ran on {device} in a separate process", lang, device=rec.device))

    with errors.guarded(lang):
        export.show(run.key, rec, stem, opts)


def rerun_button(run: runs.Run | None, choice: Choice) -> None:
    if run is None or choice.lesson is None:
        return
    if st.sidebar.button(tr("Run again", choice.lang), key="gv_rerun", icon=":material/refresh:",
                         help=tr("Forget the cached run and run the lesson again.", choice.lang)):
        runs.forget(run)
        st.rerun()

