/* gradviz forward mode: Recording.tangents stepped through under its own tab, beside the
   backward steps. Each step: the op, its line, the inputs' values and tangents, the rule with
   its numbers (explain/tangents.py) and the tangent it made. Works without backward steps too. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("gv-data").textContent);
  var steps = data.forward || [];
  var sec = document.querySelector('[data-gv="forward"]'), tabs = document.querySelector('[data-gv="modes"]');
  if (!steps.length || !sec || !tabs) { return; }
  var main = document.querySelector(".gv-main"), k = 0;
  function fw(name) { return sec.querySelector('[data-fw="' + name + '"]'); }
  function lang() { return document.documentElement.lang || data.lang; }
  function ui(key) { return (data.ui[lang()] || data.ui.en)[key]; }
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function rich(s) { return esc(s).replace(/`([^`\n]+)`/g, "<code>$1</code>"); }
  function active() { return !sec.hidden; }

  function buildRows() {
    fw("rows").innerHTML = steps.map(function (s, i) {
      var pass = i > 0 && s.op === "_make_dual" ? ' class="gv-pass"' : "";  // a new pass, a new direction
      return '<tr data-i="' + i + '"' + pass + "><td>" + (i + 1) + "</td><td>" + (s.line || "") + "</td><td><code>" + esc(s.op) +
        "</code></td><td><code>" + esc(s.output) + "</code></td><td>" + esc(s.value) + '</td><td class="gv-g">' +
        esc(s.tangent) + "</td></tr>";
    }).join("");
  }

  function draw() {
    var s = steps[k];
    fw("k").textContent = String(k + 1);
    fw("n").textContent = String(steps.length);
    fw("badge").textContent = String(k + 1);
    fw("op").textContent = s.op;
    fw("at").textContent = s.line ? ui("line") + " " + s.line : "";
    fw("src").textContent = s.source || "";
    fw("src").hidden = !s.source;
    fw("rule").innerHTML = rich(s[lang()] || s.en);
    var rows = s.inputs.map(function (p) {
      return "<code>" + esc(p[0]) + "</code> = " + esc(p[1]) + ", t(" + esc(p[0]) + ") = " +
        (p[2] === null ? '<span class="gv-to">' + esc(ui("fw_no_tangent")) + "</span>" : '<span class="gv-g">' + esc(p[2]) + "</span>");
    });
    fw("flow").innerHTML = (rows.length ? "<dt>" + esc(ui("fw_inputs")) + "</dt><dd>" + rows.join("<br>") + "</dd>" : "") +
      "<dt>" + esc(ui("fw_value")) + "</dt><dd><code>" + esc(s.output) + "</code> = " + esc(s.value) + "</dd>" +
      "<dt>" + esc(ui("fw_tangent")) + '</dt><dd>t(<code>' + esc(s.output) + '</code>) = <span class="gv-g" data-fw="tangent">' +
      esc(s.tangent) + "</span></dd>";
    fw("rows").querySelectorAll("tr").forEach(function (tr, i) {
      tr.classList.toggle("gv-now", i === k);
      tr.classList.toggle("gv-done", i < k);
    });
    var now = fw("rows").querySelector("tr.gv-now"), box = sec.querySelector(".gv-fw-list");
    if (now && (now.offsetTop < box.scrollTop || now.offsetTop + now.offsetHeight > box.scrollTop + box.clientHeight)) {
      box.scrollTop = Math.max(0, now.offsetTop - box.clientHeight / 2);
    }
    fw("first").disabled = fw("prev").disabled = k === 0;
    fw("next").disabled = fw("last").disabled = k >= steps.length - 1;
  }
  function go(i) { k = Math.max(0, Math.min(steps.length - 1, i)); draw(); }

  function mode(m) {
    var forwardOn = m === "forward";
    sec.hidden = !forwardOn;
    if (main) { main.hidden = forwardOn; }
    tabs.querySelectorAll("[data-mode]").forEach(function (b) {
      b.setAttribute("aria-selected", String(b.getAttribute("data-mode") === m));
    });
    if (!forwardOn) { window.dispatchEvent(new Event("resize")); }
  }
  tabs.querySelectorAll("[data-mode]").forEach(function (b) {
    b.addEventListener("click", function () { mode(b.getAttribute("data-mode")); });
  });
  fw("first").addEventListener("click", function () { go(0); });
  fw("prev").addEventListener("click", function () { go(k - 1); });
  fw("next").addEventListener("click", function () { go(k + 1); });
  fw("last").addEventListener("click", function () { go(steps.length - 1); });
  fw("rows").addEventListener("click", function (e) {
    var tr = e.target.closest && e.target.closest("tr[data-i]");
    if (tr) { go(parseInt(tr.getAttribute("data-i"), 10)); }
  });
  /* the keys step forward mode while its tab is open (before the backward stepper sees them) */
  document.addEventListener("keydown", function (e) {
    if (!active() || e.altKey || e.ctrlKey || e.metaKey) { return; }
    var t = e.target && e.target.tagName;
    if (t === "INPUT" || t === "SELECT" || t === "TEXTAREA") { return; }
    var to = { ArrowRight: k + 1, ArrowLeft: k - 1, Home: 0, End: steps.length - 1 }[e.key];
    if (to === undefined) { return; }
    go(to);
    e.preventDefault();
    e.stopPropagation();
  }, true);
  document.querySelectorAll("[data-lang]").forEach(function (b) {
    b.addEventListener("click", function () {
      document.documentElement.lang = b.getAttribute("data-lang");
      document.querySelectorAll("[data-lang]").forEach(function (x) { x.setAttribute("aria-pressed", String(x === b)); });
      sec.querySelectorAll("[data-i18n]").forEach(function (x) { x.textContent = ui(x.getAttribute("data-i18n")); });
      tabs.querySelectorAll("[data-i18n]").forEach(function (x) { x.textContent = ui(x.getAttribute("data-i18n")); });
      draw();
    });
  });
  buildRows();
  draw();
  mode(data.graphs.length ? "backward" : "forward");
})();
