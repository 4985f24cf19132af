"""The optimizer playground: lesson 16's race, drawn live over the loss's contours, with knobs.

Five torch.optim optimizers start at one point of a loss of two numbers; their
paths are drawn over its contour lines (Vega-Lite, as the Training tab's charts)
in Okabe-Ito colours with a dash each, so they stay apart without colour vision.
The race runs in the app process (capture/race.py: a plain torch.optim run, a few
hundred ms), cached per knob setting; the contours are cached per surface. An
iteration slider puts a marker on every path; once the learner moves it, the step
there is run again with the optimizers' state read, and explain/updates.py writes
each update as its formula in numbers. Reached from lesson 16's page and the sidebar.
"""
from __future__ import annotations

import math
from typing import Any

import streamlit as st

from gradviz.numbers import fmt_number
from gradviz.words import N_, pick, tr

GRID = 45  # loss samples per axis for the contours (each rerun sends every segment to the browser)
SIZE = (600, 520)  # the plot fits in this many pixels, with one unit as long on both axes
# Okabe & Ito's colour-blind-safe palette, and a dash each: the paths stay apart without colour
STYLE = {"SGD": ("#0072B2", [1, 0]), "Momentum": ("#E69F00", [6, 3]), "RMSprop": ("#009E73", [2, 2]),
         "Adam": ("#D55E00", [8, 3, 2, 3]), "AdamW": ("#CC79A7", [3, 5])}
LEGEND = {"orient": "right", "symbolType": "stroke", "symbolStrokeWidth": 3, "symbolSize": 500, "labelFontSize": 13}
LABELS = {"Momentum": N_("SGD + momentum")}
SURFACE_WORDS = {"bowl": N_("round bowl"), "ravine": N_("ravine"), "rosenbrock": N_("Rosenbrock valley"),
                 "regression": N_("linear regression over (W, b)")}
LRS = [round(m * 10.0 ** e, 6) for e in range(-4, 1) for m in (1, 2, 5)] + [1.0, 2.0]
STAR = "M0,-1L0.29,-0.4L0.95,-0.31L0.48,0.15L0.59,0.81L0,0.5L-0.59,0.81L-0.48,0.15L-0.95,-0.31L-0.29,-0.4Z"
MARK = "#7f7f7f"  # start and minimum: a grey that reads on light and dark alike
FIRST = "ravine"  # the surface shown first: lesson 16's default, the one its text is about
FAR = 10.0  # a path is drawn until it is this many view widths away (it blew up)


@st.cache_data(max_entries=64, show_spinner=False)
def _race(surface: str, lr: float, steps: int, start: tuple[float, float]) -> list:
    from gradviz.capture import race

    return race.race(surface, lr, steps, start)


@st.cache_data(max_entries=64, show_spinner=False)
def _step(surface: str, lr: float, k: int, start: tuple[float, float]) -> dict:
    from gradviz.capture import race

    return race.one_step(surface, lr, k, start)


@st.cache_data(max_entries=16, show_spinner=False)
def _contours(surface: str, box: tuple[float, float, float, float]) -> list[dict]:
    from gradviz.capture import race
    from gradviz.render.contours import levels, polylines, segments

    values = race.grid(surface, box, GRID)
    xs = [box[0] + (box[1] - box[0]) * j / (GRID - 1) for j in range(GRID)]
    ys = [box[2] + (box[3] - box[2]) * i / (GRID - 1) for i in range(GRID)]
    at = levels(values, log=race.SURFACES[surface].log_levels)
    return [{"x": round(x, 4), "y": round(y, 4), "piece": n, "i": i, "level": float(f"{lv:.4g}")}
            for n, (lv, points) in enumerate(polylines(segments(xs, ys, values, at)))
            for i, (x, y) in enumerate(points)]


def view_box(box: tuple[float, float, float, float], start: tuple[float, float]) -> tuple[float, ...]:
    """The surface's box, grown to hold the start point with a margin."""
    x0, x1, y0, y1 = box
    mx, my = (x1 - x0) * 0.05, (y1 - y0) * 0.05
    return (min(x0, start[0] - mx), max(x1, start[0] + mx), min(y0, start[1] - my), max(y1, start[1] + my))


def drawn(points: list[tuple[float, float]], box: tuple[float, ...]) -> list[tuple[float, float]]:
    """The path up to where it stops being finite or flies far off the view (the point out included)."""
    cx, cy = (box[0] + box[1]) / 2, (box[2] + box[3]) / 2
    far_x, far_y = FAR * (box[1] - box[0]), FAR * (box[3] - box[2])
    out = []
    for x, y in points:
        if not (math.isfinite(x) and math.isfinite(y)):
            break
        out.append((x, y))
        if abs(x - cx) > far_x or abs(y - cy) > far_y:
            break
    return out


