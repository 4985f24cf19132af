"""The image restoration lesson: upload, and broken / restored / exact side by side."""
from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
import streamlit as st

from gradviz.recording import Recording
from gradviz.words import N_, tr
from gradviz.ui.uploads import PICKLE_TYPES, PICTURE_TYPES, SIDE, LessonInput, UploadRefused, for_display, read_upload

_FRAME = re.compile(r"^restored[_-](\d+)$")


def is_restoration(lesson: Any) -> bool:
    return lesson is not None and (getattr(lesson, "group", "") == "restoration"
                                   or "restoration" in getattr(lesson, "id", ""))


UPLOAD_MB = 8


def _uploader_words(lang: str) -> None:
    """Streamlit writes the uploader's own words ("Upload", "8MB per file") in English only:
    in another language, CSS shows ours in their place."""
    if lang == "en":
        return
    button = tr("Upload", lang)
    limit = tr("{mb} MB per file", lang, mb=UPLOAD_MB) + " · " + ", ".join(
        t.upper() for t in (*PICTURE_TYPES, *PICKLE_TYPES))
    box = '[data-testid="stFileUploaderDropzone"]'
    st.html(f"""<style>
{box} [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p {{ font-size: 0; }}
{box} [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p::after {{
  content: "{html.escape(button)}"; font-size: .875rem; }}
{box} [data-testid="stFileUploaderDropzoneInstructions"] span {{ font-size: 0; }}
{box} [data-testid="stFileUploaderDropzoneInstructions"] span::after {{ content: "{html.escape(limit)}"; font-size: .75rem; }}
</style>""")


def upload_widget(lang: str) -> LessonInput | None:
    """The uploader in the sidebar; returns the checked input, or None."""
    _uploader_words(lang)
    # no type= filter: Streamlit would refuse other files in English only; read_upload refuses
    # them in the page's language
    up = st.sidebar.file_uploader(tr("Your own picture", lang), key="gv_upload", help=tr("A PNG or JPEG picture (it is scaled to "
                                                           "100×100 grey and scrambled), or the "
                                                           "book's broken_image_t.p. Pickles are "
                                                           "read as plain numbers, never executed.",
                                                           lang), max_upload_size=UPLOAD_MB)
    if up is None:
        return None
    try:
        got = read_upload(up.name, up.getvalue())
    except UploadRefused as e:
        st.sidebar.error(tr("This file was refused: {why}", lang, why=e.text(lang)), icon=":material/shield:")
        return None
    shape = f"{SIDE}×{SIDE}"
    st.sidebar.caption(tr("Using {name} ({shape}).", lang, name=up.name, shape=shape))
    return got


def frames(rec: Recording, images: dict) -> list[tuple[int, np.ndarray]]:
    """(iteration, restored picture) snapshots, from saved files or recorded iterations."""
    found: dict[int, np.ndarray] = {}
    for name, arr in images.items():
        m = _FRAME.match(name)
        if m:
            found[int(m.group(1))] = arr
    for it in rec.iterations or []:
        for p in it.params.values():
            if isinstance(p.value, list):
                a = np.asarray(p.value, dtype=np.float32)
                if a.size == SIDE * SIDE:
                    found.setdefault(it.index, a.reshape(SIDE, SIDE))
    return sorted(found.items())


def _final_iteration(rec: Recording, args: list[str]) -> int | None:
    """The last iteration: the recording's (they count from 1), else what the catalogue expects."""
    if rec.iterations:
        return rec.iterations[-1].index
    from gradviz.lessons import get, iterations

    return iterations(get("image_restoration"), args)


def show(rec_key: str, rec: Recording, images: dict, args: list[str], lang: str,
         upload: LessonInput | None) -> None:
    if not images:
        st.info(tr("This run recorded no images.", lang))
        return
    exact = images.get("exact")
    lo = hi = None
    if exact is not None:
        lo, hi = float(np.min(exact)), float(np.max(exact))
    snaps = frames(rec, images)
    final_it = _final_iteration(rec, args)
    if "restored" in images:
        snaps = [s for s in snaps if s[0] != final_it] + [(final_it or 0, images["restored"])]
    restored, at = (snaps[-1][1], snaps[-1][0]) if snaps else (None, None)
    if len(snaps) > 1:
        pick = st.select_slider(tr("Iteration", lang), options=[s[0] for s in snaps],
                                value=snaps[-1][0], key=f"gv_img_iter|{rec_key}")
        restored, at = dict(snaps)[pick], pick

    panels = [(N_("broken (what we have)"), images.get("broken"), None, None, {})]
    panels.append((N_("restored (iteration {i})"), restored, lo, hi, {"i": at}))
    panels.append((N_("exact (the answer)"), exact, lo, hi, {}))
    if upload is not None and upload.picture is not None:
        panels.append((N_("Your own picture"), upload.picture, 0.0, 1.0, {}))
    if args and final_it is not None and final_it < 5000:  # the quick run, not an early pick on the slider
        st.caption(tr("After only {n} iterations the restored picture is still mostly noise: turn "
                      "off the quick run to watch all 20000 (about half a minute).", lang, n=final_it))
    cols = st.columns(len(panels))
    for col, (label, img, a, b, fmt) in zip(cols, panels):
        with col:
            if img is None:
                st.caption("—")
                continue
            st.image(for_display(img, a, b), caption=tr(label, lang, **fmt), width="stretch", clamp=True)
