"""Your code: an editor, a Run button, and a switch that keeps it off on a public server.

Code runs in the sandbox (gradviz.runner.sandbox). A server reachable from other
machines runs code only when GRADVIZ_ALLOW_CODE=1 is set AND the sandbox works
here; without a sandbox, only a localhost-only server runs code.
"""
from __future__ import annotations

import ipaddress
import os

import streamlit as st

from gradviz.ui import runs
from gradviz.ui.running import STOPPED
from gradviz.words import tr

ALLOW_ENV = "GRADVIZ_ALLOW_CODE"
STARTER = '''import torch

# Change anything, then press Run: every backward() call is recorded.
x = torch.tensor(2.0, requires_grad=True)
y = torch.tensor(3.0, requires_grad=True)

z = x * y + torch.sin(x)   # dz/dx = y + cos(x), dz/dy = x
z.backward()

print("x.grad =", x.grad.item())
print("y.grad =", y.grad.item())
'''


def _loopback(address: str) -> bool:
    host = address.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def code_allowed() -> tuple[bool, str]:
    """(allowed, address): a localhost-only server, or GRADVIZ_ALLOW_CODE=1 with a working sandbox."""
    address = st.get_option("server.address") or ""
    if bool(address) and _loopback(address):
        return True, address
    return os.environ.get(ALLOW_ENV, "").strip() == "1" and _sandboxed(), address


def _sandboxed() -> bool:
    from gradviz.runner import sandboxed

    return sandboxed()


def show(device: str, lang: str) -> runs.Run | None:
    """The editor; returns the run to show (the last one made), or None."""
    allowed, address = code_allowed()
    seconds, memory = f"{runs.CODE_TIMEOUT:g}", f"{runs.CODE_MEMORY / 1024**3:g} GB"
    st.caption(tr("Write PyTorch code that calls backward(), then press Run. It runs in a separate "
                  "process with a {t} s time limit and a {m} memory limit, so a mistake cannot break "
                  "the app.", lang, t=seconds, m=memory))
    if "gv_code" not in st.session_state:
        st.session_state["gv_code"] = STARTER
    st.text_area(tr("Code", lang), key="gv_code", height=300, label_visibility="collapsed")
    if not allowed and os.environ.get(ALLOW_ENV, "").strip() == "1":
        st.warning(tr("Running code is off: this server listens on {addr}, and there is no sandbox "
                      "here to run code from other machines in (install bubblewrap).",
                      lang, addr=address or tr("all network interfaces", lang)), icon=":material/lock:")
        return None
    if not allowed:
        st.warning(tr("Running code is off because this server listens on {addr}, not only on "
                      "localhost; set GRADVIZ_ALLOW_CODE=1 before starting it to allow it.",
                      lang, addr=address or tr("all network interfaces", lang)), icon=":material/lock:")
        return None
    c1, c2, _ = st.columns([1, 1, 4])
    if c1.button(tr("Run", lang), key="gv_code_run", type="primary", width="stretch",
                 icon=":material/play_arrow:"):
        st.session_state["gv_code_ran"] = st.session_state["gv_code"]
        st.session_state.pop(STOPPED, None)
    c2.button(tr("Starter snippet", lang), key="gv_code_reset", on_click=_reset, width="stretch")
    ran = st.session_state.get("gv_code_ran")
    if ran is None:
        if st.session_state.pop(STOPPED, False):
            st.info(tr("Stopped. Change the code and press Run again.", lang), icon=":material/stop:")
        else:
            st.caption(tr("Press Run to record your code.", lang))
        return None
    if ran != st.session_state.get("gv_code"):
        st.caption(tr("The code changed since the last run: press Run to see the new version.", lang))
    return runs.code_run(ran, device, lang)


def _reset() -> None:
    st.session_state["gv_code"] = STARTER
