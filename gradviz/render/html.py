"""Recording -> one self-contained HTML page: backward(), step by step.

The page holds everything it needs (inline CSS, JS, SVG and data), so it works
from a file:// URL, offline, mailed to a class or opened years later. Per step
it shows the graph after that step, the explanation in English and Korean, the
gradient that arrived and left, the leaf .grad values so far, and the lesson's
source with the step's line marked.

Small graphs get one pre-rendered SVG per step (the exact picture of
`graph_to_dot(step=k)`); graphs with many steps get one overview SVG and the
page highlights the current node through the `node-<id>` ids dot.py emits. A
big graph is drawn collapsed (render/collapse.py), so each step names the drawn
node that stands for its recorded node: a step inside a collapsed module
highlights the module.
"""
from __future__ import annotations

import base64
import gzip
import html
import json
import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gradviz.numbers import fmt_value
from gradviz.recording import Graph, Recording, Step
from gradviz.render import forward, glossary, predict, stepview, style
from gradviz.render.collapse import View, make_view
from gradviz.render.dot import localize
from gradviz.words import N_, languages, template, tr, tr_in
from gradviz.words.notes import shown

FRAME_BUDGET = 240  # per-step SVGs in one page, over all its graphs
ASSETS = Path(__file__).resolve().parent.parent / "assets"
SCRIPTS = ("stepper.js", "predict.js", "glossary.js", "forward.js")  # stepper.js first: the others build on window.gvStepper

# the page's words, in every language, ride in its data: the language toggle works offline
_UI = {
    "title": N_("backward(), step by step"),
    "step": N_("Step"),
    "of": N_("of"),
    "explanation": N_("What happens"),
    "flow": N_("Gradient flow"),
    "received": N_("arrives"),
    "sent": N_("sends"),
    "to": N_("to"),
    "grads": N_("Leaf gradients so far"),
    "grads_hint": N_(".grad after this step (None: nothing accumulated yet)"),
    "source": N_("Source"),
    "backward_here": N_("backward() called here"),
    "first": N_("First step (Home)"),
    "prev": N_("Previous step (←)"),
    "next": N_("Next step (→)"),
    "last": N_("Last step (End)"),
    "fit": N_("Fit"),
    "fit_hint": N_("Show the whole graph"),
    "actual": "1:1",
    "actual_hint": N_("Show the graph at full size, centred on this step"),
    "zoom_in": N_("Zoom in"),
    "zoom_out": N_("Zoom out"),
    "camera": N_("Drag to move the graph, wheel or pinch to zoom"),
    "play": N_("Play: step through backward() (Space)"),
    "pause": N_("Pause (Space)"),
    "svg": N_("Download this picture (SVG)"),
    "keys": N_("← → step · Home / End first and last · Space play"),
    "graph": N_("Graph"),
    "no_steps": N_("No backward steps were recorded for this graph."),
    "no_graph": N_("Nothing was recorded: the code never called backward()."),
    "no_source": N_("The source is not available."),
    "overview": N_("Large graph: one overview picture; the current step is outlined, steps still to come "
                   "are faded."),
    "no_grad_input": N_("1 input that needs no gradient"),
    "no_grad_inputs": N_("{n} inputs that need no gradient"),
    "retained": "retain_grad",
    "error": N_("The script stopped with an error"),
    "nothing": "—",
    "line": N_("line"),
    **{"role_" + role: text for role, text in style.ROLE_TEXT.items()},
    "now": N_("this step"),
    "flow_edge": N_("gradient sent"),
    "todo": N_("still to come"),
    **predict.WORDS,
    **glossary.WORDS,
    **forward.WORDS,
}


def ui_words(lang: str) -> dict[str, str]:
    """The page's words in `lang` (what the stepper's JS shows for that language)."""
    words = {key: template(text, lang) if "{" in text else tr(text, lang) for key, text in _UI.items()}
    words["grad_cell"] = tr_in("graph", "grad", lang)  # the .grad cell of a tensor box: "grad 18"
    return words


