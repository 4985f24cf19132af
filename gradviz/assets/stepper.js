/* gradviz stepper: no libraries, no network. Data: the JSON in #gv-data, SVGs in <template>s. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("gv-data").textContent);
  var root = document.querySelector('[data-gv="root"]');
  if (!root || !data.graphs.length) { return; }
  function el(name) { return root.querySelector('[data-gv="' + name + '"]'); }
  var stage = el("stage"), slider = el("slider"), chips = el("chips"), source = el("source");
  var state = { g: 0, k: 0, lang: data.lang, fit: true };
  var overview = null;  // {nodes: {id: element}, edges: {"src->dst": element}} for the overview SVG
  var pending = false;

  function ui(key) { return (data.ui[state.lang] || data.ui.en)[key]; }
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function rich(s) { return esc(s).replace(/`([^`\n]+)`/g, "<code>$1</code>"); }
  function graph() { return data.graphs[state.g]; }

  function frame(key) {
    var t = document.getElementById("gv-f-" + state.g + "-" + key);
    return t ? t.content.cloneNode(true) : null;
  }

  /* ---- the picture ---- */
  function loadGraph() {
    var G = graph();
    overview = null;
    el("overview-note").hidden = G.mode !== "overview";
    if (G.mode === "overview") {
      var f = frame("o");
      stage.replaceChildren(f || document.createTextNode(""));
      var nodes = {}, edges = {};
      stage.querySelectorAll("g.node").forEach(function (g) {
        if (g.id && g.id.indexOf("node-") === 0) { nodes[g.id.slice(5)] = g; }
      });
      stage.querySelectorAll("g.edge").forEach(function (g) {
        var t = g.querySelector("title");
        if (t) { edges[t.textContent.replace(/\s/g, "")] = g; }
      });
      overview = { nodes: nodes, edges: edges, first: G.first };  // first: node -> its first step
    }
    var n = Math.max(1, G.steps.length);
    slider.max = String(n - 1);
    slider.disabled = G.steps.length < 2;
    el("n").textContent = String(G.steps.length);
    buildChips();
    markBackwardLine();
  }

  function drawPicture() {
    var G = graph(), k = state.k;
    if (G.mode === "steps") {
      var f = frame(k);
      if (f) { stage.replaceChildren(f); }
      return;
    }
    if (!overview) { return; }
    var s = G.steps[k];
    Object.keys(overview.nodes).forEach(function (id) {
      var g = overview.nodes[id], at = overview.first[id];
      g.classList.toggle("gv-cur", !!s && id === s.node);
      g.classList.toggle("gv-todo", at !== undefined && at > k && !(s && id === s.node));
    });
    var flowing = {};
    G.steps.slice(0, k + 1).forEach(function (st) {
      st.edges.forEach(function (e) { flowing[e[0] + "->" + e[1]] = true; });
    });
    Object.keys(overview.edges).forEach(function (key) {
      overview.edges[key].classList.toggle("gv-flow", !!flowing[key]);
    });
  }

  /* at 1:1, keep the current node in view by scrolling the picture (never the page) */
  function follow() {
    var s = graph().steps[state.k];
    if (state.fit || !s) { return; }
    var node = document.getElementById("node-" + s.node);
    if (!node || !stage.contains(node)) { return; }
    var r = node.getBoundingClientRect(), box = stage.getBoundingClientRect(), pad = 40;
    if (r.left < box.left + pad || r.right > box.right - pad) {
      stage.scrollLeft += r.left + r.width / 2 - (box.left + box.width / 2);
    }
    if (r.top < box.top + pad || r.bottom > box.bottom - pad) {
      stage.scrollTop += r.top + r.height / 2 - (box.top + box.height / 2);
    }
  }

  /* a picture that would shrink below half size starts at 1:1 and follows the step */
  function chooseZoom() {
    var svg = stage.querySelector("svg"), avail = stage.clientWidth - 28;
    var w = svg ? parseFloat(svg.getAttribute("width")) : 0;
    setFit(!(w && avail > 0 && w > 2 * avail));
  }

  function setFit(fit) {
    state.fit = fit;
    stage.classList.toggle("gv-fit", fit);
    el("zoom").textContent = ui(fit ? "actual" : "fit");
    follow();
  }

  /* ---- text panels ---- */
  function buildChips() {
    var G = graph();
    chips.replaceChildren();
    if (G.mode !== "steps") { return; }
    G.steps.forEach(function (s, i) {
      var li = document.createElement("li"), b = document.createElement("button");
      b.type = "button";
      b.innerHTML = "<i>" + (i + 1) + "</i>" + esc(s.op) + (s.op === "AccumulateGrad" ? " " + esc(s.label) : "");
      b.title = s.op + " · " + s.label;
      b.addEventListener("click", function () { go(i); });
      li.appendChild(b);
      chips.appendChild(li);
    });
  }

  function drawText() {
    var G = graph(), k = state.k, s = G.steps[k];
    el("k").textContent = G.steps.length ? String(k + 1) : "0";
    slider.value = String(k);
    el("badge").textContent = G.steps.length ? String(k + 1) : "–";
    var ex = el("explanation"), flow = el("flow"), notes = el("notes");
    if (!s) {
      el("op").textContent = "";
      el("at").textContent = "";
      ex.textContent = ui("no_steps");
      flow.replaceChildren();
    } else {
      el("op").textContent = s.op;
      el("at").innerHTML = s.op === "AccumulateGrad" ? "→ <code>" + esc(s.label) + ".grad</code>" :
        (s.line ? esc(ui("line")) + " " + s.line : "");
      ex.innerHTML = rich(s[state.lang] || s.en);
      ex.classList.toggle("gv-generated", !!s.generated);
      var rows = [];
      if (s.arrived.length) {
        rows.push("<dt>" + esc(ui("received")) + "</dt><dd>" +
          s.arrived.map(function (v) { return '<span class="gv-g">' + esc(v) + "</span>"; }).join(", ") + "</dd>");
      }
      if (s.sent.length || s.unsent) {
        var parts = s.sent.map(function (p) {
          return '<span class="gv-g">' + esc(p[1]) + '</span> <span class="gv-to">→</span> <code>' + esc(p[0]) + "</code>";
        });
        if (s.unsent) { parts.push('<span class="gv-to">' + s.unsent + " " + esc(ui("no_grad_input")) + "</span>"); }
        rows.push("<dt>" + esc(ui("sent")) + "</dt><dd>" + parts.join("<br>") + "</dd>");
      }
      flow.innerHTML = rows.join("");
    }
    notes.innerHTML = (G.notes || []).map(function (n) { return "<li>" + esc(n) + "</li>"; }).join("");
    drawGrads(s);
    drawChips();
    markLine(s ? s.line : null);
    var btn = function (name, off) { el(name).disabled = off; };
    var last = Math.max(0, G.steps.length - 1);
    btn("first", k === 0); btn("prev", k === 0); btn("next", k >= last); btn("last", k >= last);
  }

  function drawGrads(s) {
    var G = graph(), body = el("grads"), values = {};
    (s ? s.grads : G.tracked.map(function (t) { return [t[0], null]; })).forEach(function (p) { values[p[0]] = p[1]; });
    var changed = s ? s.changed : [];
    body.innerHTML = G.tracked.map(function (t) {
      var v = values[t[0]], isNew = changed.indexOf(t[0]) >= 0;
      return '<tr class="' + (isNew ? "gv-new" : "") + '"><td>' + esc(t[1]) + ".grad" +
        (t[2] ? "<small>" + esc(ui("retained")) + "</small>" : "") + "</td><td>" +
        (v === null || v === undefined ? '<span class="gv-none">None</span>' : esc(v)) + "</td></tr>";
    }).join("") || '<tr><td colspan="2" class="gv-none">' + esc(ui("nothing")) + "</td></tr>";
  }

  function drawChips() {
    var items = chips.querySelectorAll("button");
    items.forEach(function (b, i) {
      b.classList.toggle("gv-done", i < state.k);
      b.classList.toggle("gv-now", i === state.k);
      b.setAttribute("aria-current", i === state.k ? "step" : "false");
    });
  }

  function markBackwardLine() {
    if (!source) { return; }
    source.querySelectorAll(".gv-bw").forEach(function (x) { x.classList.remove("gv-bw"); });
    var line = graph().line;
    var target = line && source.querySelector('[data-line="' + line + '"]');
    if (target) { target.classList.add("gv-bw"); target.setAttribute("data-tag", ui("backward_here")); }
  }

  function markLine(line) {
    if (!source) { return; }
    var old = source.querySelector(".gv-cur");
    if (old) { old.classList.remove("gv-cur"); }
    var target = line && source.querySelector('[data-line="' + line + '"]');
    if (!target) { return; }
    target.classList.add("gv-cur");
    var top = target.offsetTop - source.offsetTop, h = source.clientHeight;
    if (top < source.scrollTop + 8 || top + target.offsetHeight > source.scrollTop + h - 8) {
      source.scrollTop = Math.max(0, top - h / 3);
    }
  }

  function setLang(lang) {
    state.lang = lang;
    document.documentElement.lang = lang;
    root.querySelectorAll("[data-i18n]").forEach(function (x) { x.textContent = ui(x.getAttribute("data-i18n")); });
    root.querySelectorAll("[data-i18n-title]").forEach(function (x) { x.title = ui(x.getAttribute("data-i18n-title")); });
    root.querySelectorAll("[data-lang]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-lang") === lang));
    });
    root.querySelectorAll("[data-en]").forEach(function (x) { x.textContent = x.getAttribute("data-" + lang) || x.getAttribute("data-en"); });
    el("zoom").textContent = ui(state.fit ? "actual" : "fit");
    markBackwardLine();
    drawText();
  }

  /* ---- moving ---- */
  function draw() { drawPicture(); drawText(); follow(); resize(); }

  /* buttons and keys draw at once; a dragged slider draws once per frame */
  function go(k, later) {
    var n = graph().steps.length;
    state.k = Math.max(0, Math.min(n - 1, k));
    if (!later) { draw(); return; }
    if (!pending) {
      pending = true;
      requestAnimationFrame(function () { pending = false; draw(); });
    }
  }

  function setGraph(i) {
    state.g = i; state.k = 0;
    loadGraph();
    drawPicture(); drawText(); chooseZoom(); resize();
  }

  el("first").addEventListener("click", function () { go(0); });
  el("prev").addEventListener("click", function () { go(state.k - 1); });
  el("next").addEventListener("click", function () { go(state.k + 1); });
  el("last").addEventListener("click", function () { go(graph().steps.length - 1); });
  slider.addEventListener("input", function () { go(parseInt(slider.value, 10) || 0, true); });
  el("zoom").addEventListener("click", function () { setFit(!state.fit); });
  root.querySelectorAll("[data-lang]").forEach(function (b) {
    b.addEventListener("click", function () { setLang(b.getAttribute("data-lang")); });
  });
  var picker = el("graph");
  if (picker) { picker.addEventListener("change", function () { setGraph(parseInt(picker.value, 10) || 0); }); }
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var t = e.target && e.target.tagName;
    if (t === "INPUT" || t === "SELECT" || t === "TEXTAREA") { return; }
    var moves = { ArrowRight: 1, ArrowLeft: -1 };
    if (e.key in moves) { go(state.k + moves[e.key]); e.preventDefault(); }
    else if (e.key === "Home") { go(0); e.preventDefault(); }
    else if (e.key === "End") { go(graph().steps.length - 1); e.preventDefault(); }
  });

  /* ---- inside a notebook iframe: grow the frame to the page ---- */
  function resize() {
    if (!data.embed) { return; }
    try {
      var f = window.frameElement;
      if (f && f.getAttribute("data-gv-autosize")) {
        f.style.height = Math.ceil(document.documentElement.getBoundingClientRect().height) + 4 + "px";
      }
    } catch (err) { /* a host that keeps its frames apart: the fixed height stays */ }
  }
  if (data.embed && window.ResizeObserver) { new ResizeObserver(resize).observe(document.body); }
  window.addEventListener("load", resize);

  loadGraph();
  setLang(state.lang);
  drawPicture();
  chooseZoom();
  resize();
})();
