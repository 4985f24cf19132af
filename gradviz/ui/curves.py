"""More curves for the Training tab: what the script logged, and each parameter's gradient size.

Logged numbers are the script's own `add_scalar` calls (a Lightning logger's too),
kept by capture/metrics.py as (tag, step, value): accuracy and validation loss live
there, not in the autograd graph. The gradient chart puts every parameter's ‖grad‖
per iteration on one log scale, so a layer whose gradient vanishes sits far below
the others (lesson 17).
"""
from __future__ import annotations

import bisect
import math
from typing import Any, Iterable

import streamlit as st

from gradviz.recording import Iteration, Recording
from gradviz.words import tr

CHART_HEIGHT = 240
MAX_SERIES = 24  # parameters drawn in the gradient chart, at most
MAX_POINTS = 3000  # points per chart; longer runs are thinned evenly


def _thin(rows: list[dict], most: int) -> list[dict]:
    if len(rows) <= most:
        return rows
    stride = -(-len(rows) // most)
    return rows[::stride] + rows[-1:]


def logged_groups(points: list[dict]) -> dict[str, list[dict]]:
    """The logged numbers by chart: a TensorBoard section ('restoration/loss' and
    'restoration/rms_error_to_truth' share 'restoration'), else tags with 'acc' together,
    'loss' together, others alone. Texts (add_text) are not charted."""
    groups: dict[str, list[dict]] = {}
    for p in points:
        tag, value = str(p.get("tag")), p.get("value")
        if tag == "epoch" or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        if "/" in tag:
            kind = tag.split("/", 1)[0]
        else:
            kind = "accuracy" if "acc" in tag.lower() else "loss" if "loss" in tag.lower() else tag
        groups.setdefault(kind, []).append({"step": p.get("step"), "tag": tag, "value": value})
    return groups


def _spread(rows: list[dict], y: str) -> bool:
    """True when every value is positive and they span more than 50×: then a log scale reads better."""
    values = [r[y] for r in rows]
    return bool(values) and min(values) > 0 and max(values) / min(values) > 50


def grad_norm_rows(its: list[Iteration], starts: list[int] = ()) -> list[dict]:
    """(iteration, parameter, ‖grad‖, run) for every positive gradient norm the timeline kept
    (weights only, when there are weights: biases double the lines and tell the same story).
    `run` counts the restarts before the iteration: a new model under an old name (lesson 17's
    next variant) is a new line, not a jump in the old one."""
    names: list[str] = []
    rows = []
    weights = _has_weights(name for it in its[:1] for name in it.params)
    for it in its:
        for name, p in it.params.items():
            if weights and not name.endswith("weight"):
                continue
            g = (p.norm or {}).get("grad")
            if isinstance(g, (int, float)) and g > 0 and math.isfinite(g):
                if name not in names:
                    if len(names) >= MAX_SERIES:
                        continue
                    names.append(name)
                rows.append({"iteration": it.index, "parameter": name, "grad": g,
                             "run": bisect.bisect_right(starts, it.index)})
    return rows


def _has_weights(names: Iterable[str]) -> bool:
    """Any parameter named ...weight: then only weights are shown (biases tell the same story)."""
    return any(n.endswith("weight") for n in names)


def _line(rows: list[dict], x: str, y: str, color: str, x_title: str, y_title: str,
          log: bool = False, detail: str | None = None) -> dict:
    spec = {"data": {"values": _thin(rows, MAX_POINTS)}, "height": CHART_HEIGHT,
            "mark": {"type": "line", "point": len(rows) <= 60, "strokeWidth": 2},
            "encoding": {
                "x": {"field": x, "type": "quantitative", "title": x_title, "axis": {"format": "d"}},
                "y": {"field": y, "type": "quantitative", "title": y_title,
                      "scale": {"type": "log"} if log else {"zero": False}},
                "color": {"field": color, "type": "nominal", "legend": {"orient": "top", "title": None, "labelLimit": 400}},
                "tooltip": [{"field": x, "type": "quantitative", "title": x_title},
                            {"field": color, "type": "nominal", "title": " "},
                            {"field": y, "type": "quantitative", "format": ".4g", "title": y_title}]}}
    if detail:  # one line per value of `detail` within each colour
        spec["encoding"]["detail"] = {"field": detail, "type": "nominal"}
    return spec


def show_logged(points: list[dict], lang: str) -> None:
    """One chart per group of logged numbers (during a run too, from what came so far)."""
    groups = logged_groups(points)
    if not groups:
        return
    st.markdown("**" + tr("Numbers the script logged (add_scalar, self.log)", lang) + "**")
    cols = st.columns(min(len(groups), 2))
    for i, (kind, rows) in enumerate(groups.items()):
        title = {"accuracy": tr("accuracy", lang), "loss": tr("loss", lang)}.get(kind, kind)
        with cols[i % len(cols)]:
            st.vega_lite_chart(spec=_line(rows, "step", "value", "tag", tr("step", lang), title,
                                          log=_spread(rows, "value")), width="stretch")
    st.caption(tr("Each point is a value the script logged, at the step it gave; training and "
                  "validation share a chart.", lang))


def show(rec: Recording, its: list[Iteration], lang: str, starts: list[int] = ()) -> None:
    """The logged numbers (when the script logged any) and the gradient sizes per parameter;
    `starts`: the iterations where training starts again (each gets a column of first sizes)."""
    show_logged(rec.metrics, lang)
    rows = grad_norm_rows(its, sorted(starts))
    if len({r["parameter"] for r in rows}) >= 2:
        st.markdown("**" + tr("Gradient size per parameter (log scale)", lang) + "**")
        st.vega_lite_chart(spec=_line(rows, "iteration", "grad", "parameter", tr("iteration", lang),
                                      "‖grad‖", log=True, detail="run"), width="stretch")
        st.caption(tr("A layer far below the others has a vanishing gradient: it hardly learns.", lang))
        table = first_sizes(its, starts, lang)
        if table:
            with st.expander(tr("Gradient size of each parameter where each run starts", lang)):
                st.table(table)


def first_sizes(its: list[Iteration], starts: list[int] = (), lang: str = "en") -> list[dict]:
    """One row per parameter of any run (weights only, when it has weights): its ‖grad‖ at the
    first iteration and at each restart, as PyTorch computed it (2 significant digits), so a
    vanishing gradient reads layer by layer, and each model's first gradients side by side."""
    at = {it.index: it for it in its}

    def size(i: int, name: str) -> float | None:
        p = at[i].params.get(name)
        g = (p.norm or {}).get("grad") if p is not None else None
        return g if isinstance(g, (int, float)) else None

    firsts = [i for i in dict.fromkeys([its[0].index, *starts]) if i in at] if its else []
    names = list(dict.fromkeys(n for i in firsts for n in at[i].params))
    if _has_weights(names):  # (biases double the rows and tell the same story)
        names = [n for n in names if n.endswith("weight")]
    columns = [i for i in firsts if any(size(i, n) is not None for n in names)]
    table = []
    for name in names:
        cells = {tr("‖grad‖ at iteration {i}", lang, i=i): size(i, name) for i in columns}
        if any(v is not None for v in cells.values()):
            table.append({tr("parameter", lang): name,
                          **{k: "—" if v is None else f"{v:.2g}" for k, v in cells.items()}})
    return table


def show_live(losses: list[dict], logged: list[dict], lang: str) -> None:
    """While a lesson runs: its loss as reported so far, and what it logged so far."""
    st.markdown("**" + tr("Training so far (live)", lang) + "**")
    if losses:
        st.vega_lite_chart(spec=_line([{**r, "series": tr("loss", lang)} for r in losses], "iteration", "loss",
                                      "series", tr("iteration", lang), tr("loss", lang),
                                      log=_spread(losses, "loss")), width="stretch")
    show_logged(logged, lang)