FACES = ("page", "notebook", "app")  # a file of its own, a notebook output, the Streamlit app


def recording_html(rec: Recording, embed: bool = False, lang: str = "en", *, face: str | None = None,
                   options: dict[str, Any] | None = None, name: str = "") -> str:
    """The stepper page for `rec`; with `embed=True` an <iframe> fragment for notebooks.

    face: "page" (default), "notebook" (what embed=True wraps) or "app" (the page
    the Streamlit app shows in its component frame: no header, sized to the frame).
    options: drawing options over each graph's own (values, grads, constants,
    attrs, rankdir, depth, budget, fold). name: the stem of exported file names.
    """
    lang = lang if lang in languages() else "en"
    face = face or ("notebook" if embed else "page")
    page = _page(rec, lang, face, dict(options or {}), name or _stem(rec))
    if embed:
        from gradviz.render.notebook import iframe

        return iframe(page, title="gradviz stepper")
    return page


def _stem(rec: Recording) -> str:
    """What exported files are called: the script's name, else "gradviz"."""
    return os.path.splitext(os.path.basename(rec.script))[0] if rec.script else "gradviz"


# ---------------------------------------------------------------- data for the page

def _page(rec: Recording, lang: str, face: str, options: dict[str, Any], name: str) -> str:
    plans = _plan(rec.graphs)
    svgs = _render_all(rec.graphs, plans, lang, options)
    graphs = [_graph_data(g, plans[i], rec, _view(g, lang, options), lang) for i, g in enumerate(rec.graphs)]
    words = {code: ui_words(code) for code in languages()}
    data = {"lang": lang, "ui": words, "graphs": graphs, "embed": face == "notebook", "face": face,
            "name": name, "forward": forward.tangent_steps(rec, lang), "icons": {"play": _ICON["play"], "pause": _ICON["pause"]}}
    title = _title(rec)
    templates = [_frame_tag(f"gv-f-{gi}-{key}", svg, packed=face == "app")
                 for gi, frames in enumerate(svgs) for key, svg in frames.items()]
    first = ""
    if svgs and svgs[0]:
        first = svgs[0].get(0) or svgs[0].get("o") or ""  # the script swaps in "t0" on a phone
    body = _body(rec, lang, graphs, first, title)
    css = _asset("stepper.css")
    js = "\n".join(_asset(f) for f in SCRIPTS)
    colours = (f":root{{--gv-current:{style.CURRENT};--gv-grad:{style.GRAD};--gv-leaf:{style.FILL['leaf']};"
               f"--gv-op:{style.FILL['op']};--gv-out:{style.FILL['output']};--gv-mid:{style.FILL['intermediate']}}}")
    # a collapsed module is a rounded box, a <path>: outline it like the other current nodes
    colours += "\n.gv-stage g.node.gv-cur path { stroke: var(--gv-current); stroke-width: 3; }"
    # dot paints nodes still to come a light grey: in the dark, a dark grey with light text
    todo = f'[fill="{style.FUTURE_FILL}"]'
    colours += (f"\n@media (prefers-color-scheme: dark) {{ .gv-stage {todo} {{ fill: #3a404a; }} "
                f".gv-stage g.node:has({todo}) text {{ fill: #c5cbd3; }} "
                f".gv-legend i.gv-k-todo {{ background: #3a404a !important; }} }}")
    return "\n".join([
        "<!DOCTYPE html>",
        f'<html lang="{lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f"<title>{html.escape(title + ' · ' if title else '')}gradviz</title>",
        f"<style>{colours}\n{css}</style>",
        "</head>",
        f'<body class="gv-{face}{" gv-embed" if face == "notebook" else ""}">',
        body,
        "".join(templates),
        f'<script type="application/json" id="gv-data">{_json_for_script(data)}</script>',
        f"<script>{js}</script>",
        "</body></html>",
    ])


