"""While pasted code runs: a running timer and a Stop button that ends its child process.

The run goes on in a helper thread while the page counts the seconds. A click
on Stop (or on any other widget) makes Streamlit rerun the page, which raises
out of the loop here: the child process is then killed, found among this
server's children by the unique folder of the script it runs.
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from typing import Any, Callable

import streamlit as st

from gradviz.words import tr

STOPPED = "gv_code_stopped"  # session key: the last run was stopped by the learner


def _stop() -> None:
    st.session_state["gv_code_ran"] = None  # the rerun after the click does not start it again
    st.session_state[STOPPED] = True


def run(work: Callable[[], Any], marker: str, lang: str) -> Any:
    """work() in a thread, with a timer and a Stop button; Stop kills the child whose script path holds `marker`."""
    done: dict[str, Any] = {}

    def target() -> None:
        try:
            done["value"] = work()
        except BaseException as e:  # handed to the page's thread below
            done["error"] = e

    thread = threading.Thread(target=target, name="gradviz-code", daemon=True)
    thread.start()
    box = st.empty()
    with box.container(horizontal=True, vertical_alignment="center"):
        timer = st.empty()
        st.button(tr("Stop", lang), key="gv_code_stop", icon=":material/stop:", on_click=_stop)
    started = time.monotonic()
    try:
        while thread.is_alive():
            timer.markdown(tr("Running your code… {s} s", lang, s=int(time.monotonic() - started)))
            thread.join(0.5)
    except BaseException:  # the page reran: Stop, or another widget; the child must not run on
        kill_child(marker)
        thread.join(10)
        raise
    box.empty()
    if "error" in done:
        raise done["error"]
    return done["value"]


def kill_child(marker: str) -> int:
    """Kill this process's gradviz.runner children whose script path contains `marker`; how many."""
    killed = 0
    me = os.getpid()
    for name in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != me:
                continue
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace").split("\0")
            if "gradviz.runner" not in cmd:
                continue
            with open(cmd[cmd.index("gradviz.runner") + 1], encoding="utf-8") as f:
                script = json.load(f).get("script", "")
            if marker and marker in script:
                os.killpg(int(name), signal.SIGKILL)  # the child leads its own session
                killed += 1
        except (OSError, ValueError, IndexError, json.JSONDecodeError):
            continue
    return killed
