"""The app's table of contents, and the command that serves it.

`streamlit run` executes this file as a script (`gradviz app` does that for an
installed package); `app.py` at the top of a checkout calls the same `main()`.
The page is read top to bottom on every rerun, as Streamlit scripts are.
"""
from __future__ import annotations

import sys
from pathlib import Path

# What `gradviz app` passes to `streamlit run` unless the user overrides it; the same
# settings as .streamlit/config.toml in a checkout (a test keeps the two in step).
SERVER_DEFAULTS = {
    "server.address": "localhost",  # running pasted code is allowed only on localhost
    "server.port": "8501",
    "server.headless": "true",
    "browser.gatherUsageStats": "false",
    "client.toolbarMode": "minimal",  # no developer menu or "Deploy" button for learners
    # the colour of the current step in every picture, in both schemes; no theme.base, so the
    # app follows the browser's prefers-color-scheme (a plain theme.primaryColor would pin it light)
    "theme.light.primaryColor": "#d6336c",
    "theme.dark.primaryColor": "#d6336c",
}


def streamlit_command(args: list[str]) -> list[str]:
    """`python -m streamlit run <this file>` with SERVER_DEFAULTS, then the user's options."""
    given = {a.split("=", 1)[0].lstrip("-") for a in args if a.startswith("--")}
    defaults = [f"--{k}={v}" for k, v in SERVER_DEFAULTS.items() if k not in given]
    return [sys.executable, "-m", "streamlit", "run", str(Path(__file__).resolve()), *defaults, *args]


def main() -> None:
    from gradviz.ui import code_view, knobs, page, playground, runs, sidebar

    page.setup()                                   # title, icon, wide layout, styles
    choice = sidebar.show(runs.devices())          # language, lesson, device, display options
    if choice.playground:                          # optimizers racing live, no recording
        playground.page(choice.lang)
        return
    page.header(choice)                            # lesson title and text

    if choice.lesson is None:
        run = code_view.show(choice.device, choice.lang)   # editor, Run in a limited child process
    else:
        choice = knobs.show(choice)                        # learning rate, iterations, seed
        run = page.lesson_run(choice)                      # the lesson's recording, cached

    page.rerun_button(run, choice)                 # sidebar: run the lesson again
    if run is not None:
        page.recording(run, choice)                # error, pitfalls, steps, training, output, exports


if __name__ == "__main__":  # streamlit run gradviz/ui/app.py
    main()
