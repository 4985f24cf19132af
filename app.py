"""gradviz in the browser: `streamlit run app.py` (or `bash scripts/start.sh`).

A table of contents; the pieces live in gradviz/ui/.
"""
from gradviz.ui import code_view, page, runs, sidebar

page.setup()                                   # title, icon, wide layout, styles
choice = sidebar.show(runs.devices())          # language, lesson, device, display options
page.header(choice)                            # lesson title and text

if choice.lesson is None:
    run = code_view.show(choice.device, choice.lang)   # editor, Run in a limited child process
else:
    run = page.lesson_run(choice)                      # the lesson's recording, cached

page.rerun_button(run, choice)                 # sidebar: run the lesson again
if run is not None:
    page.recording(run, choice)                # error, pitfalls, steps, training, output, exports
