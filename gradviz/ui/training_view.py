"""Training over time: loss curve, parameter trajectory, per-iteration table, pitfalls.

Reads `Recording.iterations` (recording.Iteration: index, loss, and per
parameter a ParamUpdate whose value, grad and update may be a number, a list
(small tensors) or None with a summary dict (big ones)) and
`Recording.pitfalls` (recording.Pitfall). Every part copes with empty lists
and missing numbers.
"""
from __future__ import annotations

import math
from typing import Any, TYPE_CHECKING

import streamlit as st

from gradviz.numbers import fmt_value
from gradviz.recording import Iteration, ParamUpdate, Pitfall, Recording
from gradviz.ui import graphs
from gradviz.ui.graphs import DisplayOptions
from gradviz.words import pick, tr, tr_in

if TYPE_CHECKING:  # pandas (about a second to import) comes where a table is made, after the first graph
    import pandas as pd

MAX_TABLE_PARAMS = 6
MAX_CHART_POINTS = 1500  # longer runs are thinned for the charts (the table keeps every row)
CHART_HEIGHT = 260


def _num(x: Any) -> float | None:
    """A plain float from a number (or a one-element list), else None."""
    while isinstance(x, list) and len(x) == 1:
        x = x[0]
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        if isinstance(x, str) and x in ("nan", "inf", "-inf"):
            return float(x)
        return None
    return float(x)


def _show(x: Any) -> str:
    if isinstance(x, dict):
        return fmt_value(None, x) if {"mean", "min", "max", "norm"} <= set(x) else str(x)
    return fmt_value(x)


def _field(p: ParamUpdate, field: str) -> Any:
    """p.value (or grad, update), or its summary when the tensor was too big to keep."""
    v = getattr(p, field)
    return getattr(p, f"{field}_summary") if v is None else v


def iterations(rec: Recording) -> list[Iteration]:
    return rec.iterations or []


def _update_size(p: ParamUpdate) -> float | None:
    """How far the update after a backward moved the parameter: |update|, or its norm."""
    u = _num(p.update)
    if u is None and p.norm is not None:
        u = _num(p.norm.get("update"))
    if u is None and p.update_summary is not None:
        u = _num(p.update_summary.get("norm"))
    return abs(u) if u is not None else None


def restarts(its: list[Iteration]) -> list[int]:
    """The iterations where training starts again from other parameters (lesson 6's second
    part, lesson 7's nn.Module, each racer of lesson 16), read from the recording alone.

    Between two consecutive iterations a parameter moves only by the update after the
    first: when the next one's value is further away than that update (a value, or its
    norm, by the triangle inequality), or the parameters are others, it is a new start.
    """
    found: list[int] = []
    for a, b in zip(its, its[1:]):
        if not a.params or not b.params:
            continue
        if _reached(a) and not _reached(b):  # a new model: its backward reached none of the old one
            found.append(b.index)
            continue
        if set(a.params) != set(b.params):
            if _reached(a):  # (after an iteration that reached nothing, that start is marked already)
                found.append(b.index)
            continue
        if b.index != a.index + 1:  # thinned out: the updates in between are not known
            continue
        for name, pa in a.params.items():
            va, ua, vb = _param_value(pa), _update_size(pa), _param_value(b.params[name])
            if va is None or ua is None or vb is None or not all(map(math.isfinite, (va, ua, vb))):
                continue
            if abs(abs(vb) - abs(va)) > ua + 1e-4 * max(abs(va), abs(vb)) + 1e-9:
                found.append(b.index)
                break
    return found


def _reached(it: Iteration) -> bool:
    """True when the iteration's backward gave any followed parameter a gradient."""
    return any((p.norm or {}).get("grad") is not None for p in it.params.values())


def loss_frame(its: list[Iteration]) -> pd.DataFrame:
    """(iteration, loss, smoothed): smoothed is the mean of the last `window` losses of the
    same run (never across a restart), drawn when the loss is noisy (mini-batches)."""
    import pandas as pd

    rows = []
    for it in its:
        loss = _num(it.loss)
        if loss is not None and math.isfinite(loss):
            rows.append({"iteration": it.index, "loss": loss})
    frame = pd.DataFrame(rows, columns=["iteration", "loss"])
    window = smoothing_window(frame["loss"])
    if window:
        run = frame["iteration"].searchsorted(restarts(its), side="left")
        runs = pd.Series(0, index=frame.index)
        for start in run:
            runs.iloc[start:] += 1
        frame["smoothed"] = frame.groupby(runs)["loss"].transform(
            lambda s: s.rolling(window, min_periods=1).mean())
    return frame


