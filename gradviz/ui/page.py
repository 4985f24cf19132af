"""The page around the pieces: set-up, the lesson header, and one recording's views."""
from __future__ import annotations

import streamlit as st

from gradviz.ui import errors, export, restoration_view, runs, stepper, training_view
from gradviz.words import tr
from gradviz.ui.sidebar import Choice

# Colours that read on Streamlit's light and dark themes alike: translucent
# washes over whatever the background is, text left to the theme.
CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
.gv-stage { overflow: auto; padding: 6px 2px; text-align: center; }
.gv-stage svg.gv-svg { width: min(100%, calc(var(--w, 600px) * 1.25)); height: auto; }
.gv-stage.gv-actual svg.gv-svg { width: var(--w, auto); max-width: none; }
.gv-legend { display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 13px; opacity: .85; margin: 2px 0 6px; }
.gv-chip { display: inline-flex; align-items: center; gap: 6px; }
.gv-chip i { display: inline-block; width: 14px; height: 12px; border-radius: 3px;
             border: 1px solid rgba(128,128,128,.5); }
.gv-src-title { font-weight: 600; margin-bottom: 6px; }
.gv-src-caption { font-size: 13px; opacity: .65; margin-top: 4px; }
.gv-stage .gv-nosvg { color: #e03131; font-family: monospace; text-align: left; }
.gv-src { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono",
          "Noto Sans Mono CJK KR", monospace;
          font-size: 13px; line-height: 1.55; border: 1px solid rgba(128,128,128,.28);
          border-radius: 8px; padding: 6px 0; background: rgba(128,128,128,.06); overflow-x: auto; }
.gv-src-line { white-space: pre; padding: 0 10px 0 0; border-left: 3px solid transparent; }
.gv-src-no { display: inline-block; width: 2.6em; padding-right: .9em; text-align: right;
             opacity: .45; user-select: none; }
.gv-src-now { background: rgba(255, 196, 0, .28); border-left-color: #d6336c; }
.gv-src-err { background: rgba(250, 82, 82, .22); border-left-color: #e03131; }
.gv-src-gap { padding-left: 3.2em; opacity: .45; line-height: 1.1; }
.gv-words { font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", "Noto Sans Mono CJK KR", monospace;
            font-size: 14px; line-height: 1.6; padding: 2px 0 4px; }
.gv-words div:first-child { font-weight: 600; }
.st-key-gv_code textarea { font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace;
                           font-size: 14px; line-height: 1.5; }
.gv-lesson-text { font-size: 1.02rem; line-height: 1.6; max-width: 70rem; }
</style>
"""


def setup() -> None:
    st.set_page_config(page_title="gradviz", page_icon="∂", layout="wide",
                       initial_sidebar_state="expanded")
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
    if len(training_view.iterations(rec)) >= 2:
        names.append(("training", tr("Training", lang)))
    if restoration_view.is_restoration(choice.lesson) and run.extra.get("images"):
        names.append(("restoration", tr("Restoration", lang)))
    names.append(("output", tr("Printed output", lang)))
    tabs = dict(zip([n for n, _ in names], st.tabs([label for _, label in names])))

    with tabs["steps"], errors.guarded(lang):
        stepper.show(run.key, rec, opts)
    if "training" in tabs:
        with tabs["training"], errors.guarded(lang):
            training_view.show(run.key, rec, opts)
    if "restoration" in tabs:
        with tabs["restoration"], errors.guarded(lang):
            restoration_view.show(run.key, rec, run.extra.get("images", {}), choice.args,
                                  lang, run.extra.get("upload"))
    with tabs["output"]:
        if rec.stdout.strip():
            st.code(rec.stdout, language="text")
        else:
            st.caption(tr("The script printed nothing.", lang))
        for note in rec.notes:
            st.caption(note)
        st.caption(tr("ran on {device} in a separate process", lang, device=rec.device))

    with errors.guarded(lang):
        stem = choice.lesson.script.removesuffix(".py") if choice.lesson is not None else "your_code"
        export.show(run.key, rec, stem, lang)


def rerun_button(run: runs.Run | None, choice: Choice) -> None:
    if run is None or choice.lesson is None:
        return
    if st.sidebar.button(tr("Run again", choice.lang), key="gv_rerun", icon=":material/refresh:",
                         help=tr("Forget the cached run and run the lesson again.", choice.lang)):
        runs.forget(run)
        st.rerun()