def blew_up(path: Any) -> int | None:
    """The first iteration whose loss is not a finite number (None: it never blew up)."""
    return next((k for k, v in enumerate(path.losses) if not math.isfinite(v)), None)


def chart(paths: list, contours: list[dict], k: int, box: tuple[float, ...], start: tuple[float, float],
          minimum: tuple[float, float], names: tuple[str, str], lang: str) -> dict:
    """The Vega-Lite spec: contours, the five paths, their markers at iteration k, start and minimum."""
    label = {p.name: tr(LABELS.get(p.name, p.name), lang) for p in paths}
    domain = [label[p.name] for p in paths]
    rows, marks = [], []
    for p in paths:
        line = drawn(p.points, box)
        rows += [{"x": x, "y": y, "k": i, "optimizer": label[p.name]} for i, (x, y) in enumerate(line)]
        if k < len(line):
            marks.append({"x": line[k][0], "y": line[k][1], "optimizer": label[p.name],
                          "loss": p.losses[k]})
    axis = {"grid": False}
    x = {"field": "x", "type": "quantitative", "title": names[0], "axis": axis,
         "scale": {"domain": list(box[:2]), "nice": False}}
    y = {"field": "y", "type": "quantitative", "title": names[1], "axis": axis,
         "scale": {"domain": list(box[2:]), "nice": False}}
    per = {"domain": domain}
    color = {"field": "optimizer", "type": "nominal", "title": None, "legend": LEGEND,
             "scale": {**per, "range": [STYLE[p.name][0] for p in paths]}}
    loss = tr("loss", lang)
    aspect = (box[1] - box[0]) / (box[3] - box[2])
    width = min(SIZE[0], SIZE[1] * aspect)
    return {"width": round(width), "height": round(width / aspect), "autosize": {"type": "pad"}, "layer": [
        {"name": "contours", "data": {"values": contours}, "mark": {"type": "line", "clip": True, "color": MARK, "opacity": 0.45,
                                                "strokeWidth": 1},
         "encoding": {"x": x, "y": y, "detail": {"field": "piece", "type": "nominal"},
                      "order": {"field": "i", "type": "quantitative"},
                      "tooltip": [{"field": "level", "type": "quantitative", "format": ".3g", "title": loss}]}},
        {"name": "paths", "data": {"values": rows}, "mark": {"type": "line", "clip": True, "strokeWidth": 2.2},
         "encoding": {"x": x, "y": y, "order": {"field": "k", "type": "quantitative"}, "color": color,
                      "strokeDash": {"field": "optimizer", "type": "nominal", "title": None, "legend": LEGEND,
                                     "scale": {**per, "range": [STYLE[p.name][1] for p in paths]}}}},
        {"data": {"values": marks}, "mark": {"type": "point", "clip": True, "filled": True, "size": 110,
                                              "opacity": 1, "stroke": "white", "strokeWidth": 1},
         "encoding": {"x": x, "y": y, "color": {**color, "legend": None},
                      "tooltip": [{"field": "optimizer", "title": " "},
                                  {"field": "loss", "type": "quantitative", "format": ".4g", "title": loss}]}},
        _spot(start, tr("start", lang), {"filled": False, "size": 260, "strokeWidth": 2.5}, -12, x, y),
        _spot(minimum, tr("minimum", lang), {"shape": STAR, "filled": True, "size": 300}, 14, x, y),
    ]}


def _spot(at: tuple[float, float], word: str, point: dict, dy: int, x: dict, y: dict) -> dict:
    """A marked point with its word beside it (start above, minimum below: paths end at the minimum)."""
    return {"data": {"values": [{"x": at[0], "y": at[1], "what": word}]}, "encoding": {"x": x, "y": y},
            "layer": [{"mark": {"type": "point", "color": MARK, **point}},
                      {"mark": {"type": "text", "align": "left", "dx": 12, "dy": dy, "fontSize": 13,
                                "fontWeight": "bold", "color": MARK}, "encoding": {"text": {"field": "what"}}}]}


def _lr_choices(suited: float) -> list[float]:
    return sorted(set(LRS) | {suited})


