// The differential flame graphs. Data comes from the JSON block the Go
// renderer embeds; nothing is fetched. Frames are absolutely positioned
// elements rather than a canvas so that the browser does hit-testing, text
// clipping and accessibility, and so that a test can find a frame in the DOM.
(function () {
  "use strict";

  var ROW = 18;          // px per stack level
  var MIN_PX = 0.4;      // frames narrower than this are not drawn
  var MIN_CHARS = 3;     // a label shows at least this much of a name, or nothing
  var SLACK_PX = 1;      // kept free in a frame: layout rounds widths to fractions of a pixel
  var FULL = 0.5;        // |relative change| at which colour saturates

  function pct(x) { return (x * 100).toFixed(x >= 0.1 ? 1 : 2) + "%"; }

  function change(n) {
    if (n.b === 0 && n.c > 0) return "new (absent from the baseline)";
    if (n.c === 0 && n.b > 0) return "gone (only in the baseline)";
    if (n.b === 0) return "–";
    var r = (n.c - n.b) / n.b;
    var pp = (n.c - n.b) * 100;
    return (r >= 0 ? "+" : "") + (r * 100).toFixed(1) + "% (" + (pp >= 0 ? "+" : "") + pp.toFixed(2) + " points)";
  }

  // colour maps a frame's change to a hue (red grew, blue shrank) and a
  // depth (how much). The measure is (c-b)/max(b,c), which is bounded:
  // +100% and -50% both reach 0.5, a new frame 1, a vanished one -1. Only
  // functions whose change the comparison found credible are coloured;
  // the rest is grey, whatever sampling noise did to their widths.
  function colour(n, credible) {
    if (!credible) return { bg: n.c === 0 ? "hsl(40,6%,78%)" : "hsl(40,6%,86%)", dark: false, gone: n.c === 0 };
    if (n.c === 0) return { bg: "hsl(213,60%,70%)", dark: false, gone: true };
    var r = (n.c - n.b) / Math.max(n.b, n.c);
    if (Math.abs(r) < 0.05) return { bg: "hsl(40,10%,88%)", dark: false };
    var a = Math.min(1, Math.abs(r) / FULL);
    var light = 88 - 36 * a, sat = 50 + 35 * a;
    var hue = r > 0 ? 4 : 213;
    return { bg: "hsl(" + hue + "," + sat + "%," + light + "%)", dark: light < 64 };
  }

  // shortName drops a module path ("github.com/x/app.F" → "app.F") but
  // keeps the standard library's, which says which package it is
  // ("regexp/syntax.Parse"), as the other formats do.
  function shortName(fn) {
    var slash = fn.indexOf("/");
    if (slash < 0 || fn.slice(0, slash).indexOf(".") < 0) return fn;
    var cut = fn.length;
    var i = fn.search(/[(\[]/);
    if (i >= 0) cut = i;
    var j = fn.lastIndexOf("/", cut);
    return j >= 0 ? fn.slice(j + 1) : fn;
  }

  // bareName drops the package from a short name: "bank.(*rules).Match" →
  // "(*rules).Match", "regexp/syntax.Parse" → "Parse". The package is the
  // first thing a narrow frame gives up; its parents usually say it.
  function bareName(s) {
    var cut = s.length;
    var i = s.search(/[(\[]/);
    if (i >= 0) cut = i;
    var k = s.indexOf(".", s.lastIndexOf("/", cut) + 1);
    return k >= 0 && k < cut && k + 1 < s.length ? s.slice(k + 1) : s;
  }

  // Metrics measures label text as a frame draws it. Widths come from a
  // canvas in the frame's computed font (cheap enough for every frame on
  // every draw), scaled by one measurement of a real frame's text, so that
  // what the page's CSS and fonts do is what is measured.
  function Metrics(box) {
    var probe = document.createElement("div");
    probe.className = "fr";
    probe.style.visibility = "hidden";
    probe.style.width = "auto";
    probe.textContent = "regexp/syntax.(*parser).collapse";
    box.appendChild(probe);
    var cs = getComputedStyle(probe);
    this.pad = parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight) +
      parseFloat(cs.borderLeftWidth) + parseFloat(cs.borderRightWidth);
    var font = cs.fontSize + " " + cs.fontFamily;
    this.fonts = { normal: cs.fontStyle + " 400 " + font, bold: cs.fontStyle + " 700 " + font };
    var range = document.createRange();
    range.selectNodeContents(probe);
    var real = range.getBoundingClientRect().width;
    box.removeChild(probe); // after reading cs: a detached element has no computed style
    this.ctx = document.createElement("canvas").getContext("2d");
    this.cache = {};
    this.scale = 1;
    var measured = this.raw(probe.textContent, false);
    if (real > 0 && measured > 0) this.scale = real / measured;
    this.min = this.width("\u2026" + "mmm".slice(0, MIN_CHARS), true);
  }

  Metrics.prototype.raw = function (s, bold) {
    var key = (bold ? "b" : "n") + s;
    var w = this.cache[key];
    if (w === undefined) {
      this.ctx.font = bold ? this.fonts.bold : this.fonts.normal;
      w = this.cache[key] = this.ctx.measureText(s).width;
    }
    return w;
  };

  Metrics.prototype.width = function (s, bold) { return this.raw(s, bold) * this.scale; };

  // label is the longest form of a name that fits in px pixels of text:
  // the short name ("bank.(*rules).Match"; the standard library's whole, as
  // the other formats write it), then without its package
  // ("(*rules).Match"), then the end of that behind an ellipsis
  // ("…les).Match": a Go name's last part says the most), or "" when not
  // even MIN_CHARS characters fit. The tooltip has the full name.
  Metrics.prototype.label = function (name, px, bold) {
    var self = this;
    if (px < this.min) return "";
    var fits = function (t) { return self.width(t, bold) <= px; };
    var s = shortName(name);
    if (fits(s)) return s;
    var bare = bareName(s);
    if (bare !== s && fits(bare)) return bare;
    var lo = MIN_CHARS, hi = bare.length - 1, best = "";
    while (lo <= hi) {
      var mid = (lo + hi) >> 1, t = "\u2026" + bare.slice(bare.length - mid).replace(/^\./, "");
      if (fits(t)) { best = t; lo = mid + 1; } else { hi = mid - 1; }
    }
    return best;
  };

  // rootLabel is the root frame's label: "all (service, type)", or "all".
  Metrics.prototype.rootLabel = function (g, px) {
    var s = "all (" + g.service + ", " + g.type + ")";
    if (this.width(s, false) <= px) return s;
    return this.width("all", false) <= px ? "all" : "";
  };

  function Flame(g, tip) {
    var self = this;
    this.g = g;
    this.tip = tip;
    this.section = document.getElementById(g.id);
    this.box = this.section.querySelector(".flame");
    this.search = this.section.querySelector(".search");
    this.reset = this.section.querySelector(".reset");
    this.status = this.section.querySelector(".status");
    this.hot = {};
    g.hot.forEach(function (i) { self.hot[i] = true; });
    this.credible = {};
    (g.credible || []).forEach(function (i) { self.credible[i] = true; });
    this.evidence = g.evidence || {};
    this.metrics = new Metrics(this.box);
    this.nodes = [];
    this.depth = 0;
    this.index(g.root, null, 0, 0);
    this.zoom = g.root;
    this.query = "";

    this.box.addEventListener("mousemove", function (e) { self.hover(e); });
    this.box.addEventListener("mouseleave", function () { self.tip.hidden = true; });
    this.box.addEventListener("click", function (e) {
      var el = e.target.closest(".fr");
      if (!el) return;
      var n = self.nodes[Number(el.getAttribute("data-i"))];
      self.zoomTo(n === self.zoom ? (n.p || g.root) : n);
    });
    this.reset.addEventListener("click", function () { self.zoomTo(g.root); });
    this.search.addEventListener("input", function () { self.find(self.search.value); });
    window.addEventListener("resize", function () { self.draw(); });
    this.draw();
    this.summarize();
  }

  // index gives every node its position: x is its left edge in layout
  // units (shares), d its depth, p its parent, i its place in this.nodes.
  Flame.prototype.index = function (n, parent, x, d) {
    n.i = this.nodes.length;
    n.p = parent;
    n.x = x;
    n.d = d;
    this.nodes.push(n);
    if (d > this.depth) this.depth = d;
    var cx = x;
    var kids = n.k || [];
    for (var j = 0; j < kids.length; j++) {
      this.index(kids[j], n, cx, d + 1);
      cx += kids[j].w;
    }
  };

  Flame.prototype.name = function (n) {
    return n.n < 0 ? "all" : this.g.names[n.n];
  };

  // frameOf returns the widest frame of function fn, or null.
  Flame.prototype.frameOf = function (fn) {
    var best = null;
    for (var i = 0; i < this.nodes.length; i++) {
      var n = this.nodes[i];
      if (n.n >= 0 && this.g.names[n.n] === fn && (best === null || Math.max(n.c, n.b) > Math.max(best.c, best.b))) best = n;
    }
    return best;
  };

  // show zooms to function fn's widest frame and scrolls the graph into
  // view; it is what clicking a cause in the causes table does.
  Flame.prototype.show = function (fn) {
    var n = this.frameOf(fn);
    if (!n) return false;
    this.zoomTo(n);
    if (this.section.scrollIntoView) this.section.scrollIntoView({ block: "start" });
    return true;
  };

  Flame.prototype.zoomTo = function (n) {
    this.zoom = n;
    this.reset.disabled = n === this.g.root;
    this.draw();
  };

  Flame.prototype.draw = function () {
    var z = this.zoom, root = this.g.root;
    var width = this.box.clientWidth || 1000;
    var span = z.w > 0 ? z.w : 1;
    var anc = {};
    for (var a = z; a; a = a.p) anc[a.i] = true;
    // Descendants of z are found by ancestry, not by comparing positions:
    // the shares are rounded, and a sum of rounded widths can overshoot.
    var inZoom = function (n) {
      for (var p = n.p; p; p = p.p) {
        if (p === z) return true;
        if (p.d <= z.d) return false;
      }
      return false;
    };
    var frag = document.createDocumentFragment();
    var q = this.query, maxD = 0;
    for (var i = 0; i < this.nodes.length; i++) {
      var n = this.nodes[i], left, w;
      if (anc[n.i]) {
        left = 0; w = 1;
      } else if (n.d > z.d && inZoom(n)) {
        left = (n.x - z.x) / span; w = Math.min(n.w / span, 1 - left);
      } else {
        continue;
      }
      if (w * width < MIN_PX) continue;
      var el = document.createElement("div");
      var credible = n.n >= 0 && this.credible[n.n];
      var c = colour(n, credible);
      var name = this.name(n);
      el.className = "fr" + (c.dark ? " dark" : "") + (c.gone ? " gone" : "") + (credible || n.n < 0 ? "" : " quiet") +
        (this.hot[n.n] ? " hot" : "") + (anc[n.i] && n !== z ? " anc" : "") +
        (q && name.toLowerCase().indexOf(q) >= 0 ? " match" : "");
      el.style.left = (left * 100) + "%";
      el.style.width = (w * 100) + "%";
      el.style.top = (n.d * ROW) + "px";
      el.style.backgroundColor = c.bg;
      el.setAttribute("data-i", String(n.i));
      el.setAttribute("data-fn", name);
      var px = w * width - this.metrics.pad - SLACK_PX;
      var label = n.n < 0 ? this.metrics.rootLabel(this.g, px) : this.metrics.label(name, px, !!this.hot[n.n]);
      if (label) el.textContent = label;
      frag.appendChild(el);
      if (n.d > maxD) maxD = n.d;
    }
    this.box.textContent = "";
    this.box.style.height = ((maxD + 1) * ROW + 2) + "px";
    this.box.appendChild(frag);
  };

  Flame.prototype.hover = function (e) {
    var el = e.target.closest(".fr");
    if (!el) { this.tip.hidden = true; return; }
    var n = this.nodes[Number(el.getAttribute("data-i"))];
    var g = this.g, t = this.tip;
    t.textContent = "";
    var name = document.createElement("div");
    name.className = "name";
    name.textContent = this.name(n);
    t.appendChild(name);
    if (n.n >= 0 && g.files[n.n]) {
      var f = document.createElement("div");
      f.className = "file";
      f.textContent = g.files[n.n];
      t.appendChild(f);
    }
    var tbl = document.createElement("table");
    var rows = [
      ["current", pct(n.c) + " (self " + pct(n.cs) + ")", ""],
      ["baseline", pct(n.b) + " (self " + pct(n.bs) + ")", ""],
      ["change", change(n), n.c > n.b ? "grew" : n.c < n.b ? "shrank" : ""]
    ];
    if (n.n >= 0 && this.evidence[n.n]) rows.push(["finding", this.evidence[n.n], ""]);
    if (this.hot[n.n]) rows.push(["", "a cause in this report", "grew"]);
    else if (!this.credible[n.n]) rows.push(["", "no credible change", ""]);
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      var k = document.createElement("td"); k.textContent = r[0];
      var v = document.createElement("td"); v.textContent = r[1];
      if (r[2]) v.className = r[2];
      tr.appendChild(k); tr.appendChild(v); tbl.appendChild(tr);
    });
    t.appendChild(tbl);
    t.hidden = false;
    var x = e.clientX + 14, y = e.clientY + 14;
    var r = t.getBoundingClientRect();
    if (x + r.width > window.innerWidth - 8) x = Math.max(8, e.clientX - r.width - 14);
    if (y + r.height > window.innerHeight - 8) y = Math.max(8, e.clientY - r.height - 14);
    t.style.left = x + "px";
    t.style.top = y + "px";
  };

  // find highlights matching frames and sums the share of the outermost
  // matches only, so that recursion is not counted twice.
  Flame.prototype.find = function (query) {
    this.query = query.trim().toLowerCase();
    this.draw();
    if (!this.query) { this.summarize(); return; }
    var q = this.query, self = this, b = 0, c = 0, count = 0;
    (function walk(n) {
      if (n.n >= 0 && self.name(n).toLowerCase().indexOf(q) >= 0) {
        b += n.b; c += n.c; count++;
        return;
      }
      (n.k || []).forEach(walk);
    })(this.g.root);
    this.status.textContent = count === 0 ? "no match" :
      "matches: " + pct(c) + " of current, " + pct(b) + " of baseline";
  };

  Flame.prototype.summarize = function () {
    this.status.textContent = this.nodes.length + " frames, " + (this.depth) + " levels deep";
  };

  function main() {
    var el = document.getElementById("profdiff-data");
    var data = JSON.parse(el.textContent);
    var tip = document.getElementById("tip");
    var graphs = [];
    data.graphs.forEach(function (g) {
      try {
        graphs.push(new Flame(g, tip));
      } catch (err) {
        window.profdiffError("flame graph " + g.id + ": " + (err && err.stack || err));
      }
    });
    window.profdiff = { graphs: graphs };
    var first = document.querySelector(".graph");
    if (first) document.documentElement.setAttribute("data-graph-top", String(Math.round(first.getBoundingClientRect().top + window.scrollY)));
    var byID = {};
    graphs.forEach(function (f) { byID[f.g.id] = f; });
    Array.prototype.forEach.call(document.querySelectorAll("tr.cause[data-graph]"), function (tr) {
      var open = function () {
        var f = byID[tr.getAttribute("data-graph")];
        if (f) f.show(tr.getAttribute("data-fn"));
      };
      tr.addEventListener("click", open);
      tr.addEventListener("keydown", function (e) { if (e.key === "Enter") open(); });
    });
    document.documentElement.setAttribute("data-rendered", "ok");
    if (location.hash === "#profdiff-selftest" && graphs.length > 0) selftest(graphs[0]);
  }

  // checkLabels measures every drawn label as the browser laid it out,
  // whatever chose it: the text's width against its frame's width less
  // padding and border (a label that overflows would be cut), and for a
  // label shorter than the function's short name, whether the short name
  // would have fitted (shortened for nothing). It adds to totals.
  function checkLabels(graphs, t) {
    graphs.forEach(function (f) {
      var probe = document.createElement("div");
      probe.style.visibility = "hidden";
      f.box.appendChild(probe);
      var range = document.createRange();
      var textWidth = function (el) { range.selectNodeContents(el); return range.getBoundingClientRect().width; };
      Array.prototype.forEach.call(f.box.querySelectorAll(".fr[data-i]"), function (el) {
        t.frames++;
        var text = el.textContent;
        if (!text) return;
        t.labelled++;
        var cs = getComputedStyle(el);
        var avail = el.getBoundingClientRect().width - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) -
          parseFloat(cs.borderLeftWidth) - parseFloat(cs.borderRightWidth);
        var tw = textWidth(el);
        if (avail - tw < t.slack) t.slack = avail - tw;
        if (tw > avail + 0.01 || el.scrollWidth > el.clientWidth) {
          t.overflow++;
          if (!t.worst) t.worst = text + " " + tw.toFixed(1) + "px in " + avail.toFixed(1) + "px";
        }
        var n = f.nodes[Number(el.getAttribute("data-i"))];
        if (n.n < 0) return;
        var full = shortName(f.name(n));
        if (text === full) return;
        t.shortened++;
        probe.className = el.className;
        probe.style.width = "auto";
        probe.textContent = full;
        if (textWidth(probe) <= avail - SLACK_PX - 0.5) t.unneeded++;
      });
      f.box.removeChild(probe);
    });
  }

  // selftest drives the first graph through real DOM events — hover, search,
  // click to zoom, reset — and records the outcome on <html data-selftest>.
  // Opening the report with #profdiff-selftest is how the headless-browser
  // test exercises the interactive parts, which a static DOM dump cannot.
  function selftest(f) {
    var fail = [];
    function check(ok, what) { if (!ok) fail.push(what); }
    var labels = { frames: 0, labelled: 0, shortened: 0, overflow: 0, unneeded: 0, slack: Infinity, worst: "" };
    checkLabels(window.profdiff.graphs, labels);
    function frameOf(i) { return f.box.querySelector('.fr[data-i="' + i + '"]'); }
    var hot = null;
    for (var i = 0; i < f.nodes.length; i++) if (f.hot[f.nodes[i].n]) { hot = f.nodes[i]; break; }
    check(hot !== null, "a regressed frame exists");
    if (hot) {
      var el = frameOf(hot.i);
      check(el !== null, "the regressed frame is drawn");
      if (el) {
        var r = el.getBoundingClientRect();
        el.dispatchEvent(new MouseEvent("mousemove", { bubbles: true, clientX: r.left + 2, clientY: r.top + 2 }));
        check(!f.tip.hidden && f.tip.textContent.indexOf("current") >= 0 && f.tip.textContent.indexOf("baseline") >= 0, "hover shows both values");
        check(f.tip.textContent.indexOf(f.name(hot)) >= 0 && /finding.*\[[^\]]+\]/.test(f.tip.textContent), "hover shows the full name and the finding's interval");
        f.box.dispatchEvent(new MouseEvent("mouseleave"));
        check(f.tip.hidden, "tooltip hides on leave");
        el.dispatchEvent(new MouseEvent("click", { bubbles: true }));
        check(f.zoom === hot && !f.reset.disabled, "click zooms");
        var z = frameOf(hot.i);
        check(z !== null && Math.abs(parseFloat(z.style.width) - 100) < 0.01, "zoomed frame spans the width");
        checkLabels([f], labels);
        f.reset.click();
        check(f.zoom === f.g.root && f.reset.disabled, "reset zoom");
      }
      var q = f.name(hot).split(".").pop();
      f.search.value = q;
      f.search.dispatchEvent(new Event("input", { bubbles: true }));
      check(f.box.querySelectorAll(".fr.match").length > 0, "search highlights");
      check(f.status.textContent.indexOf("matches:") === 0, "search sums the matches");
      f.search.value = "";
      f.search.dispatchEvent(new Event("input", { bubbles: true }));
      check(f.box.querySelectorAll(".fr.match").length === 0, "clearing the search");
    }
    // Clicking the first cause in the causes table zooms its graph to it.
    var row = document.querySelector("tr.cause[data-graph]");
    check(row !== null, "a cause row links a graph");
    if (row) {
      row.dispatchEvent(new MouseEvent("click", { bubbles: true }));
      var g = null;
      window.profdiff.graphs.forEach(function (x) { if (x.g.id === row.getAttribute("data-graph")) g = x; });
      check(g !== null && g.zoom !== g.g.root && g.name(g.zoom) === row.getAttribute("data-fn"), "clicking a cause zooms to it");
      if (g) g.zoomTo(g.g.root);
    }
    check(labels.labelled > 0, "frames are labelled");
    check(labels.overflow === 0, "labels fit their frames (" + labels.overflow + " overflow, e.g. " + labels.worst + ")");
    check(labels.unneeded === 0, "labels are shortened only when the short name does not fit (" + labels.unneeded + ")");
    document.documentElement.setAttribute("data-labels", "frames=" + labels.frames + " labelled=" + labels.labelled +
      " shortened=" + labels.shortened + " overflow=" + labels.overflow + " unneeded=" + labels.unneeded +
      " min-slack=" + (labels.labelled ? labels.slack.toFixed(2) : "none") + "px");
    document.documentElement.setAttribute("data-selftest", fail.length ? "failed: " + fail.join("; ") : "ok");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", main);
  } else {
    main();
  }
})();