def _frame_tag(ident: str, svg: str, packed: bool) -> str:
    """One step's picture: a <template>, or in the app gzip + base64 in a <script> (a fifth of the
    size: the app's frame of a big lesson shows its first graph seconds sooner; stepper.js unpacks)."""
    if not packed:
        return f'<template id="{ident}">{svg}</template>'
    data = base64.b64encode(gzip.compress(svg.encode("utf-8"), compresslevel=6, mtime=0)).decode("ascii")
    return f'<script type="application/gzip" id="{ident}">{data}</script>'


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _json_for_script(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=str)
    return text.replace("</", "<\\/").replace("<!--", "\\u003c!--")


def _title(rec: Recording) -> str:
    if rec.script:
        return os.path.basename(rec.script)
    if rec.graphs and rec.graphs[0].title:
        return rec.graphs[0].title
    return ""


def _plan(graphs: list[Graph]) -> list[str]:
    """'steps' (one SVG per step) or 'overview' (one SVG, highlighted by JS), per graph."""
    plans, used = [], 0
    for g in graphs:
        n = len(g.steps)
        if n and not stepview.use_overview(g) and used + n <= FRAME_BUDGET:
            plans.append("steps")
            used += n
        else:
            plans.append("overview")
    return plans


def _render_all(graphs: list[Graph], plans: list[str], lang: str, options: dict[str, Any]) -> list[dict]:
    """All SVGs, rendered in parallel (each is one `dot` process)."""
    jobs: list[tuple[int, Any, Graph, int | None, dict[str, Any]]] = []
    for gi, g in enumerate(graphs):
        if plans[gi] == "steps":
            jobs += [(gi, k, g, k, options) for k in range(len(g.steps))]
            if _narrow_variant(g, options):  # key "t<k>": the same step drawn top to bottom
                jobs += [(gi, f"t{k}", g, k, {**options, "rankdir": "TB"}) for k in range(len(g.steps))]
        else:
            jobs.append((gi, "o", g, None, options))
    out: list[dict] = [{} for _ in graphs]
    if not jobs:
        return out
    with ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 2))) as pool:
        for gi, key, svg in pool.map(lambda j: (j[0], j[1], _svg(j[2], j[3], lang, j[4])), jobs):
            out[gi][key] = svg
    return out


def _narrow_variant(graph: Graph, options: dict[str, Any]) -> bool:
    """A left-to-right picture also gets a top-to-bottom one, which a phone shows instead."""
    from gradviz.render.dot import auto_rankdir

    asked = options.get("rankdir", graph.options.get("rankdir", "auto"))
    return asked not in ("LR", "TB", "RL", "BT") and auto_rankdir(graph) == "LR"


def _svg(graph: Graph, step: int | None, lang: str, options: dict[str, Any]) -> str:
    from gradviz.render.dot import graph_dot
    from gradviz.render.svg import render_svg

    try:
        text = render_svg(graph_dot(graph, **{**_defaults(graph, options), **options, "step": step, "lang": lang,
                                               "legend": False, "title": ""}))
    except Exception as e:  # no dot, or a layout that failed: the page still teaches
        return (f'<div class="gv-nosvg">{html.escape(type(e).__name__)}: '
                f"{html.escape(str(e))}</div>")
    return clean_svg(text)


_PROLOG = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", re.S)


_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')


def clean_svg(svg: str) -> str:
    """An SVG from dot, ready to inline: no XML prolog or comments; its natural
    width in a CSS variable (--w), so the page can fit it or show it at 1:1."""
    svg = _PROLOG.sub("", svg).strip()
    m = _SIZE.search(svg)
    if m:
        w, h = (float(v) * 4 / 3 for v in m.groups())  # pt -> CSS px
        svg = svg.replace(m.group(0), f'<svg class="gv-svg" width="{w:.0f}" height="{h:.0f}" '
                                      f'style="--w:{w:.0f}px"', 1)
    else:
        svg = svg.replace("<svg ", '<svg class="gv-svg" ', 1)
    return svg


_VIEW_OPTIONS = ("depth", "budget", "fold", "split", "expand")


FOLD_MODULE_NODES = 40  # a module call with this many ops of its own is one block in the stepper


