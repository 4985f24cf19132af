/* gradviz glossary: a card with the words a node uses (hover, or tap, a node of the graph),
   the whole glossary from the step's card, and the step's words (AccumulateGrad, grad_fn,
   retain_grad) as links into it. Entries: graph().terms[node id], words: ui("g_<term>"). */
(function () {
  "use strict";
  var api = window.gvStepper;
  if (!api) { return; }
  var ui = api.ui, esc = api.esc, el = api.el, stage = el("stage"), panel = el("glossary"), btn = el("glossary-toggle");
  var ORDER = ["leaf", "grad_fn", "AccumulateGrad", "retain_grad", "saved", "summary"];
  var card = document.createElement("div"), shown = null, timer = null;
  card.className = "gv-gloss-card";
  card.setAttribute("data-gv", "gloss-card");
  card.setAttribute("role", "dialog");
  card.hidden = true;
  stage.appendChild(card);

  function entries(keys) {
    return keys.map(function (k) {
      return '<dt data-term="' + k + '">' + api.rich(ui("g_" + k + "_t")) + "</dt><dd>" + api.rich(ui("g_" + k)) + "</dd>";
    }).join("");
  }
  function nodeOf(target) {
    var g = target && target.closest ? target.closest("g.node") : null;
    return g && g.id && g.id.indexOf("node-") === 0 ? g : null;
  }
  function terms(id) { return (api.graph().terms || {})[id] || null; }

  /* the card for one node, next to it, inside the stage */
  function open(g, pinned, x, y) {
    if (!g.isConnected) { g = document.getElementById(g.id); if (!g) { return; } }  // a step redrew it
    var id = g.id.slice(5), keys = terms(id);
    if (!keys) { hide(); return; }
    var title = g.querySelector("title"), s = stage.getBoundingClientRect(), r = g.getBoundingClientRect();
    shown = { id: id, pinned: pinned };
    card.innerHTML = '<div class="gv-gloss-head"><b>' + esc(label(id, title)) + '</b>' +
      '<button type="button" class="gv-link" data-gv="gloss-close">' + esc(ui("close")) + "</button></div>" +
      "<dl>" + entries(keys) + "</dl>" +
      '<button type="button" class="gv-link" data-gv="gloss-all">' + esc(ui("glossary")) + " →</button>";
    card.hidden = false;
    /* below the node where there is room, else above it, else beside it: the node stays in sight */
    var w = card.offsetWidth, h = card.offsetHeight, left = r.left - s.left, top;
    if (r.bottom - s.top + 8 + h <= s.height - 8) { top = r.bottom - s.top + 8; }
    else if (r.top - s.top - 8 - h >= 8) { top = r.top - s.top - 8 - h; }
    else {
      top = (y !== undefined ? y : r.top) - s.top;
      left = r.right - s.left + 10 + w > s.width - 8 ? r.left - s.left - w - 10 : r.right - s.left + 10;
    }
    card.style.left = Math.max(8, Math.min(left, s.width - w - 8)) + "px";
    card.style.top = Math.max(8, Math.min(top, s.height - h - 8)) + "px";
    card.querySelector('[data-gv="gloss-close"]').addEventListener("click", hide);
    card.querySelector('[data-gv="gloss-all"]').addEventListener("click", function () { hide(); showAll(true); });
  }
  function label(id, title) {
    var t = (api.graph().tracked || []).filter(function (x) { return x[0] === id; })[0];
    var steps = api.graph().steps.filter(function (s) { return s.recorded === id || s.node === id; });
    return t ? t[1] : steps.length ? steps[0].op : title ? title.textContent : id;
  }
  function hide() { card.hidden = true; shown = null; }

  stage.addEventListener("pointerover", function (e) {
    if (e.pointerType === "touch") { return; }
    var g = nodeOf(e.target);
    if (!g || (shown && shown.pinned)) { return; }
    clearTimeout(timer);
    timer = setTimeout(function () { open(g, false); }, 180);
  });
  stage.addEventListener("pointerout", function (e) {
    var g = nodeOf(e.target);
    if (!g || (e.relatedTarget && g.contains(e.relatedTarget))) { return; }
    clearTimeout(timer);
    if (shown && !shown.pinned) { timer = setTimeout(hide, 250); }
  });
  card.addEventListener("pointerdown", function (e) { e.stopPropagation(); });
  card.addEventListener("pointerover", function () { clearTimeout(timer); });
  card.addEventListener("pointerleave", function () {
    if (shown && !shown.pinned) { timer = setTimeout(hide, 250); }
  });
  /* a tap (or click) on a node pins its card; the stepper has moved to the node's first step */
  var down = null;
  stage.addEventListener("pointerdown", function (e) { down = { x: e.clientX, y: e.clientY }; }, true);
  stage.addEventListener("pointerup", function (e) {
    if (card.contains(e.target) || !down || Math.abs(e.clientX - down.x) + Math.abs(e.clientY - down.y) > 5) { return; }
    if (e.target.closest && e.target.closest(".gv-camtools")) { return; }
    var g = nodeOf(document.elementFromPoint(e.clientX, e.clientY)), x = e.clientX, y = e.clientY;
    clearTimeout(timer);
    if (!g) { hide(); return; }
    setTimeout(function () { open(document.getElementById(g.id) || g, true, x, y); }, 0);
  }, true);

  /* the whole glossary, in the step's card */
  function showAll(on) {
    panel.hidden = !on;
    btn.setAttribute("aria-expanded", String(on));
    if (on) {
      panel.innerHTML = '<p class="gv-hint">' + esc(ui("glossary_hint")) + "</p>" + entries(ORDER);
      panel.scrollIntoView({ block: "nearest" });
    }
  }
  btn.addEventListener("click", function () { showAll(panel.hidden); });

  /* the step's words as links into the glossary */
  var LINKED = { AccumulateGrad: "AccumulateGrad", grad_fn: "grad_fn", "retain_grad()": "retain_grad" };
  function link(s) {
    if (!panel.hidden) { showAll(true); }
    if (shown) { var g = document.getElementById("node-" + shown.id); if (g && shown.pinned) { open(g, true); } else { hide(); } }
    var ex = el("explanation");
    if (!s || !ex.innerHTML) { return; }
    var done = {};
    ex.innerHTML = ex.innerHTML.replace(/AccumulateGrad|grad_fn|retain_grad\(\)/g, function (m) {
      if (done[m]) { return m; }
      done[m] = true;
      return '<button type="button" class="gv-term" data-term="' + LINKED[m] + '">' + m + "</button>";
    });
  }
  el("explanation").addEventListener("click", function (e) {
    var t = e.target.closest && e.target.closest(".gv-term");
    if (!t) { return; }
    showAll(true);
    var dt = panel.querySelector('dt[data-term="' + t.getAttribute("data-term") + '"]');
    if (dt) { dt.classList.add("gv-flash"); setTimeout(function () { dt.classList.remove("gv-flash"); }, 1200); }
  });
  api.onText.push(link);
  api.redraw();
})();
