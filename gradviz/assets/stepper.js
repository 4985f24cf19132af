/* gradviz stepper: no libraries, no network. Data: the JSON in #gv-data, SVGs in <template>s
   (packed in <script>s in the app: see unpack).
   One page for every face: a file, a notebook output, the Streamlit app's component frame. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("gv-data").textContent);
  var root = document.querySelector('[data-gv="root"]');
  if (!root || !data.graphs.length) { return; }
  function el(name) { return root.querySelector('[data-gv="' + name + '"]'); }
  var stage = el("stage"), cam = el("cam"), slider = el("slider"), chips = el("chips"), source = el("source");
  var state = { g: 0, k: 0, lang: data.lang, playing: null };
  var overview = null;  // {nodes: {id: element}, edges: {"src->dst": element}} for the overview SVG
  var pending = false;
  var narrow = window.matchMedia ? window.matchMedia("(max-width: 760px)") : { matches: false };

  function ui(key) { return (data.ui[state.lang] || data.ui.en)[key]; }
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function rich(s) { return esc(s).replace(/`([^`\n]+)`/g, "<code>$1</code>"); }
  function graph() { return data.graphs[state.g]; }
  function colour(name, fallback) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
  }
  function step() { return graph().steps[state.k]; }

  /* what predict.js, glossary.js and forward.js (loaded after this file) build on:
     pending(s) says a step's gradient is still hidden (predict mode); the on* lists run
     after the picture and the text are drawn */
  var api = window.gvStepper = {
    data: data, root: root, el: el, state: state, ui: ui, esc: esc, rich: rich, graph: graph, step: step,
    pending: function () { return false; }, onPicture: [], onText: [],
    redraw: function () { drawPicture(); drawText(); }
  };

  /* the picture for key k: on a stage taller than wide (a phone, a narrow frame) the
     top-to-bottom drawing when there is one */
  function tall() { return narrow.matches || stage.clientWidth < stage.clientHeight; }
  function frame(key) {
    var t = (tall() && document.getElementById("gv-f-" + state.g + "-t" + key)) ||
      document.getElementById("gv-f-" + state.g + "-" + key);
    state.tall = !!t && t.id.indexOf("-t") > 0;
    if (!t || t.content) { return t ? t.content.cloneNode(true) : null; }
    if (unpacked[t.id] === undefined) { wanted = t.id; return null; }  // drawn once unpacked
    var tpl = document.createElement("template");
    tpl.innerHTML = unpacked[t.id];
    return tpl.content;
  }

  /* the app's page packs the pictures (gzip + base64 in <script>s, a fifth of the size; the
     first is in the page as it is): unpacked here in the background, once */
  var unpacked = {}, wanted = null, loaded = false;
  function unpack() {
    if (!window.DecompressionStream) { return; }
    document.querySelectorAll('script[type="application/gzip"][id^="gv-f-"]').forEach(function (s) {
      var bin = atob(s.textContent), bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
      new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text()
        .then(function (svg) {
          unpacked[s.id] = svg;
          if (wanted !== s.id) { return; }
          wanted = null;
          if (graph().mode === "overview") { loadGraph(); }
          drawPicture(); follow(false);
        });
    });
  }

  /* ---- the camera: scale and offset of the picture inside the stage ---- */
  var view = { s: 1, x: 0, y: 0, mode: "auto" };  // mode: auto (follow, readable), fit, free
  var pic = null;  // {w, h, read, fit}: the SVG's natural size (CSS px) and its two scales
  var MIN_NODE_PX = 14, MIN_TEXT_PX = 10.5, MAX_FIT = 1.6;

  function svgEl() { return cam.querySelector("svg"); }

  /* sizes of the picture now in the stage, and the scale that keeps it readable:
     every node at least 14 px tall and the graph's text at least 9 px */
  function measure() {
    var svg = svgEl();
    if (!svg) { pic = null; return; }
    var w = parseFloat(svg.getAttribute("width")) || 600, h = parseFloat(svg.getAttribute("height")) || 400;
    var vb = svg.viewBox && svg.viewBox.baseVal, unit = vb && vb.width ? w / vb.width : 1;
    var minH = Infinity, sizes = {};
    var nodes = svg.querySelectorAll("g.node");
    for (var i = 0; i < nodes.length && i < 400; i++) {
      var shape = nodes[i].querySelector("ellipse, polygon, path, rect");
      if (shape) { var b = shape.getBBox(); if (b.height > 4) { minH = Math.min(minH, b.height * unit); } }
    }
    var texts = svg.querySelectorAll("g.node text");
    for (var j = 0; j < texts.length && j < 400; j++) {
      var f = parseFloat(texts[j].getAttribute("font-size"));
      if (f) { sizes[f] = (sizes[f] || 0) + 1; }
    }
    var common = 0, best = -1;
    Object.keys(sizes).forEach(function (f) { if (sizes[f] > best) { best = sizes[f]; common = parseFloat(f); } });
    var read = Math.max(isFinite(minH) ? MIN_NODE_PX / minH : 0, common ? MIN_TEXT_PX / (common * unit) : 0);
    pic = { w: w, h: h, read: read };
  }

  function box() { return { w: stage.clientWidth, h: stage.clientHeight }; }

  function fitScale() {
    var b = box(), pad = 16;
    return Math.min(MAX_FIT, (b.w - pad) / pic.w, (b.h - pad) / pic.h);
  }

  function apply(smooth) {
    cam.classList.toggle("gv-smooth", !!smooth);
    cam.style.transform = "translate(" + view.x.toFixed(1) + "px," + view.y.toFixed(1) + "px) scale(" +
      view.s.toFixed(4) + ")";
    var z = el("actual");
    if (z) { z.setAttribute("aria-pressed", String(Math.abs(view.s - 1) < 0.01)); }
    el("fit").setAttribute("aria-pressed", String(view.mode === "fit"));
  }

  /* keep the picture on the stage: centred where it is smaller, no empty band where larger */
  function clamp() {
    var b = box(), w = pic.w * view.s, h = pic.h * view.s, pad = 12;
    view.x = w <= b.w ? (b.w - w) / 2 : Math.min(pad, Math.max(b.w - w - pad, view.x));
    view.y = h <= b.h ? (b.h - h) / 2 : Math.min(pad, Math.max(b.h - h - pad, view.y));
  }

  /* the current node and the edges it sends along, in the picture's own pixels */
  function focus() {
    var s = step(), svg = svgEl();
    if (!s || !svg || !pic) { return null; }
    var node = svg.querySelector('[data-gv-current]');
    if (!node) { return null; }
    var c = cam.getBoundingClientRect(), k = c.width / pic.w || 1;
    function rect(e) {
      var r = e.getBoundingClientRect();
      return { l: (r.left - c.left) / k, t: (r.top - c.top) / k, r: (r.right - c.left) / k, b: (r.bottom - c.top) / k };
    }
    var cur = rect(node), all = { l: cur.l, t: cur.t, r: cur.r, b: cur.b };
    s.edges.forEach(function (e) {
      var g = edgeOf(svg, e[0], e[1]);
      if (!g) { return; }
      var r = rect(g);
      all.l = Math.min(all.l, r.l); all.t = Math.min(all.t, r.t);
      all.r = Math.max(all.r, r.r); all.b = Math.max(all.b, r.b);
    });
    return { cur: cur, all: all };
  }

  /* after a step: the scale the mode asks for, then the step's node and edges in the middle */
  function follow(smooth) {
    if (!pic) { return; }
    if (view.mode === "fit") {
      view.s = fitScale();
    } else if (view.mode === "auto") {
      var fit = fitScale();
      view.s = fit >= pic.read ? fit : Math.min(1.25, pic.read);
    }
    var f = focus();
    if (f && view.mode !== "fit") {
      var b = box(), target = f.all;
      if ((target.r - target.l) * view.s > b.w - 40 || (target.b - target.t) * view.s > b.h - 40) {
        target = f.cur;  // the edges do not fit: the node itself in the middle
      }
      view.x = b.w / 2 - (target.l + target.r) / 2 * view.s;
      view.y = b.h / 2 - (target.t + target.b) / 2 * view.s;
    }
    clamp();
    apply(smooth);
  }

  function zoomAt(px, py, factor) {
    if (!pic) { return; }
    var s2 = Math.max(0.05, Math.min(4, view.s * factor));
    view.x = px - (px - view.x) * (s2 / view.s);
    view.y = py - (py - view.y) * (s2 / view.s);
    view.s = s2;
    view.mode = "free";
    clamp();
    apply(false);
  }

  function setMode(mode) {
    view.mode = mode;
    if (mode === "free") { view.s = 1; }
    follow(true);
  }

  /* wheel and pinch zoom, drag pans; a click on a node (no drag) jumps to its first step */
  (function pointers() {
    var down = {}, last = null, moved = 0;
    stage.addEventListener("wheel", function (e) {
      e.preventDefault();
      var r = stage.getBoundingClientRect();
      zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * (e.deltaMode ? 0.05 : 0.0015)));
    }, { passive: false });
    stage.addEventListener("pointerdown", function (e) {
      if (e.target.closest && e.target.closest("button")) { return; }
      down[e.pointerId] = { x: e.clientX, y: e.clientY };
      moved = 0;
      last = null;
      try { stage.setPointerCapture(e.pointerId); } catch (err) { /* synthetic events */ }
    });
    stage.addEventListener("pointermove", function (e) {
      if (!down[e.pointerId] || !pic) { return; }
      var ids = Object.keys(down);
      var prev = down[e.pointerId];
      down[e.pointerId] = { x: e.clientX, y: e.clientY };
      if (ids.length === 1) {
        view.x += e.clientX - prev.x; view.y += e.clientY - prev.y;
        moved += Math.abs(e.clientX - prev.x) + Math.abs(e.clientY - prev.y);
        if (moved > 4) { view.mode = view.mode === "fit" ? "free" : view.mode === "auto" ? "free" : view.mode; }
        clamp(); apply(false);
      } else if (ids.length === 2) {
        var a = down[ids[0]], b = down[ids[1]], d = Math.hypot(a.x - b.x, a.y - b.y);
        var r = stage.getBoundingClientRect();
        if (last) { zoomAt((a.x + b.x) / 2 - r.left, (a.y + b.y) / 2 - r.top, d / last); }
        last = d; moved = 99;
      }
    });
    function up(e) {
      var wasClick = Object.keys(down).length === 1 && moved < 5;
      delete down[e.pointerId];
      last = null;
      if (wasClick && e.type === "pointerup") { jumpTo(e); }
    }
    stage.addEventListener("pointerup", up);
    stage.addEventListener("pointercancel", up);
  })();

  function jumpTo(e) {
    var hit = document.elementFromPoint(e.clientX, e.clientY);
    var g = hit && hit.closest ? hit.closest("g.node") : null;
    if (!g || !g.id || g.id.indexOf("node-") !== 0) { return; }
    var first = graph().first[g.id.slice(5)];
    if (first !== undefined) { go(first); }
  }

  /* ---- the picture ---- */
  function edgeOf(svg, a, b) {
    var key = a + "->" + b;
    if (overview) { return overview.edges[key] || null; }
    var found = null;
    svg.querySelectorAll("g.edge").forEach(function (g) {
      var t = g.querySelector("title");
      if (!found && t && t.textContent.replace(/\s/g, "") === key) { found = g; }
    });
    return found;
  }

  function loadGraph() {
    var G = graph();
    overview = null;
    el("overview-note").hidden = G.mode !== "overview";
    if (G.mode === "overview") {
      var f = frame("o");  // still packed: the page's own first picture stays until it is unpacked
      if (f || loaded) { cam.replaceChildren(f || document.createTextNode("")); }
      var nodes = {}, edges = {};
      cam.querySelectorAll("g.node").forEach(function (g) {
        if (g.id && g.id.indexOf("node-") === 0) { nodes[g.id.slice(5)] = g; }
      });
      cam.querySelectorAll("g.edge").forEach(function (g) {
        var t = g.querySelector("title");
        if (t) { edges[t.textContent.replace(/\s/g, "")] = g; }
      });
      overview = { nodes: nodes, edges: edges, first: G.first };  // first: node -> its first step
      backArrow();
      measure();
    }
    var n = Math.max(1, G.steps.length);
    slider.max = String(n - 1);
    slider.disabled = G.steps.length < 2;
    el("n").textContent = String(G.steps.length);
    buildChips();
    markBackwardLine();
    loaded = true;
  }

  /* the overview's edges point forward; an edge that carries gradient gets its arrowhead
     on the input's end instead (a marker at the start of its path, see stepper.css) */
  function backArrow() {
    var svg = svgEl();
    if (!svg || svg.querySelector("#gv-back")) { return; }
    var ns = "http://www.w3.org/2000/svg", defs = document.createElementNS(ns, "defs");
    defs.innerHTML = '<marker xmlns="' + ns + '" id="gv-back" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5" ' +
      'markerHeight="5" orient="auto-start-reverse" markerUnits="strokeWidth"><path d="M0 0L10 5L0 10z" ' +
      'fill="' + colour("--gv-grad", "#e8590c") + '"/></marker>';
    svg.insertBefore(defs, svg.firstChild);
  }

  function drawPicture() {
    var G = graph(), k = state.k, s = G.steps[k];
    if (G.mode === "steps") {
      var f = frame(k);
      if (f) { cam.replaceChildren(f); }
      measure();
    } else if (overview) {
      var prev = cam.querySelector("[data-gv-current]");
      if (prev) { prev.classList.remove("gv-cur"); }
      Object.keys(overview.nodes).forEach(function (id) {
        var at = overview.first[id];
        overview.nodes[id].classList.toggle("gv-todo", at !== undefined && at > k && !(s && id === s.node));
      });
      var flowing = {};
      G.steps.slice(0, k + 1).forEach(function (st) {
        st.edges.forEach(function (e) { flowing[e[0] + "->" + e[1]] = true; });
      });
      Object.keys(overview.edges).forEach(function (key) {
        overview.edges[key].classList.toggle("gv-flow", !!flowing[key]);
      });
      if (s && overview.nodes[s.node]) { overview.nodes[s.node].classList.add("gv-cur"); }
    }
    markCurrent(s);
    veil(s);
    api.onPicture.forEach(function (f) { f(s); });
  }

  /* predict mode: the step's gradients stay off the picture until the learner has answered */
  function veil(s) {
    cam.querySelectorAll(".gv-veil").forEach(function (x) { x.classList.remove("gv-veil"); });
    var svg = svgEl();
    if (!s || !svg || !api.pending(s)) { return; }
    s.edges.forEach(function (e) { var g = edgeOf(svg, e[0], e[1]); if (g) { g.classList.add("gv-veil"); } });
    var node = s.op === "AccumulateGrad" && document.getElementById("node-" + s.node), word = ui("grad_cell") + " ";
    if (node) {
      node.querySelectorAll("text").forEach(function (t) {
        if (t.textContent.indexOf(word) === 0) { t.classList.add("gv-veil"); }
      });
    }
  }

  /* the DOM says which node is the step's: data-gv-current="<node id>" (tests and the camera read it) */
  function markCurrent(s) {
    cam.querySelectorAll("[data-gv-current]").forEach(function (x) { x.removeAttribute("data-gv-current"); });
    if (!s) { return; }
    var node = document.getElementById("node-" + s.node);
    if (node && cam.contains(node)) { node.setAttribute("data-gv-current", s.node); }
  }

  /* Play: the gradient travels from the step's node back along each edge to the input it reaches */
  function travel() {
    var s = step(), svg = svgEl();
    if (!s || !svg || !s.edges.length) { return; }
    s.edges.forEach(function (e) {
      var g = edgeOf(svg, e[0], e[1]), path = g && g.querySelector("path");
      if (!path || !path.getTotalLength) { return; }
      var len = path.getTotalLength(), dot = document.createElementNS("http://www.w3.org/2000/svg", "circle");
      dot.setAttribute("r", "5"); dot.setAttribute("class", "gv-spark");
      path.parentNode.appendChild(dot);
      var t0 = performance.now(), ms = 700;
      (function move(now) {
        var t = Math.min(1, (now - t0) / ms), p = path.getPointAtLength(len * (1 - t));
        dot.setAttribute("cx", p.x); dot.setAttribute("cy", p.y);
        if (t < 1 && dot.isConnected) { requestAnimationFrame(move); } else { dot.remove(); }
      })(t0);
    });
  }

  function play(on) {
    if (state.playing) { clearInterval(state.playing); state.playing = null; }
    var b = el("play");
    if (on && state.k >= graph().steps.length - 1) { go(0); }
    if (on) {
      travel();
      state.playing = setInterval(function () {
        if (state.k >= graph().steps.length - 1) { play(false); return; }
        go(state.k + 1);
        if (api.pending(step())) { play(false); return; }  // predict mode: Play waits for the answer
        travel();
      }, 1400);
    }
    b.innerHTML = on ? data.icons.pause : data.icons.play;
    b.setAttribute("aria-pressed", String(!!on));
    b.title = ui(on ? "pause" : "play");
  }

  /* the picture on screen as an SVG file: <lesson>-<graph>-step-<k>.svg */
  function download() {
    var svg = svgEl();
    if (!svg) { return; }
    var copy = svg.cloneNode(true);
    copy.removeAttribute("style");
    copy.removeAttribute("class");
    copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
    copy.setAttribute("xmlns:xlink", "http://www.w3.org/1999/xlink");
    var css = colour("--gv-current", "#d6336c"), grad = colour("--gv-grad", "#e8590c");
    copy.querySelectorAll(".gv-todo").forEach(function (g) { g.setAttribute("opacity", "0.32"); });
    copy.querySelectorAll(".gv-cur").forEach(function (g) {
      g.querySelectorAll("ellipse, polygon, path").forEach(function (p) {
        p.setAttribute("stroke", css); p.setAttribute("stroke-width", "3");
      });
    });
    copy.querySelectorAll(".gv-flow path").forEach(function (p) {
      p.setAttribute("stroke", grad); p.setAttribute("stroke-width", "2"); p.setAttribute("marker-start", "url(#gv-back)");
    });
    copy.querySelectorAll(".gv-flow polygon").forEach(function (p) { p.remove(); });
    copy.querySelectorAll(".gv-spark").forEach(function (x) { x.remove(); });
    var text = '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(copy);
    var a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
    a.download = (data.name || "gradviz") + "-" + (state.g + 1) + "-step-" + (state.k + 1) + ".svg";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
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
      var hide = api.pending(s);
      ex.innerHTML = hide ? "" : rich(s[state.lang] || s.en);
      ex.classList.toggle("gv-generated", !!s.generated);
      var rows = [];
      if (s.arrived.length) {
        rows.push("<dt>" + esc(ui("received")) + "</dt><dd>" +
          s.arrived.map(function (v) { return '<span class="gv-g">' + esc(v) + "</span>"; }).join(", ") + "</dd>");
      }
      if (s.sent.length || s.unsent) {
        var parts = s.sent.map(function (p) {
          return '<span class="gv-g">' + esc(hide ? "?" : p[1]) + '</span> <span class="gv-to">→</span> <code>' + esc(p[0]) + "</code>";
        });
        if (s.unsent) {
        parts.push('<span class="gv-to">' + esc(ui(s.unsent === 1 ? "no_grad_input" : "no_grad_inputs")
          .replace("{n}", s.unsent)) + "</span>");
      }
        rows.push("<dt>" + esc(ui("sent")) + "</dt><dd>" + parts.join("<br>") + "</dd>");
      }
      flow.innerHTML = rows.join("");
    }
    notes.innerHTML = (G.notes || []).map(function (n) { return "<li>" + esc(n) + "</li>"; }).join("");
    drawGrads(s);
    drawChips();
    api.onText.forEach(function (f) { f(s); });
    markLine(s ? s.line : null);
    var btn = function (name, off) { el(name).disabled = off; };
    var last = Math.max(0, G.steps.length - 1);
    btn("first", k === 0); btn("prev", k === 0); btn("next", k >= last); btn("last", k >= last);
    btn("play", G.steps.length < 2);
  }

  function drawGrads(s) {
    var G = graph(), body = el("grads"), values = {};
    (s ? s.grads : G.tracked.map(function (t) { return [t[0], null]; })).forEach(function (p) { values[p[0]] = p[1]; });
    var changed = s ? s.changed : [], hide = s && api.pending(s);
    body.innerHTML = G.tracked.map(function (t) {
      var v = values[t[0]], isNew = changed.indexOf(t[0]) >= 0;
      return '<tr class="' + (isNew ? "gv-new" : "") + '"><td>' + esc(t[1]) + ".grad" +
        (t[2] ? "<small>" + esc(ui("retained")) + "</small>" : "") + "</td><td>" +
        (hide && isNew ? '<span class="gv-g">?</span>' :
          v === null || v === undefined ? '<span class="gv-none">None</span>' : esc(v)) + "</td></tr>";
    }).join("") || '<tr><td colspan="2" class="gv-none">' + esc(ui("nothing")) + "</td></tr>";
  }

  function drawChips() {
    var items = chips.querySelectorAll("button");
    items.forEach(function (b, i) {
      b.classList.toggle("gv-done", i < state.k);
      b.classList.toggle("gv-now", i === state.k);
      b.setAttribute("aria-current", i === state.k ? "step" : "false");
    });
    var now = items[state.k];
    if (now) {  // keep the chip in its strip's view, never scrolling the page
      var top = now.offsetTop - chips.offsetTop;
      if (top < chips.scrollTop || top + now.offsetHeight > chips.scrollTop + chips.clientHeight) {
        chips.scrollTop = Math.max(0, top - chips.clientHeight / 2);
      }
    }
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
    el("play").title = ui(state.playing ? "pause" : "play");
    markBackwardLine();
    drawText();
  }

  /* ---- moving ---- */
  function draw() { drawPicture(); drawText(); follow(true); resize(); }

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
    play(false);
    state.g = i; state.k = 0; view.mode = "auto";
    loadGraph();
    drawPicture(); drawText(); follow(false); resize();
  }

  function user(f) { return function () { play(false); f(); }; }
  el("first").addEventListener("click", user(function () { go(0); }));
  el("prev").addEventListener("click", user(function () { go(state.k - 1); }));
  el("next").addEventListener("click", user(function () { go(state.k + 1); }));
  el("last").addEventListener("click", user(function () { go(graph().steps.length - 1); }));
  el("play").addEventListener("click", function () { play(!state.playing); });
  slider.addEventListener("input", user(function () { go(parseInt(slider.value, 10) || 0, true); }));
  el("fit").addEventListener("click", function () { setMode(view.mode === "fit" ? "auto" : "fit"); });
  el("actual").addEventListener("click", function () { setMode("free"); });
  el("zoom-in").addEventListener("click", function () { var b = box(); zoomAt(b.w / 2, b.h / 2, 1.25); });
  el("zoom-out").addEventListener("click", function () { var b = box(); zoomAt(b.w / 2, b.h / 2, 0.8); });
  el("svg").addEventListener("click", download);
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
    if (e.key in moves) { play(false); go(state.k + moves[e.key]); e.preventDefault(); }
    else if (e.key === "Home") { play(false); go(0); e.preventDefault(); }
    else if (e.key === "End") { play(false); go(graph().steps.length - 1); e.preventDefault(); }
    else if (e.key === " " && t !== "BUTTON") { play(!state.playing); e.preventDefault(); }
  });
  /* a stage that changes shape may want the other drawing */
  function reshape() {
    if (graph().mode === "steps" && tall() !== !!state.tall &&
        document.getElementById("gv-f-" + state.g + "-t0")) { drawPicture(); }
    follow(false);
  }
  if (window.ResizeObserver) { new ResizeObserver(reshape).observe(stage); }

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
  follow(false);
  resize();
  unpack();
})();