def smoothing_window(losses: pd.Series) -> int:
    """0 for a smooth curve; else how many losses a smoothed point averages (about 1/40 of the run)."""
    if len(losses) < 200:
        return 0
    ups = float((losses.diff() > 0).mean())
    return max(5, len(losses) // 40) if ups > 0.2 else 0


def scalar_params(its: list[Iteration]) -> list[str]:
    """Parameters whose value is one number in every iteration that has them."""
    names: dict[str, bool] = {}
    for it in its:
        for name, p in it.params.items():
            ok = _num(p.value) is not None
            names[name] = names.get(name, True) and ok
    return [n for n, ok in names.items() if ok]


def trajectory_frame(its: list[Iteration], name: str) -> tuple[pd.DataFrame, bool]:
    """(iteration, value, loss) of one scalar parameter; True when loss = value² throughout.

    `value` is taken where the loss was computed: when the recorded value is the
    one after the update, value - update is the point on the curve.
    """
    import pandas as pd

    rows = []
    for it in its:
        p = it.params.get(name)
        if p is None:
            continue
        v, loss, upd = _num(p.value), _num(it.loss), _num(p.update)
        if v is None:
            continue
        rows.append({"iteration": it.index, "value": v, "loss": loss, "update": upd})
    frame = pd.DataFrame(rows, columns=["iteration", "value", "loss", "update"])
    if frame.empty or frame["loss"].isna().any():
        return frame, False

    def square(col: pd.Series) -> bool:
        return bool(((frame["loss"] - col ** 2).abs() <= 1e-3 * (1 + frame["loss"].abs())).all())

    if square(frame["value"]):
        return frame, True
    if not frame["update"].isna().any():
        before = frame["value"] - frame["update"]
        if square(before):
            frame["value"] = before
            return frame, True
    return frame, False


def logged_texts(rec: Recording) -> dict[int, dict[str, str]]:
    """iteration -> {tag: text} for what the script logged with add_text (lesson 11's prediction)."""
    out: dict[int, dict[str, str]] = {}
    for p in rec.metrics:
        if isinstance(p.get("text"), str) and isinstance(p.get("iteration"), int):
            out.setdefault(p["iteration"], {})[str(p.get("tag"))] = p["text"]
    return out


def table_frame(its: list[Iteration], lang: str, texts: dict[int, dict[str, str]] | None = None) -> pd.DataFrame:
    import pandas as pd

    names: list[str] = []
    for it in its:
        for name in it.params:
            if name not in names:
                names.append(name)
    names = names[:MAX_TABLE_PARAMS]
    words = {"value": tr("value", lang), "grad": tr_in("graph", "grad", lang), "update": tr("update", lang)}
    rows = []
    for it in its:
        row: dict[str, Any] = {tr("iteration", lang): it.index,
                               tr("loss", lang): _num(it.loss), **(texts or {}).get(it.index, {})}
        known = False
        for name in names:
            p = it.params.get(name)
            for field in ("value", "grad", "update"):
                v = _field(p, field) if p is not None else None
                n = _num(v)
                known = known or v is not None
                row[f"{name} {words[field]}"] = n if n is not None else (_show(v) if v is not None else "—")
        if names and not known:
            continue  # an iteration without a snapshot of the parameters: no row of blanks
        rows.append(row)
    return pd.DataFrame(rows)


def _in_lang(p: Pitfall, key: str, lang: str) -> str:
    return str(pick(getattr(p, key) or "", getattr(p, key + "_ko"), lang))


def show_pitfalls(rec: Recording, lang: str, iteration: Any = None) -> None:
    """A notice per pitfall; with `iteration`, only those flagged in that iteration."""
    for p in rec.pitfalls or []:
        at = p.iteration
        if iteration is not None and at != iteration:
            continue
        where = []
        if at is not None:
            where.append(tr_in("pitfall", "iteration {i}", lang, i=at))
        if p.line:
            where.append(tr("line {line}", lang, line=p.line))
        title = _in_lang(p, "title", lang) or p.kind
        body = _in_lang(p, "explanation", lang)
        head = f"**{title}**" + (f" ({', '.join(where)})" if where else "")
        st.warning(f"{head}  \n{body}" if body else head, icon=":material/lightbulb:")


def _param_value(p: ParamUpdate | None) -> float | None:
    """A parameter's value as one number: itself when scalar, else its norm."""
    if p is None:
        return None
    v = _num(p.value)
    if v is None and p.norm is not None:
        v = _num(p.norm.get("value"))
    if v is None and p.value_summary is not None:
        v = _num(p.value_summary.get("norm"))
    return v


def norm_params(its: list[Iteration]) -> list[str]:
    names: list[str] = []
    for it in its:
        for name, p in it.params.items():
            if name not in names and _param_value(p) is not None:
                names.append(name)
    return names


# Charts are plain Vega-Lite specs (what Altair writes, without its validation
# pass): building two Altair charts costs about 60 ms a rerun, these about 2.
ORANGE, PINK, GREY = "#e8590c", "#d6336c", "#868e96"


_MEMO: dict[tuple, Any] = {}


def _memo(key: tuple, make: Any) -> Any:
    """Per-process memory for what a recording always gives the same answer to."""
    if key not in _MEMO:
        while len(_MEMO) > 64:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = make()
    return _MEMO[key]


def _records(frame: pd.DataFrame) -> list[dict]:
    import pandas as pd

    if len(frame) > MAX_CHART_POINTS:
        stride = -(-len(frame) // MAX_CHART_POINTS)
        frame = pd.concat([frame.iloc[::stride], frame.iloc[-1:]])
    return frame.to_dict("records")


def _loss_chart(frame: pd.DataFrame, log: bool, selected: Any, lang: str = "en",
                starts: list[int] | None = None) -> dict:
    y = {"field": "loss", "type": "quantitative", "title": tr("loss", lang),
         "scale": {"type": "log"} if log else {"zero": False}}
    x = {"field": "iteration", "type": "quantitative", "title": tr("iteration", lang)}
    smooth = "smoothed" in frame
    layers: list[dict] = [{"mark": {"type": "line", "color": ORANGE, "strokeWidth": 1 if smooth else 2,
                                    "opacity": 0.35 if smooth else 1},
                           "encoding": {"x": x, "y": y}}]
    if smooth:
        layers.append({"mark": {"type": "line", "color": ORANGE, "strokeWidth": 2.5},
                       "encoding": {"x": x, "y": {**y, "field": "smoothed"},
                                    "tooltip": [{"field": "iteration", "type": "quantitative",
                                                 "title": tr("iteration", lang)},
                                                {"field": "smoothed", "type": "quantitative", "format": ".6g",
                                                 "title": tr("smoothed loss", lang)}]}})
    if starts:  # where training starts again: a marked line, not a silent jump
        marks = [{"iteration": i, "label": tr("restart", lang)} for i in starts]
        layers.append({"data": {"values": marks}, "mark": {"type": "rule", "color": GREY, "strokeWidth": 1.5},
                       "encoding": {"x": x}})
        layers.append({"data": {"values": marks},
                       "mark": {"type": "text", "color": GREY, "align": "left", "dx": 3, "dy": 4,
                                "baseline": "top", "y": 0},
                       "encoding": {"x": x, "text": {"field": "label", "type": "nominal"}}})
    if len(frame) <= 80:
        layers.append({"mark": {"type": "circle", "color": ORANGE, "size": 28},
                       "encoding": {"x": x, "y": y, "tooltip": [
                           {"field": "iteration", "type": "quantitative", "title": tr("iteration", lang)},
                           {"field": "loss", "type": "quantitative", "format": ".6g",
                            "title": tr("loss", lang)}]}})
    if selected is not None:
        layers.append({"data": {"values": [{"iteration": selected}]},
                       "mark": {"type": "rule", "color": PINK, "strokeDash": [4, 3]},
                       "encoding": {"x": x}})
    return {"data": {"values": _records(frame)}, "layer": layers, "height": CHART_HEIGHT}


def _parabola_chart(frame: pd.DataFrame, selected: Any, lang: str = "en",
                    starts: list[int] | None = None) -> dict:
    frame = frame.assign(run=frame["iteration"].map(lambda i: sum(s <= i for s in starts or [])))
    span = max(float(frame["value"].abs().max()), 1e-9) * 1.1
    curve = [{"value": -span + 2 * span * i / 200, "loss": (-span + 2 * span * i / 200) ** 2}
             for i in range(201)]
    x = {"field": "value", "type": "quantitative", "title": tr("value", lang)}
    y = {"field": "loss", "type": "quantitative", "title": "L"}
    points = _records(frame[["iteration", "value", "loss", "run"]])
    layers: list[dict] = [
        {"data": {"values": curve}, "mark": {"type": "line", "color": GREY, "strokeWidth": 1.5},
         "encoding": {"x": x, "y": y}},
        {"data": {"values": points}, "mark": {"type": "line", "color": ORANGE, "strokeWidth": 1, "opacity": 0.6},
         "encoding": {"x": x, "y": y, "order": {"field": "iteration", "type": "quantitative"},
                      "detail": {"field": "run", "type": "nominal"}}},
        {"data": {"values": points}, "mark": {"type": "circle", "color": ORANGE, "size": 45},
         "encoding": {"x": x, "y": y, "tooltip": [
             {"field": "iteration", "type": "quantitative", "title": tr("iteration", lang)},
             {"field": "value", "type": "quantitative", "format": ".5g", "title": tr("value", lang)},
             {"field": "loss", "type": "quantitative", "format": ".5g", "title": tr("loss", lang)}]}},
    ]
    sel = [p for p in points if p["iteration"] == selected]
    if sel:
        layers.append({"data": {"values": sel}, "mark": {"type": "circle", "color": PINK, "size": 160,
                                                         "opacity": 0.9},
                       "encoding": {"x": x, "y": y}})
    return {"layer": layers, "height": CHART_HEIGHT}


def _values_chart(its: list[Iteration], names: list[str], lang: str = "en") -> dict | None:
    rows = []
    for it in its:
        for name in names:
            v = _param_value(it.params.get(name))
            if v is not None:
                rows.append({"iteration": it.index, "parameter": name, "value": v})
    if not rows:
        return None
    if len(rows) > MAX_CHART_POINTS * len(names):
        stride = -(-len(rows) // (MAX_CHART_POINTS * len(names)))
        rows = [r for i, r in enumerate(rows) if (i // len(names)) % stride == 0]
    return {"data": {"values": rows}, "mark": {"type": "line", "strokeWidth": 2}, "height": CHART_HEIGHT,
            "encoding": {"x": {"field": "iteration", "type": "quantitative", "title": tr("iteration", lang)},
                         "y": {"field": "value", "type": "quantitative", "title": tr("value", lang),
                               "scale": {"zero": False}},
                         "color": {"field": "parameter", "type": "nominal",
                                   "legend": {"orient": "top", "title": None}},
                         "tooltip": [{"field": "iteration", "type": "quantitative", "title": tr("iteration", lang)},
                                     {"field": "parameter", "type": "nominal", "title": tr("parameter", lang)},
                                     {"field": "value", "type": "quantitative", "format": ".5g",
                                      "title": tr("value", lang)}]}}


def _chart(spec: dict) -> None:
    st.vega_lite_chart(spec=spec, width="stretch")


def graph_for_iteration(rec: Recording, its: list[Iteration], pos: int) -> int | None:
    """The index of the graph recorded in iteration `pos`, when there is one."""
    g = its[pos].graph
    return g if g is not None and 0 <= g < len(rec.graphs) else None


@st.fragment
def show(rec_key: str, rec: Recording, opts: DisplayOptions) -> None:
    lang = opts.lang
    its = iterations(rec)
    if not its:
        st.info(tr("No training iterations were recorded for this run.", lang))
        return
    n = len(its)
    skey = f"gv_iter|{rec_key}"
    if skey not in st.session_state or not 1 <= int(st.session_state[skey]) <= n:
        st.session_state[skey] = 1
    pos = int(st.session_state[skey]) - 1
    selected = its[pos].index

    left, right = st.columns(2, gap="medium")
    losses = _memo((rec_key, "loss"), lambda: loss_frame(its))
    starts = _memo((rec_key, "restarts"), lambda: restarts(its))
    with left:
        st.markdown("**" + tr("Loss per iteration", lang) + "**")
        if not losses.empty:
            log_ok = bool((losses["loss"] > 0).all()) and losses["loss"].max() / max(losses["loss"].min(), 1e-300) > 50
            log = st.toggle(tr("log scale", lang), value=log_ok, key=f"gv_log|{rec_key}", disabled=not log_ok)
            _chart(_loss_chart(losses, log and log_ok, selected, lang, starts))
            notes = []
            if starts:
                notes.append(tr("Training starts again from new parameters at iteration {list}: the jump "
                                "in the loss is a new start, not a step that went wrong.", lang,
                                list=", ".join(map(str, starts))))
            if "smoothed" in losses:
                notes.append(tr("Each mini-batch gives its own loss, so the thin line is noisy; the thick "
                                "line is the mean of the last {n} losses.", lang,
                                n=smoothing_window(losses["loss"])))
            if notes:
                st.caption(" ".join(notes))
    with right:
        names = _memo((rec_key, "scalars"), lambda: scalar_params(its))
        if len(names) == 1:
            frame, parabola = _memo((rec_key, "trajectory"), lambda: trajectory_frame(its, names[0]))
            st.markdown("**" + tr("Parameter trajectory", lang) + f"** · `{names[0]}`")
            if parabola:
                _chart(_parabola_chart(frame, selected, lang, starts))
                st.caption(tr("The curve is L = {p}²; each dot is one iterate, sliding down toward "
                              "the minimum at 0.", lang, p=names[0]))
            else:
                chart = _memo((rec_key, "values", tuple(names), lang), lambda: _values_chart(its, names, lang))
                if chart is not None:
                    _chart(chart)
        elif names or norm_params(its):
            shown = names[:8] if names else norm_params(its)[:8]
            title = (tr("Parameter values per iteration", lang) if names
                     else tr("Parameter size (norm) per iteration", lang))
            st.markdown(f"**{title}**")
            chart = _memo((rec_key, "values", tuple(shown), lang), lambda: _values_chart(its, shown, lang))
            if chart is not None:
                _chart(chart)

    if n > 1:
        st.slider(tr("Iteration", lang), 1, n, key=skey,
                  format="%d", help=f"{its[0].index} … {its[-1].index}")
    it = its[pos]
    cols = st.columns(4)
    cols[0].metric(tr("Iteration", lang), str(selected))
    loss = _num(it.loss)
    cols[1].metric(tr("loss", lang), f"{loss:.6g}" if loss is not None else "—")
    params = list(it.params.items())
    for col, (name, p) in zip(cols[2:], params[:2]):
        value = _num(p.value)
        label, shown = name, (f"{value:.6g}" if value is not None else "—")
        if value is None and _param_value(p) is not None:  # a tensor: its size
            label, shown = f"‖{name}‖", f"{_param_value(p):.6g}"
        col.metric(label, shown,
                   help=tr("value {v} · grad {g} · update {u}", lang, v=_show(_field(p, "value")),
                           g=_show(_field(p, "grad")), u=_show(_field(p, "update"))))
    for name, p in params[:6]:
        formula = p.formula
        if formula is not None and formula.text:
            words = pick(formula.explanation, formula.explanation_ko, lang)
            st.markdown(f"`{formula.text}`  \n{words}")
    for tag, text in logged_texts(rec).get(selected, {}).items():
        st.markdown(f"{tag}: `{text!r}`")
    show_pitfalls(rec, lang, iteration=selected)

    gi = graph_for_iteration(rec, its, pos)
    st.markdown("**" + tr("Graph of iteration {i}", lang, i=selected) + "**")
    if gi is not None:
        svg = graphs.graph_svg(rec_key, gi, rec.graphs[gi], opts)
        graphs.show(svg, max_height=480)
    else:
        st.caption(tr("The graph of this iteration was not recorded: gradviz keeps the graph of the "
                      "first backward() call, of the first call from each line of code, and of the "
                      "calls asked for with --at.", lang))

    st.markdown("**" + tr("Value, gradient and update per iteration", lang) + "**")
    st.dataframe(_memo((rec_key, "table", lang), lambda: table_frame(its, lang, logged_texts(rec))),
                 hide_index=True, width="stretch", height=280)
