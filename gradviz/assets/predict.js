/* gradviz predict mode: before a step's gradient is shown, the learner types it.
   Checked against the number PyTorch recorded (step.ask.answer): right within a relative 1e-3
   or to 3 significant digits. The score is kept for the session, per lesson (sessionStorage). */
(function () {
  "use strict";
  var api = window.gvStepper;
  if (!api) { return; }
  var ui = api.ui, esc = api.esc, el = api.el, box = el("predict"), toggle = el("predict-toggle");
  var KEY = "gradviz-predict:" + (api.data.name || "page"), memory = null;
  var hintOpen = false;

  function load() {
    try { return JSON.parse(sessionStorage.getItem(KEY)) || { on: false, done: {} }; }
    catch (err) { return memory || { on: false, done: {} }; }  // storage blocked: this page only
  }
  function save(st) {
    memory = st;
    try { sessionStorage.setItem(KEY, JSON.stringify(st)); } catch (err) { /* kept in memory */ }
  }
  var st = load();
  function here() { return api.state.g + ":" + api.state.k; }
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? values[k] : m; });
  }

  /* "0.5", "-2", "1e-3", "1/3", "−0.25", "0,5" -> a number, else NaN */
  function parse(text) {
    var t = String(text).trim().replace(/\u2212/g, "-").replace(/\s+/g, "");
    if (/^[-+]?\d+,\d+$/.test(t)) { t = t.replace(",", "."); }
    var frac = /^([-+]?[\d.]+(?:e[-+]?\d+)?)\/([-+]?[\d.]+(?:e[-+]?\d+)?)$/i.exec(t);
    if (frac) { return parseFloat(frac[1]) / parseFloat(frac[2]); }
    return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t) ? parseFloat(t) : NaN;
  }
  function close(x, answer) {
    if (x === answer) { return true; }
    if (Math.abs(x - answer) <= 1e-3 * Math.abs(answer)) { return true; }
    return answer !== 0 && Number(x.toPrecision(3)) === Number(answer.toPrecision(3));
  }

  api.pending = function (s) { return !!(st.on && s && s.ask && !st.done[api.state.g + ":" + api.state.k]); };

  function score() {
    var asked = 0, right = 0;
    Object.keys(st.done).forEach(function (k) {
      if (st.done[k].scored) { asked++; if (st.done[k].ok) { right++; } }
    });
    return fill(ui("predict_score"), { right: right, asked: asked });
  }

  var lastKey = null;
  function draw(s) {
    if (here() !== lastKey) { hintOpen = false; lastKey = here(); }
    toggle.setAttribute("aria-pressed", String(!!st.on));
    box.hidden = !st.on;
    if (!st.on) { return; }
    var head = '<div class="gv-pq-head"><b>' + esc(ui("predict")) + '</b><span class="gv-pq-score" data-gv="score">' +
      esc(score()) + '</span><button type="button" class="gv-link" data-gv="predict-reset">' +
      esc(ui("predict_reset")) + "</button></div>";
    var done = st.done[here()], a = s && s.ask, body = "";
    if (!a) {
      body = '<p class="gv-hint">' + esc(ui("predict_none")) + "</p>";
    } else if (!done) {
      var notes = (api.state.lang === "en" ? a.notes : a["notes_" + api.state.lang] || a.notes) || [];
      body = '<form class="gv-pq-form" data-gv="predict-form" novalidate>' +
        '<label><span>' + esc(ui("predict_ask")) + '</span> <code class="gv-pq-lhs">' + esc(a.lhs) + " =</code> " +
        '<input type="text" inputmode="decimal" autocomplete="off" spellcheck="false" data-gv="predict-input" ' +
        'aria-label="' + esc(a.lhs) + '"></label>' +
        '<button type="submit" class="gv-primary">' + esc(ui("predict_check")) + "</button>" +
        '<button type="button" data-gv="predict-hint" aria-expanded="' + hintOpen + '">' + esc(ui("predict_hint")) + "</button>" +
        '<button type="button" class="gv-link" data-gv="predict-reveal">' + esc(ui("predict_reveal")) + "</button>" +
        "</form>" +
        '<p class="gv-pq-msg" data-gv="predict-msg" role="status"></p>' +
        '<div class="gv-pq-hint" data-gv="predict-hint-text"' + (hintOpen ? "" : " hidden") + "><span>" +
        esc(ui("predict_hint_head")) + "</span><code>" + esc(a.hint) + "</code>" +
        notes.map(function (n) { return "<small>" + api.rich(n) + "</small>"; }).join("") + "</div>" +
        '<p class="gv-hint">' + esc(ui("predict_tolerance")) + "</p>";
    } else {
      var key = done.ok ? "predict_right" : done.typed === null ? "predict_shown" : "predict_wrong";
      body = '<p class="gv-pq-msg ' + (done.ok ? "gv-ok" : "gv-no") + '" data-gv="predict-result" role="status">' +
        esc(fill(ui(key), { typed: done.typed, answer: a.shown })) + "</p>";
    }
    box.innerHTML = head + body;
    wire(s);
  }

  function wire(s) {
    var form = box.querySelector('[data-gv="predict-form"]');
    box.querySelector('[data-gv="predict-reset"]').addEventListener("click", function () {
      st.done = {}; save(st); api.redraw();
    });
    if (!form) { return; }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var typed = form.querySelector("input").value, x = parse(typed);
      if (!isFinite(x)) { box.querySelector('[data-gv="predict-msg"]').textContent = ui("predict_number"); return; }
      answer(s, { ok: close(x, s.ask.answer), typed: typed.trim(), scored: true });
    });
    form.querySelector('[data-gv="predict-hint"]').addEventListener("click", function () {
      hintOpen = !hintOpen;
      box.querySelector('[data-gv="predict-hint-text"]').hidden = !hintOpen;
      this.setAttribute("aria-expanded", String(hintOpen));
    });
    form.querySelector('[data-gv="predict-reveal"]').addEventListener("click", function () {
      answer(s, { ok: false, typed: null, scored: false });
    });
  }

  function answer(s, result) {
    st.done[here()] = result;
    save(st);
    hintOpen = false;
    api.redraw();
    var input = box.querySelector("input");
    if (!input) { var next = api.el("next"); if (next && !next.disabled) { next.focus({ preventScroll: true }); } }
  }

  toggle.addEventListener("click", function () {
    st.on = !st.on; save(st); api.redraw();
  });
  api.onText.push(draw);
  api.redraw();
})();