def _knobs(lang: str) -> tuple[str, float, int, tuple[float, float]]:
    from gradviz.capture.race import SURFACES

    c1, c2, c3, c4, c5 = st.columns([2.2, 2.2, 2, 1, 1])
    surface = c1.selectbox(tr("Loss surface", lang), list(SURFACES), index=list(SURFACES).index(FIRST),
                           key="gv_pg_surface",
                           format_func=lambda s: f"{tr(SURFACE_WORDS[s], lang)}: {SURFACES[s].formula}")
    s = SURFACES[surface]
    lr = c2.select_slider(tr("Learning rate (lr)", lang), _lr_choices(s.lr), value=s.lr, key=f"gv_pg_lr|{surface}",
                          format_func=lambda v: f"{v:g}")
    steps = c3.slider(tr("Steps", lang), 1, 1000, value=s.steps, key=f"gv_pg_steps|{surface}")
    w1 = c4.number_input(tr("start {name}", lang, name=s.names[0]), -10.0, 10.0, value=s.start[0], step=0.1,
                         key=f"gv_pg_w1|{surface}")
    w2 = c5.number_input(tr("start {name}", lang, name=s.names[1]), -10.0, 10.0, value=s.start[1], step=0.1,
                         key=f"gv_pg_w2|{surface}")
    return surface, float(lr), int(steps), (float(w1), float(w2))


def _picked() -> None:
    st.session_state["gv_pg_picked"] = True


LESSON = "optimizer_race"  # the lesson whose page has the playground as a tab


def belongs_to(lesson: Any) -> bool:
    """Whether `lesson` (a gradviz.lessons.Lesson, or None) gets the playground tab."""
    return getattr(lesson, "id", None) == LESSON


def page(lang: str) -> None:
    """The playground on its own page (the sidebar's topic), under its title."""
    st.title(tr("Optimizer playground", lang))
    show(lang)


def show(lang: str) -> None:
    """The playground: knobs, the race over the contours, an iteration slider, each update there."""
    from gradviz.capture.race import SURFACES

    st.caption(tr("Five optimizers from torch.optim start at the same point with the same learning rate. "
                  "Move the knobs: the race is run again with PyTorch and redrawn.", lang))
    surface, lr, steps, start = _knobs(lang)
    s = SURFACES[surface]
    box = view_box(s.box, start)
    paths = _race(surface, lr, steps, start)
    if not st.session_state.get("gv_pg_picked") or st.session_state.get("gv_pg_k", steps) > steps:
        st.session_state["gv_pg_k"] = steps
    k = st.slider(tr("Iteration", lang), 0, steps, key="gv_pg_k", on_change=_picked,
                  help=tr("Each optimizer's position after this many steps; the markers on the paths.", lang))
    st.vega_lite_chart(spec=chart(paths, _contours(surface, box), k, box, start, s.minimum, s.names, lang),
                       width="content")
    if s.log_levels:
        st.caption(tr("Contour lines at 1, 2 and 5 times each power of ten: the loss spans decades.", lang))
    with st.container(key="gv_pg_table"):
        st.markdown(_table(paths, k, s.names, lang))
    for p in paths:
        at = blew_up(p)
        if at is not None:
            st.caption(tr("{name} blew up at iteration {k}: its loss is no longer a number (lr too big "
                          "for this surface).", lang, name=tr(LABELS.get(p.name, p.name), lang), k=at))
    if k >= 1 and st.session_state.get("gv_pg_picked"):
        _updates(_step(surface, lr, k, start), k, lang)
    else:
        st.caption(tr("Move the iteration slider to see each optimizer's update there, with its formula.", lang))


def _table(paths: list, k: int, names: tuple[str, str], lang: str) -> str:
    optimizer, loss_word = tr("optimizer", lang), tr("loss", lang)
    head = (f"| {optimizer} | {names[0]} | {names[1]} | {loss_word} | Δ{names[0]} | Δ{names[1]} |\n"
            "|---|--:|--:|--:|--:|--:|\n")
    rows = []
    for p in paths:
        (x, y), loss = p.points[k], p.losses[k]
        dx, dy = ((x - p.points[k - 1][0], y - p.points[k - 1][1]) if k else (0.0, 0.0))
        cells = [fmt_number(v, 5) for v in (x, y, loss, dx, dy)]
        rows.append(f"| **{tr(LABELS.get(p.name, p.name), lang)}** | " + " | ".join(cells) + " |")
    caption = tr("At iteration {k}: each optimizer's position, its loss there and its last update Δ.", lang, k=k)
    return f"**{caption}**\n\n" + head + "\n".join(rows)


def _updates(steps: dict, k: int, lang: str) -> None:
    from gradviz.explain.updates import optimizer_formula

    st.markdown("**" + tr("Step {k} of each optimizer, in numbers (read from torch.optim)", lang, k=k) + "**")
    for name, step in steps.items():
        lines, words = [], ""
        for ps in step.params:
            formula, en, ko = optimizer_formula(step.type, ps)
            lines += formula.split("; ")
            words = pick(en, ko, lang)
        st.markdown(f"**{tr(LABELS.get(name, name), lang)}**: {words}")
        st.code("\n".join(lines), language=None)