def _defaults(graph: Graph, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stepper's drawing defaults, between the graph's own options and the caller's.

    A big module call (an RNN unrolled over its time steps: 146 ops) is drawn as
    one block, and a step inside it highlights the block, so the step stays
    findable; the small modules around it stay open, and runs of identical calls
    fold into one block (xN). A caller that picks a depth or asks for every node wins.
    """
    options = options or {}
    if not graph.modules or "depth" in options or options.get("budget") == 0 or "depth" in graph.options:
        return {}
    count: dict[str, int] = {}
    for n in graph.nodes:
        if n.module:
            count[n.module] = count.get(n.module, 0) + 1
    parents = {info.get("parent") for info in graph.modules.values()}
    big = {m for m, c in count.items() if c >= FOLD_MODULE_NODES and m not in parents}  # ops of its own
    if not big:
        return {}
    return {"fold": True, "depth": 0, "expand": sorted(m for m in graph.modules if m not in big)}


def _view(graph: Graph, lang: str, options: dict[str, Any] | None = None) -> View:
    """The view the pictures are drawn from: graph_dot makes the same one from the same options."""
    merged = {**graph.options, **_defaults(graph, options), **(options or {})}
    return make_view(graph, lang=lang, **{k: v for k, v in merged.items() if k in _VIEW_OPTIONS})


def _drawn(view: View, node_id: str) -> str:
    """The id of the drawn node that stands for a recorded one (a collapsed module, a leaf's first copy)."""
    ids = view.visible(node_id)
    return ids[0] if ids else node_id


def _label(graph: Graph, node_id: str) -> str:
    try:
        n = graph.node(node_id)
    except KeyError:
        return node_id
    return n.label or n.name or n.id


def _graph_data(graph: Graph, plan: str, rec: Recording, view: View, lang: str = "en") -> dict:
    def value(v: Any, summary: dict | None = None) -> str:
        return localize(fmt_value(v, summary), lang)

    tracked = stepview.tracked(graph)
    since = stepview.grad_steps(graph)
    grads: dict[str, str | None] = {n.id: None for n in tracked}
    steps = []
    for k, s in enumerate(graph.steps):
        changed = {n.id for n in tracked if since.get(n.id) == k}
        for n in tracked:
            if n.id in changed:
                grads[n.id] = value(*stepview.grad_after(graph, n, k, since))
        steps.append({
            "op": s.op,
            "node": _drawn(view, s.node),  # what the overview highlights: node-<id> in its SVG
            "recorded": s.node,
            "label": _label(graph, s.node),
            "line": _step_line(graph, s, rec),
            "en": s.explanation or _fallback(graph, s, "en"),
            "ko": s.explanation_ko or _fallback(graph, s, "ko"),
            "generated": not s.explanation,
            "arrived": [value(v, sm) for v, sm in
                        zip(s.grad_outputs, s.grad_output_summaries + [None] * len(s.grad_outputs))],
            "sent": [[_label(graph, gi.edge_to), value(gi.grad, gi.summary)]
                     for gi in s.grad_inputs if gi.edge_to],
            "unsent": sum(1 for gi in s.grad_inputs if not gi.edge_to),
            "edges": _drawn_edges(view, s),
            "grads": [[n.id, grads[n.id]] for n in tracked],
            "changed": sorted(changed),
            "ask": predict.question(s),
        })
    return {
        "title": _graph_title(graph),
        "mode": plan,
        "first": stepview.first_steps(graph, view.visible),  # drawn node -> its first step
        "line": graph.line,
        "tracked": [[n.id, n.label or n.name or n.id, bool(n.retains_grad and not n.is_leaf)]
                    for n in tracked],
        "notes": [shown(n, lang) for n in graph.notes],
        "terms": glossary.graph_terms(graph, view.visible),  # drawn node -> its glossary entries
        "steps": steps,
    }


def _drawn_edges(view: View, s: Step) -> list[list[str]]:
    """The drawn edges the step's gradients flow along (none inside a collapsed module)."""
    out: list[list[str]] = []
    for gi in s.grad_inputs:
        for a in view.visible(gi.edge_to) if gi.edge_to else ():
            for b in view.visible(s.node):
                if a != b and [a, b] not in out:
                    out.append([a, b])
    return out


def _graph_title(graph: Graph) -> str:
    parts = [graph.title or f"backward #{graph.index + 1}"]
    if graph.iteration is not None and graph.iteration != graph.index + 1:
        parts.append(f"call {graph.iteration}")
    if graph.line:
        parts.append(f"line {graph.line}")
    parts.append(f"{len(graph.steps)} steps")
    return " · ".join(parts)


def _same_file(rec: Recording, file: str | None) -> bool:
    """Is `file` the script whose source the page shows? (Unknown counts as yes.)"""
    if not rec.script or not file:
        return True
    return os.path.basename(file) == os.path.basename(rec.script)


def _step_line(graph: Graph, s: Step, rec: Recording) -> int | None:
    if s.line:
        return s.line
    try:
        n = graph.node(s.node)
    except KeyError:
        return None
    if n.line and _same_file(rec, n.file):
        return n.line
    return None


def _fallback(graph: Graph, s: Step, lang: str) -> str:
    """A plain account of the step, used until the explain module gives a better one."""
    label = _label(graph, s.node)
    arrived = ", ".join(fmt_value(v) for v in s.grad_outputs if v is not None) or "—"
    sent = [(_label(graph, gi.edge_to), fmt_value(gi.grad, gi.summary))
            for gi in s.grad_inputs if gi.edge_to]
    if s.op == "AccumulateGrad":
        after = fmt_value(s.grad_after)
        if s.grad_before is not None:
            total = f"{label}.grad = {fmt_value(s.grad_before)} + {arrived} = {after}"
            return tr("AccumulateGrad adds the arriving {arrived} to what {label}.grad held: {total}.", lang,
                      arrived=arrived, label=label, total=total)
        return tr("AccumulateGrad stores {after} in {label}.grad: {label} is a leaf, so its gradient is "
                  "kept.", lang, after=after, label=label)
    if not sent:
        return tr("{op} receives the gradient {arrived}.", lang, op=s.op, arrived=arrived)
    sent_text = ", ".join(tr("{grad} to {target}", lang, grad=g, target=t) for t, g in sent)
    return tr("{op} receives the gradient {arrived} and sends {sent}.", lang, op=s.op, arrived=arrived,
              sent=sent_text)


# ---------------------------------------------------------------- markup

def _body(rec: Recording, lang: str, graphs: list[dict], first_svg: str, title: str) -> str:
    ui = ui_words(lang)
    t = lambda key: f'<span data-i18n="{key}">{html.escape(ui[key])}</span>'  # noqa: E731
    picker = ""
    if len(graphs) > 1:
        opts = "".join(f'<option value="{i}">{html.escape(g["title"])}</option>'
                       for i, g in enumerate(graphs))
        picker = (f'<label class="gv-pick">{t("graph")} '
                  f'<select data-gv="graph">{opts}</select></label>')
    langs = "".join(
        f'<button type="button" data-lang="{code}" aria-pressed="{str(code == lang).lower()}">'
        f'{html.escape(name)}</button>'
        for code, name in languages().items())
    error = _error_box(rec, ui)
    if not graphs:
        main = f'<main class="gv-main gv-empty"><p>{t("no_graph")}</p></main>'
    else:
        main = f"""<main class="gv-main">
<section class="gv-card gv-stage-card">
 <div class="gv-controls">
  <div class="gv-buttons">
   <button type="button" data-gv="first" data-i18n-title="first" title="{ui['first']}" aria-label="first">{_ICON['first']}</button>
   <button type="button" data-gv="prev" data-i18n-title="prev" title="{ui['prev']}" aria-label="previous">{_ICON['prev']}</button>
   <button type="button" data-gv="next" class="gv-primary" data-i18n-title="next" title="{ui['next']}" aria-label="next">{_ICON['next']}</button>
   <button type="button" data-gv="last" data-i18n-title="last" title="{ui['last']}" aria-label="last">{_ICON['last']}</button>
   <button type="button" data-gv="play" data-i18n-title="play" title="{ui['play']}" aria-label="play" aria-pressed="false">{_ICON['play']}</button>
  </div>
  <input type="range" min="0" max="0" value="0" step="1" data-gv="slider" aria-label="step">
  <div class="gv-count"><span data-i18n="step">{ui['step']}</span> <b data-gv="k">1</b> <span data-i18n="of">{ui['of']}</span> <span data-gv="n">1</span></div>
  {_predict_toggle(ui)}
 </div>
 <div class="gv-stage" data-gv="stage" data-i18n-title="camera" title="{ui['camera']}"><div class="gv-cam" data-gv="cam">{first_svg}</div>
  <div class="gv-camtools">
   <button type="button" data-gv="zoom-in" data-i18n-title="zoom_in" title="{ui['zoom_in']}" aria-label="zoom in">+</button>
   <button type="button" data-gv="zoom-out" data-i18n-title="zoom_out" title="{ui['zoom_out']}" aria-label="zoom out">−</button>
   <button type="button" data-gv="fit" data-i18n="fit" data-i18n-title="fit_hint" title="{ui['fit_hint']}">{ui['fit']}</button>
   <button type="button" data-gv="actual" data-i18n-title="actual_hint" title="{ui['actual_hint']}">1:1</button>
   <button type="button" data-gv="svg" data-i18n-title="svg" title="{ui['svg']}" aria-label="SVG">{_ICON['download']}</button>
  </div>
 </div>
 {_legend(t)}
 <p class="gv-overview-note" data-gv="overview-note" hidden>{t("overview")}</p>
</section>
<div class="gv-side">
 <section class="gv-card gv-explain" aria-live="polite">
  <div class="gv-stephead"><span class="gv-badge" data-gv="badge">1</span><span class="gv-op" data-gv="op"></span><span class="gv-at" data-gv="at"></span>
   <button type="button" class="gv-link gv-gloss-btn" data-gv="glossary-toggle" aria-expanded="false" data-i18n="glossary" data-i18n-title="glossary_hint" title="{html.escape(ui['glossary_hint'])}">{html.escape(ui['glossary'])}</button></div>
  <div class="gv-predict" data-gv="predict" hidden></div>
  <p class="gv-text" data-gv="explanation"></p>
  <dl class="gv-flow" data-gv="flow"></dl>
  <ul class="gv-notes" data-gv="notes"></ul>
  <dl class="gv-glossary" data-gv="glossary" hidden></dl>
 </section>
 <ol class="gv-chips" data-gv="chips"></ol>
 <section class="gv-card gv-grads">
  <h2>{t("grads")}</h2>
  <table><tbody data-gv="grads"></tbody></table>
  <p class="gv-hint">{t("grads_hint")}</p>
 </section>
 <section class="gv-card gv-source">
  <h2>{t("source")}{_file_tag(rec)}</h2>
  {_source(rec, ui)}
 </section>
</div>
</main>"""
    return f"""<div class="gv" data-gv="root">
<header class="gv-head">
 <div class="gv-brand"><span class="gv-logo">∂</span><span class="gv-name">gradviz</span>
  <span class="gv-sub" data-i18n="title">{html.escape(ui['title'])}</span></div>
 {f'<div class="gv-file">{html.escape(title)}</div>' if title else ""}
 <div class="gv-tools">{picker}<div class="gv-lang" role="group" aria-label="language">{langs}</div></div>
</header>
{error}
{forward.section(ui, bool(graphs), _ICON) if rec.tangents else ""}
{main}
<footer class="gv-foot gv-keys">{t("keys")}</footer>
</div>"""


def _predict_toggle(ui: dict) -> str:
    return (f'<button type="button" class="gv-toggle" data-gv="predict-toggle" aria-pressed="false" '
            f'data-i18n-title="predict_title" title="{html.escape(ui["predict_title"])}">'
            f'<span data-i18n="predict">{html.escape(ui["predict"])}</span></button>')


def _icon(path: str) -> str:
    return (f'<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" fill="currentColor">'
            f'<path d="{path}"/></svg>')


_ICON = {
    "first": _icon("M6 5h2v14H6zM20 5v14L9 12z"),
    "prev": _icon("M15.4 5.4 14 4l-8 8 8 8 1.4-1.4L8.8 12z"),
    "next": _icon("M8.6 5.4 10 4l8 8-8 8-1.4-1.4 6.6-6.6z"),
    "last": _icon("M16 5h2v14h-2zM4 5v14l11-7z"),
    "play": _icon("M8 5v14l11-7z"),
    "pause": _icon("M7 5h4v14H7zM13 5h4v14h-4z"),
    "download": _icon("M11 4h2v9l3.5-3.5 1.4 1.4L12 16.8 6.1 10.9l1.4-1.4L11 13zM5 18h14v2H5z"),
}


def _legend(t: Any) -> str:
    """What the colours mean, in HTML so that it follows the language toggle."""
    items = [f'<li><i style="background:{style.FILL[r]}"></i>{t("role_" + r)}</li>'
             for r in stepview.LEGEND_ROLES]
    items.append(f'<li><i class="gv-k-now"></i>{t("now")}</li>')
    items.append(f'<li><i class="gv-k-flow"></i>{t("flow_edge")}</li>')
    items.append(f'<li><i style="background:{style.FUTURE_FILL}" class="gv-k-todo"></i>{t("todo")}</li>')
    return f'<ul class="gv-legend">{"".join(items)}</ul>'


def _file_tag(rec: Recording) -> str:
    if rec.script:
        return f' <span class="gv-filetag">{html.escape(os.path.basename(rec.script))}</span>'
    return ""


def _error_box(rec: Recording, ui: dict) -> str:
    e = rec.error
    if e is None:
        return ""
    where = f" (line {e.line})" if e.line else ""
    parts = [f'<div class="gv-error" role="alert"><b><span data-i18n="error">{html.escape(ui["error"])}</span>'
             f"{html.escape(where)}:</b> <code>{html.escape(e.type)}: {html.escape(e.message)}</code>"]
    if e.explanation or e.explanation_ko:
        parts.append(f'<p data-en="{html.escape(e.explanation)}" data-ko="{html.escape(e.explanation_ko or e.explanation)}">'
                     f"{html.escape(e.explanation)}</p>")
    if e.hint or e.hint_ko:
        parts.append(f'<p data-en="{html.escape(e.hint)}" data-ko="{html.escape(e.hint_ko or e.hint)}">'
                     f"{html.escape(e.hint)}</p>")
    parts.append("</div>")
    return "".join(parts)


def _source(rec: Recording, ui: dict) -> str:
    """The lesson's lines with numbers; without rec.source, the lines the graph came from."""
    lines: list[tuple[int, str]] = []
    if rec.source:
        lines = list(enumerate(rec.source.splitlines(), start=1))
    else:
        seen: dict[int, str] = {}
        files = Counter(n.file for g in rec.graphs for n in g.nodes if n.line and n.source)
        main = files.most_common(1)[0][0] if files else None
        for g in rec.graphs:
            for n in g.nodes:
                if n.line and n.source and n.file == main:
                    seen.setdefault(n.line, n.source)
        lines = sorted(seen.items())
    if not lines:
        return f'<p class="gv-hint" data-i18n="no_source">{html.escape(ui["no_source"])}</p>'
    out, prev = [], None
    for no, text in lines:
        if prev is not None and no > prev + 1:
            out.append('<span class="gv-gap">⋮</span>')
        out.append(f'<span class="gv-ln" data-line="{no}"><i>{no}</i>{html.escape(text) or " "}</span>')
        prev = no
    return f'<pre class="gv-code" data-gv="source">{"".join(out)}</pre>'


__all__ = ["recording_html", "clean_svg"]
