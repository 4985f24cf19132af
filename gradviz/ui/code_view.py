"""Your code: an editor, a Run button, and a switch that keeps it off on a public server."""
from __future__ import annotations

import ipaddress
import os

import streamlit as st

from gradviz.ui import runs
from gradviz.ui.i18n import t

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
    """(allowed, address): running code needs a localhost-only server or GRADVIZ_ALLOW_CODE=1."""
    address = st.get_option("server.address") or ""
    if os.environ.get(ALLOW_ENV, "").strip() == "1":
        return True, address
    return (bool(address) and _loopback(address)), address


def show(device: str, lang: str) -> runs.Run | None:
    """The editor; returns the run to show (the last one made), or None."""
    allowed, address = code_allowed()
    st.caption(t("code_intro", lang, t=f"{runs.CODE_TIMEOUT:g}",
                 m=f"{runs.CODE_MEMORY / 1024**3:g} GB"))
    if "gv_code" not in st.session_state:
        st.session_state["gv_code"] = STARTER
    st.text_area(t("code_editor", lang), key="gv_code", height=300, label_visibility="collapsed")
    if not allowed:
        st.warning(t("code_off", lang, addr=address or t("all_interfaces", lang)), icon=":material/lock:")
        return None
    c1, c2, _ = st.columns([1, 1, 4])
    if c1.button(t("code_run", lang), key="gv_code_run", type="primary", width="stretch",
                 icon=":material/play_arrow:"):
        st.session_state["gv_code_ran"] = st.session_state["gv_code"]
    c2.button(t("code_reset", lang), key="gv_code_reset", on_click=_reset, width="stretch")
    ran = st.session_state.get("gv_code_ran")
    if ran is None:
        st.caption(t("code_press_run", lang))
        return None
    if ran != st.session_state.get("gv_code"):
        st.caption(t("code_changed", lang))
    return runs.code_run(ran, device, lang)


def _reset() -> None:
    st.session_state["gv_code"] = STARTER
