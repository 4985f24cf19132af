"""Forward mode in the stepper page: Recording.tangents as steps a learner walks through.

With `torch.autograd.forward_ad`, every op computes its value and its tangent side by
side, in the order the code runs; capture kept each op's value, tangent and its inputs'
(capture/tangents.py), explain wrote each step's rule with its numbers
(explain/tangents.py). Here they become the page's data; assets/forward.js steps
through them, next to the backward steps, under its own tab.
"""
from __future__ import annotations

import html

from gradviz.numbers import fmt_value
from gradviz.recording import Recording
from gradviz.render.dot import localize
from gradviz.words import N_

WORDS = {
    "fw_tab": N_("Forward mode"),
    "bw_tab": N_("backward(), step by step"),
    "fw_title": N_("Forward mode (torch.autograd.forward_ad): each op computes its value and its tangent "
                   "t(·) together, in the order the code runs. No backward pass: a tangent comes from the "
                   "tangents of the op's inputs."),
    "fw_value": N_("value"),
    "fw_tangent": N_("tangent"),
    "fw_tensor": N_("tensor"),
    "fw_inputs": N_("inputs"),
    "fw_no_tangent": N_("no tangent (a constant)"),
}


def tangent_steps(rec: Recording, lang: str = "en") -> list[dict]:
    """One plain dict per forward-mode op, in the order it ran."""
    def value(v, summary=None) -> str:
        return localize(fmt_value(v, summary), lang)

    out = []
    for s in rec.tangents:
        ins = []
        for i, name in enumerate(s.inputs):
            v = s.input_values[i] if i < len(s.input_values) else None
            t = s.input_tangents[i] if i < len(s.input_tangents) else None
            ins.append([name, value(v), None if t is None else value(t)])
        out.append({
            "op": s.op, "output": s.output, "line": s.line, "source": s.source or "",
            "value": value(s.value, s.summary), "tangent": value(s.tangent, s.tangent_summary),
            "inputs": ins, "en": s.explanation, "ko": s.explanation_ko or s.explanation,
        })
    return out




def section(ui: dict[str, str], has_graphs: bool, icons: dict[str, str]) -> str:
    """The tabs (backward steps | forward mode) and the forward-mode stepper, for forward.js to fill."""
    def t(key: str) -> str:
        return f'<span data-i18n="{key}">{html.escape(ui[key])}</span>'

    tabs = (f'<div class="gv-modes" role="tablist" data-gv="modes">'
            f'<button type="button" role="tab" data-mode="backward" aria-selected="{str(has_graphs).lower()}"'
            f'{"" if has_graphs else " disabled"}>{t("bw_tab")}</button>'
            f'<button type="button" role="tab" data-mode="forward" aria-selected="{str(not has_graphs).lower()}">'
            f'{t("fw_tab")}</button></div>')
    return tabs + f"""<section class="gv-forward" data-gv="forward"{"" if not has_graphs else " hidden"}>
 <div class="gv-card gv-fw-card">
  <div class="gv-controls">
   <div class="gv-buttons">
    <button type="button" data-fw="first" aria-label="first">{icons["first"]}</button>
    <button type="button" data-fw="prev" aria-label="previous">{icons["prev"]}</button>
    <button type="button" data-fw="next" class="gv-primary" aria-label="next">{icons["next"]}</button>
    <button type="button" data-fw="last" aria-label="last">{icons["last"]}</button>
   </div>
   <div class="gv-count"><span data-i18n="step">{html.escape(ui['step'])}</span> <b data-fw="k">1</b> <span data-i18n="of">{html.escape(ui['of'])}</span> <span data-fw="n">1</span></div>
  </div>
  <p class="gv-hint gv-fw-intro">{t("fw_title")}</p>
  <div class="gv-stephead"><span class="gv-badge gv-fw-badge" data-fw="badge">1</span><span class="gv-op" data-fw="op"></span><span class="gv-at" data-fw="at"></span></div>
  <pre class="gv-fw-src" data-fw="src"></pre>
  <p class="gv-text" data-fw="rule"></p>
  <dl class="gv-flow" data-fw="flow"></dl>
 </div>
 <div class="gv-card gv-fw-list"><table><thead><tr><th>#</th><th>{t("line")}</th><th>op</th><th>{t("fw_tensor")}</th><th>{t("fw_value")}</th><th>{t("fw_tangent")}</th></tr></thead><tbody data-fw="rows"></tbody></table></div>
</section>"""


__all__ = ["WORDS", "tangent_steps", "section"]
