// The vbharness HTML report. It renders from the JSON document in #vbh-data: the summary
// and one row per test at once, a test's details (error, excerpt, token timeline, console,
// trace) only when the test is opened. Every value is set with textContent or as an
// attribute, never parsed as HTML. No network.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("vbh-data").textContent);
  var SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }
  function sv(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    setAttrs(e, attrs);
    for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }
  function setAttrs(e, attrs) {
    for (var k in attrs || {}) {
      if (attrs[k] === undefined || attrs[k] === null || attrs[k] === false) continue;
      if (k === "text") e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
  }
  function append(e, kid) {
    if (kid === undefined || kid === null || kid === false) return;
    if (Array.isArray(kid)) { kid.forEach(function (k) { append(e, k); }); return; }
    e.appendChild(typeof kid === "string" ? document.createTextNode(kid) : kid);
  }

  // dur formats milliseconds as people read them: 350 ms, 4.2 s, 1h 01m 05s.
  function dur(ms) {
    if (ms === undefined || ms === null) return "";
    var neg = ms < 0; ms = Math.abs(ms);
    var s;
    if (ms < 1000) s = (Math.round(ms * 10) / 10) + " ms";
    else if (ms < 60000) s = (Math.round(ms / 100) / 10) + " s";
    else {
      var total = Math.round(ms / 1000), h = Math.floor(total / 3600), m = Math.floor(total % 3600 / 60), sec = total % 60;
      s = (h ? h + "h " + pad(m) + "m " : m + "m ") + pad(sec) + "s";
    }
    return (neg ? "-" : "") + s;
  }
  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function clock(ms) { return "t+" + dur(ms); }
  function statusClass(s) { return s.replace(" ", "-"); }
  function isFailed(t) { return t.status === "failed" || t.status === "errored" || t.status === "timed out"; }

  // ---- summary and filters

  var sum = data.summary;
  document.getElementById("summary").appendChild(el("div", null,
    el("h1", { text: "vbharness report" }),
    el("div", { "class": "meta" },
      "target ", el("b", { text: data.target.name }), " (" + data.target.kind + (data.target.description ? ", " + data.target.description : "") + ")",
      " · started " + data.started + " · duration " + dur(data.duration_ms) + " · seed " + data.seed +
      " · exit code " + data.exit_code + (data.interrupted ? " · interrupted" : "") + (data.fail_fast_stopped ? " · stopped by --fail-fast" : "") +
      (data.contract ? " · contract (" + data.contract.mode + "): " + data.contract.violations + " violations in " + data.contract.tests + " tests" : "")),
    el("div", { "class": "totals", id: "totals" },
      [["total", sum.total], ["passed", sum.passed], ["failed", sum.failed], ["errored", sum.errored], ["timed out", sum.timed_out], ["skipped", sum.skipped]].map(function (p) {
        return el("div", { "class": "total " + p[0].replace(" ", ""), "data-count": p[0] }, el("b", { text: String(p[1]) }), p[0]);
      }))));

  var filter = { status: "all", tag: "", q: "" };
  var filters = document.getElementById("filters");
  var nFailed = sum.failed + sum.errored + sum.timed_out;
  var buttons = [["all", "All", sum.total], ["failed", "Failed", nFailed], ["skipped", "Skipped", sum.skipped], ["passed", "Passed", sum.passed]].map(function (b) {
    var btn = el("button", { type: "button", "data-filter": b[0], "aria-pressed": String(b[0] === "all"), text: b[1] + " (" + b[2] + ")" });
    btn.addEventListener("click", function () {
      filter.status = b[0];
      buttons.forEach(function (o) { o.setAttribute("aria-pressed", String(o === btn)); });
      applyFilter();
    });
    return btn;
  });
  var tagSelect = el("select", { id: "tag-filter", "aria-label": "tag" }, el("option", { value: "", text: "any tag" }),
    data.tags.map(function (t) { return el("option", { value: t, text: t }); }));
  tagSelect.addEventListener("change", function () { filter.tag = tagSelect.value; applyFilter(); });
  var search = el("input", { type: "search", id: "search", placeholder: "name or file", "aria-label": "search" });
  search.addEventListener("input", function () { filter.q = search.value.toLowerCase(); applyFilter(); });
  var shown = el("span", { "class": "shown", id: "shown" });
  append(filters, [buttons, tagSelect, search, shown]);

  // ---- test rows; details are built on first open

  var main = document.getElementById("tests");
  var rows = data.tests.map(function (t, i) {
    var head = el("button", { type: "button", "class": "head", "aria-expanded": "false" },
      el("span", { "class": "badge " + statusClass(t.status), text: t.status }),
      el("span", { "class": "name", text: t.name }),
      el("span", { "class": "file", text: t.file }),
      (t.tags || []).map(function (g) { return el("span", { "class": "tag", text: g }); }),
      el("span", { "class": "times", text: dur(t.wall_ms) + (t.virtual_ms ? " · virtual " + dur(t.virtual_ms) : "") }));
    var body = el("div", { "class": "body", hidden: "" });
    var row = el("section", { "class": "test", id: "test-" + i, "data-index": String(i), "data-status": t.status }, head, body);
    head.addEventListener("click", function () {
      var open = head.getAttribute("aria-expanded") !== "true";
      if (open && !body.firstChild) append(body, details(t));
      head.setAttribute("aria-expanded", String(open));
      body.hidden = !open;
    });
    main.appendChild(row);
    return row;
  });

  function applyFilter() {
    var n = 0;
    data.tests.forEach(function (t, i) {
      var ok = filter.status === "all" || (filter.status === "failed" ? isFailed(t) : t.status === filter.status);
      ok = ok && (!filter.tag || (t.tags || []).indexOf(filter.tag) >= 0);
      ok = ok && (!filter.q || (t.name + " " + t.file).toLowerCase().indexOf(filter.q) >= 0);
      rows[i].hidden = !ok;
      if (ok) n++;
    });
    shown.textContent = "showing " + n + " of " + data.tests.length;
  }
  applyFilter();

  // ---- details of one test

  function details(t) {
    var out = [], wrap = el("div", { "class": "details" });
    if (t.skip_reason) out.push(el("p", { "class": "muted", text: "skipped: " + t.skip_reason }));
    if (t.message) {
      out.push(el("div", { "class": "error" },
        el("div", { "class": "message", text: t.message }),
        (t.expected || t.actual) ? el("div", { "class": "expected-actual" },
          el("span", { "class": "muted", text: "expected" }), el("code", { text: t.expected || "" }),
          el("span", { "class": "muted", text: "actual" }), el("code", { text: t.actual || "" })) : null));
    }
    if (t.violations && t.violations.length) {
      out.push(el("h3", { text: "contract violations (" + t.violations.length + ")" }), el("pre", { "class": "console" }, t.violations.map(function (v) {
        return el("div", { "class": "line warn", text: v.method + " " + v.path + (v.operation ? " (" + v.operation + ")" : "") + " " + v.side +
          (v.status ? " " + v.status : "") + " " + (v.pointer || "body") + ": expected " + v.expected + ", received " + v.received });
      })));
    }
    if (t.excerpt) out.push(el("h3", { text: "at " + t.excerpt.file + ":" + t.excerpt.line + (t.excerpt.column ? ":" + t.excerpt.column : "") }), excerpt(t.excerpt));
    if (t.stack) out.push(el("h3", { text: "stack" }), el("pre", { "class": "stack", text: t.stack }));
    var panel = el("div", { "class": "exchange", hidden: "" });
    var list = null;
    function show(i) {
      panel.textContent = "";
      append(panel, exchange(t, i));
      panel.hidden = false;
      wrap.querySelectorAll(".selected").forEach(function (s) { s.classList.remove("selected"); });
      wrap.querySelectorAll('[data-x="' + i + '"]').forEach(function (s) { s.classList.add("selected"); });
    }
    if ((t.trace && t.trace.length) || (t.tokens && t.tokens.length)) {
      out.push(el("h3", { text: "token timeline (scenario clock)" }), timeline(t, show), legend(), panel);
    }
    if (t.console && t.console.length) {
      out.push(el("h3", { text: "console" }), el("pre", { "class": "console" }, t.console.map(function (l) {
        return el("div", { "class": "line " + l.level, text: l.text });
      })));
    }
    if (t.trace && t.trace.length) {
      list = el("ol", { "class": "trace", start: "0" }, t.trace.map(function (x, i) {
        var li = el("li", { "data-x": String(i) },
          el("span", { "class": "muted", text: clock(x.at_ms) + " " }),
          el("span", { "class": "mono", text: x.method + " " + x.url + " " }),
          el("b", { "class": "status-" + String(x.status).charAt(0), text: x.status ? String(x.status) : "no answer" }));
        li.addEventListener("click", function () { show(i); });
        return li;
      }));
      out.push(el("h3", { text: "HTTP trace (" + t.trace.length + ")" }), list);
    }
    append(wrap, out);
    return wrap;
  }

  function excerpt(x) {
    var box = el("pre", { "class": "excerpt" });
    x.lines.forEach(function (l) {
      var text = l.text, c = x.column - 1;
      // The failing column is underlined on the failing line.
      var code = l.n === x.line && c >= 0 && c < text.length ?
        [text.slice(0, c), el("span", { "class": "col", text: text.charAt(c) }), text.slice(c + 1)] : text;
      box.appendChild(el("span", { "class": "src" + (l.n === x.line ? " fail" : "") }, el("span", { "class": "n", text: String(l.n) }), code));
    });
    return box;
  }

  var KIND = { entra_access: "Entra access", entra_refresh: "Entra refresh", entra_id: "Entra ID token", veeam_access: "Veeam access", veeam_refresh: "Veeam refresh" };

  function tokenLabel(t, id) {
    var tok = (t.tokens || []).filter(function (k) { return k.id === id; })[0];
    return tok ? KIND[tok.kind] + " " + tok.redacted.replace("[redacted ", "").replace("]", "") + " (" + id + ")" : id;
  }

  function exchange(t, i) {
    var x = t.trace[i];
    var parts = [el("div", { "class": "title mono", text: "#" + i + " " + x.method + " " + x.url + " → " + (x.status || "no answer") })];
    parts.push(el("div", { "class": "muted", text: clock(x.at_ms) + " on the scenario clock · took " + dur(x.duration_ms) }));
    if (x.uses) parts.push(el("div", { text: "carried: " + x.uses.map(function (id) { return tokenLabel(t, id); }).join(", ") }));
    if (x.issues) parts.push(el("div", { text: "issued: " + x.issues.map(function (id) { return tokenLabel(t, id); }).join(", ") }));
    function part(title, text) { if (text) parts.push(el("div", { "class": "part" }, el("b", { text: title }), el("pre", { text: text }))); }
    function headers(h) { return h ? Object.keys(h).sort().map(function (k) { return k + ": " + h[k]; }).join("\n") : ""; }
    part("request headers", headers(x.request_headers));
    part("request body", x.request_body);
    part("response headers", headers(x.response_headers));
    part("response body", x.response_body);
    part("error", x.error);
    return parts;
  }

  function legend() {
    return el("div", { "class": "legend" },
      el("span", null, el("i", { style: "background:var(--entra)" }), "Entra access"),
      el("span", null, el("i", { style: "background:var(--entra-light)" }), "Entra refresh"),
      el("span", null, el("i", { style: "background:var(--veeam)" }), "Veeam access"),
      el("span", null, el("i", { style: "background:var(--veeam-light)" }), "Veeam refresh"),
      el("span", { text: "● request that used it · ○ issued · ◆ refresh · ✕ refused (401, invalid_grant) · ≈ clock advance (time compressed) · click a mark for the exchange" }));
  }

  // ---- the token timeline
  //
  // The axis is the scenario clock, compressed: every exchange gets its own slot (a
  // virtual clock does not move during a request, so many share an instant), and a span
  // of time between two events takes room that grows with the log of its length. Spans
  // the clock jumped (clock.advance) are drawn as breaks labelled with the jump.

  var SLOT = 14, LABEL = 190, ROW = 22, TOP = 26, PADR = 30;

  function gapWidth(ms) { return ms <= 0 ? 0 : Math.min(140, 6 + 28 * Math.log10(1 + ms / 100)); }

  function timeline(t, show) {
    var trace = t.trace || [], tokens = t.tokens || [], steps = t.clock || [], marks = t.marks || [];
    var events = [];
    trace.forEach(function (x, i) { events.push({ at: x.at_ms, x: i, order: 1 }); });
    tokens.forEach(function (k) { if (k.expires_ms !== undefined) events.push({ at: k.expires_ms, order: 2 }); });
    steps.forEach(function (s) { events.push({ at: s.at_ms, order: 0 }); events.push({ at: s.at_ms + s.by_ms, order: 0 }); });
    events.push({ at: 0, order: 0 });
    events.push({ at: t.virtual_ms || 0, order: 3 });
    events.sort(function (a, b) { return a.at - b.at || a.order - b.order || (a.x || 0) - (b.x || 0); });

    var pos = LABEL + 10, prev = events[0].at, exX = {}, anchors = [], gaps = [];
    events.forEach(function (e) {
      if (e.at > prev) {
        var w = gapWidth(e.at - prev);
        gaps.push({ from: prev, to: e.at, x0: pos, x1: pos + w });
        pos += w;
        prev = e.at;
      }
      if (e.x !== undefined) { exX[e.x] = pos + SLOT / 2; pos += SLOT; }
      anchors.push({ at: e.at, x: pos });
    });
    var width = pos + PADR;
    // xAt maps a time to its place: the start of the first anchor at that time.
    function xAt(ms) {
      for (var i = 0; i < anchors.length; i++) if (anchors[i].at >= ms) return anchors[i].x;
      return pos;
    }
    var rowOf = {}, rowsN = 0;
    tokens.forEach(function (k) { rowOf[k.id] = rowsN++; });
    var otherRow = marks.some(function (m) { return !m.token; }) ? rowsN++ : -1;
    var height = TOP + rowsN * ROW + 26;
    var svg = sv("svg", { "class": "timeline", width: String(width), height: String(height), viewBox: "0 0 " + width + " " + height });
    function y(r) { return TOP + r * ROW; }

    for (var r = 0; r < rowsN; r++) svg.appendChild(sv("line", { "class": "row-line", x1: "0", x2: String(width), y1: String(y(r) + ROW), y2: String(y(r) + ROW) }));

    // Breaks: clock advances and every long stretch of nothing. A token that expires
    // during an advance splits it; the advance is labelled once, at its first break.
    var labelled = [];
    gaps.forEach(function (g) {
      var step = steps.filter(function (s) { return s.how === "advance" && s.at_ms <= g.from && s.at_ms + s.by_ms >= g.to; })[0];
      if (!step && g.to - g.from < 60000) return;
      var label = !step || labelled.indexOf(step) < 0;
      if (step) labelled.push(step);
      var mid = (g.x0 + g.x1) / 2;
      var grp = sv("g", { "class": "break" + (step ? " advance" : ""), "data-from-ms": String(g.from), "data-to-ms": String(g.to) });
      if (step) {
        var d = "M" + (mid - 3) + " " + (TOP - 4);
        for (var yy = TOP; yy < height - 22; yy += 8) d += " L" + (mid + 3) + " " + (yy) + " L" + (mid - 3) + " " + (yy + 4);
        grp.appendChild(sv("path", { d: d }));
      } else {
        grp.appendChild(sv("line", { x1: String(mid), x2: String(mid), y1: String(TOP - 4), y2: String(height - 22) }));
      }
      if (label) grp.appendChild(sv("text", { x: String(mid), y: String(TOP - 8), "text-anchor": "middle", text: step ? "clock +" + dur(step.by_ms) : "+" + dur(g.to - g.from) }));
      grp.appendChild(sv("title", { text: step ? "clock.advance by " + dur(step.by_ms) + " (" + clock(step.at_ms) + " → " + clock(step.at_ms + step.by_ms) + ")" :
        "nothing happened for " + dur(g.to - g.from) + " (" + clock(g.from) + " → " + clock(g.to) + ")" }));
      svg.appendChild(grp);
    });

    // Token bars, issue to expiry; open-ended when nothing says when it expires.
    tokens.forEach(function (k) {
      var x0 = exX[k.exchange] !== undefined ? exX[k.exchange] : xAt(k.issued_ms);
      var open = k.expires_ms === undefined;
      var x1 = open ? pos : xAt(k.expires_ms);
      var r = rowOf[k.id];
      svg.appendChild(sv("text", { "class": "row-label", x: "6", y: String(y(r) + 15), text: KIND[k.kind] + " " + k.redacted.replace("[redacted ", "").replace("]", "") }));
      svg.appendChild(sv("rect", {
        "class": "bar " + k.kind + (open ? " open" : ""), x: String(x0), y: String(y(r) + 5), width: String(Math.max(2, x1 - x0)), height: "12", rx: "3",
        "data-token": k.id, "data-kind": k.kind, "data-issued-ms": String(k.issued_ms), "data-expires-ms": open ? null : String(k.expires_ms)
      }, sv("title", { text: KIND[k.kind] + " token " + k.redacted + " (" + k.id + "): issued " + clock(k.issued_ms) +
        (k.iat_ms !== undefined ? " (iat " + clock(k.iat_ms) + ")" : "") +
        (open ? ", no expiry known" : ", expires " + clock(k.expires_ms) + " (from " + k.expiry_from + ")") })));
    });
    if (otherRow >= 0) svg.appendChild(sv("text", { "class": "row-label", x: "6", y: String(y(otherRow) + 15), text: "other requests" }));

    // Marks: one per exchange and token row.
    marks.forEach(function (m) {
      var x = trace[m.x], cx = exX[m.x], cy = y(m.token ? rowOf[m.token] : otherRow) + 11;
      var shape;
      if (m.kind === "refusal") shape = sv("path", { "class": "shape", d: "M" + (cx - 5) + " " + (cy - 5) + " L" + (cx + 5) + " " + (cy + 5) + " M" + (cx + 5) + " " + (cy - 5) + " L" + (cx - 5) + " " + (cy + 5), style: "stroke:var(--failed);stroke-width:3" });
      else if (m.kind === "refresh") shape = sv("path", { "class": "shape", d: "M" + cx + " " + (cy - 7) + " L" + (cx + 7) + " " + cy + " L" + cx + " " + (cy + 7) + " L" + (cx - 7) + " " + cy + " Z" });
      else shape = sv("circle", { "class": "shape", cx: String(cx), cy: String(cy), r: m.kind === "issue" ? "4" : "5" });
      var g = sv("g", { "class": "mark " + m.kind, "data-x": String(m.x), "data-token": m.token || null, "data-kind": m.kind, "data-at-ms": String(m.at_ms), tabindex: "0" },
        shape, sv("title", { text: clock(x.at_ms) + " " + x.method + " " + x.url + " → " + (x.status || "no answer") + " (" + m.kind + ")" }));
      g.addEventListener("click", function () { show(m.x); });
      g.addEventListener("keydown", function (e) { if (e.key === "Enter") show(m.x); });
      svg.appendChild(g);
    });

    // Ticks: the scenario time of each distinct moment, where there is room.
    var lastX = -1e9;
    anchors.forEach(function (a) {
      if (a.x - lastX < 60) return;
      lastX = a.x;
      svg.appendChild(sv("text", { "class": "tick", x: String(a.x), y: String(height - 8), "text-anchor": "middle", text: dur(a.at) }));
    });
    return el("div", { "class": "timeline-wrap" }, svg);
  }
})();
