// GMPS statistics history: one band plot and one per-day table per device, from gmpsai-site.json.
// Every string from the data (device names, reasons, file paths) goes into the page through
// textContent, never as HTML, and never into plotly text (which understands some markup).
"use strict";

(function () {
  const DATA_JSON = "gmpsai-site.json";
  const DATA_JS = "gmpsai-site.js"; // the same data as a script, for pages opened from file://
  const DAY_MS = 86400000;
  const LEVEL_COLOUR = { ok: "#1f77b4", warn: "#e08a00", error: "#d62728", unknown: "#8c8c8c" };
  const LEVEL_TEXT = { ok: "ok", warn: "warning", error: "problem", unknown: "not recorded" };
  const LOCAL = new Intl.DateTimeFormat("en-CA", {
    timeZone: "America/Chicago", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZoneName: "short",
  });

  const state = { site: null, first: null, last: null, from: null, to: null, cards: [] };
  const $ = (id) => document.getElementById(id);

  // ---- loading -------------------------------------------------------------------------

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.onload = () => resolve();
      s.onerror = () => reject(new Error("cannot load " + src));
      document.head.appendChild(s);
    });
  }

  function loadSite() {
    // Browsers refuse fetch() of a local file, so from disk the data comes as a script.
    if (window.location.protocol === "file:") {
      return loadScript(DATA_JS).then(() => {
        if (!window.GMPSAI_SITE) throw new Error(DATA_JS + " did not define the data");
        return window.GMPSAI_SITE;
      });
    }
    return fetch(DATA_JSON, { cache: "no-cache" }).then((r) => {
      if (!r.ok) throw new Error(DATA_JSON + ": HTTP " + r.status);
      return r.json();
    });
  }

  // ---- small helpers -------------------------------------------------------------------

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function num(x) {
    if (x === null || x === undefined) return "—";
    if (Number.isInteger(x)) return x.toLocaleString("en-US");
    const a = Math.abs(x);
    if (a !== 0 && (a >= 1e7 || a < 1e-4)) return x.toExponential(5);
    return String(parseFloat(x.toPrecision(7)));
  }

  function pct(x) { return x === null || x === undefined ? "—" : (100 * x).toFixed(2) + " %"; }

  function duration(s) {
    if (s === null || s === undefined) return "—";
    if (s < 120) return s.toFixed(1) + " s";
    if (s < 7200) return (s / 60).toFixed(1) + " min";
    return (s / 3600).toFixed(2) + " h";
  }

  function localTime(epoch) {
    return epoch === null || epoch === undefined ? "—" : LOCAL.format(new Date(epoch * 1000));
  }

  // Dates as "YYYY-MM-DD" strings; arithmetic in UTC so the browser's own zone never matters.
  function dayMs(day) { return Date.parse(day + "T00:00:00Z"); }
  function isoDay(ms) { return new Date(ms).toISOString().slice(0, 10); }
  function axisTime(ms) { return new Date(ms).toISOString().slice(0, 19).replace("T", " "); }

  // ---- one device ----------------------------------------------------------------------

  // The mode +/- std band as one polygon per run of consecutive days with statistics
  // (`toself` fills each null-separated piece on its own; `tonexty` would smear across gaps).
  function bandPolygon(x, mode, std) {
    const px = [], py = [];
    let run = [];
    const flush = () => {
      if (run.length) {
        if (px.length) { px.push(null); py.push(null); }
        for (const i of run) { px.push(x[i]); py.push(mode[i] + (std[i] || 0)); }
        for (const i of run.slice().reverse()) { px.push(x[i]); py.push(mode[i] - (std[i] || 0)); }
      }
      run = [];
    };
    for (let i = 0; i < x.length; i++) {
      if (mode[i] === null) flush(); else run.push(i);
    }
    flush();
    return { x: px, y: py };
  }

  function bandTraces(dev) {
    const d = dev.days;
    const x = d.start_local;
    const idx = d.day.map((_, i) => i);
    const band = bandPolygon(x, d.mode, d.std);
    const noData = idx.filter((i) => d.level[i] === "error" && d.mode[i] === null);
    const yr = dev.y_range || [0, 1];
    const yMark = yr[0] + 0.04 * (yr[1] - yr[0]);
    const edge = (name) => ({
      x, y: d[name], type: "scatter", mode: "lines+markers", name,
      line: { color: "#7f7f7f", width: 1, dash: "dot" },
      marker: { symbol: "line-ew-open", size: 8, color: "#7f7f7f" },
      hovertemplate: "%{x|%Y-%m-%d} " + name + " %{y:.6g}<extra></extra>",
    });
    return [
      { x: band.x, y: band.y, type: "scatter", mode: "lines", fill: "toself",
        fillcolor: "rgba(31,119,180,0.22)", line: { width: 0 }, hoverinfo: "skip",
        name: "mode ± std" },
      edge("min"),
      edge("max"),
      { x, y: d.mode, type: "scatter", mode: "lines+markers", name: "mode", customdata: idx,
        line: { color: LEVEL_COLOUR.ok, width: 1.5 },
        marker: { size: 7, color: d.level.map((l) => LEVEL_COLOUR[l] || LEVEL_COLOUR.ok) },
        hovertemplate: "%{x|%Y-%m-%d} mode %{y:.6g}<extra>click for the day</extra>" },
      { x: noData.map((i) => x[i]), y: noData.map(() => yMark), customdata: noData,
        type: "scatter", mode: "markers", name: "no data",
        marker: { symbol: "x", size: 10, color: LEVEL_COLOUR.error },
        hovertemplate: "%{x|%Y-%m-%d} no statistics<extra>click for the day</extra>" },
    ];
  }

  function layoutFor(dev) {
    // Device names never go into plotly text (it reads some markup); units are ours.
    const yaxis = { zeroline: false, automargin: true };
    if (dev.units) yaxis.title = { text: dev.units };
    if (dev.y_range) yaxis.range = dev.y_range;
    return {
      height: 260, margin: { l: 70, r: 16, t: 8, b: 36 }, showlegend: false,
      xaxis: Object.assign({ type: "date", automargin: true }, xAxisUpdate(false)), yaxis,
      hovermode: "closest", plot_bgcolor: "#fff", paper_bgcolor: "#fff",
    };
  }

  // The x range of the chosen days (half a day of margin), ticked once a day when that fits.
  function xAxisUpdate(dotted) {
    const days = (dayMs(state.to) - dayMs(state.from)) / DAY_MS + 1;
    const upd = {
      range: [axisTime(dayMs(state.from) - DAY_MS / 2), axisTime(dayMs(state.to) + DAY_MS / 2)],
      tickmode: days <= 14 ? "linear" : "auto",
      tick0: state.from,
      dtick: days <= 14 ? DAY_MS : null,
      tickformat: days <= 14 ? "%b %d\n%Y" : "",
    };
    if (!dotted) return upd;
    const out = {};
    for (const [k, v] of Object.entries(upd)) out["xaxis." + k] = v;
    return out;
  }

  function buildCard(dev) {
    const card = el("article", "device");
    const h = el("h2");
    h.append(el("span", "name", dev.name));
    if (dev.kind) h.append(el("span", "kind", dev.kind));
    if (dev.units) h.append(el("span", "units", dev.units));
    card.append(h);
    if (dev.description) card.append(el("p", "description", dev.description));
    const summary = el("p", "summary");
    card.append(summary);
    const plot = el("div", "plot");
    card.append(plot);
    if (dev.y_clipped) {
      card.append(el("p", "note", "y axis follows the mode ± std band; some min/max values " +
        "lie beyond it (double-click the plot to show everything)."));
    }
    const details = el("details", "days");
    const sum = el("summary", null, "Per-day completeness and gaps");
    const sumCount = el("span", "count");
    sum.append(sumCount);
    const table = el("table");
    const head = el("tr");
    for (const t of ["Day", "Completeness", "Samples", "Gaps", "Missing time", "Status"]) {
      head.append(el("th", null, t));
    }
    const thead = el("thead");
    thead.append(head);
    table.append(thead);
    const body = el("tbody");
    table.append(body);
    details.append(sum, table);
    card.append(details);
    const c = { dev, card, plot, body, summary, sumCount, details, drawn: false };
    // The table is built when opened: a year of 47 devices is 17,000 rows nobody reads at once.
    details.addEventListener("toggle", () => { if (details.open) fillTable(c, inRange(c)); });
    body.addEventListener("click", (ev) => {
      const tr = ev.target.closest("tr");
      if (tr && tr.dataset.index) showDetail(dev, Number(tr.dataset.index), tr);
    });
    body.addEventListener("keydown", (ev) => {
      const tr = ev.target.closest("tr");
      if (tr && (ev.key === "Enter" || ev.key === " ")) {
        ev.preventDefault();
        showDetail(dev, Number(tr.dataset.index), tr);
      }
    });
    return c;
  }

  function inRange(c) {
    const d = c.dev.days;
    const out = [];
    for (let i = 0; i < d.day.length; i++) {
      if (d.day[i] >= state.from && d.day[i] <= state.to) out.push(i);
    }
    return out;
  }

  function fillTable(c, rows) {
    const d = c.dev.days;
    c.body.replaceChildren();
    for (const i of rows.slice().reverse()) { // newest first
      const tr = el("tr", "lv-" + d.level[i]);
      tr.dataset.index = String(i);
      tr.tabIndex = 0;
      tr.append(
        el("td", null, d.day[i]),
        el("td", "n", pct(d.completeness[i])),
        el("td", "n", d.rows[i] === null ? "—" : num(d.rows[i]) +
          (d.expected_rows[i] ? " / " + num(d.expected_rows[i]) : "")),
        el("td", "n", d.gap_count[i] === null ? "—" : num(d.gap_count[i])),
        el("td", "n", duration(d.gap_seconds[i])),
        el("td", "problem", d.problem[i] || LEVEL_TEXT[d.level[i]]),
      );
      c.body.append(tr);
    }
  }

  function refreshCard(c) {
    const rows = inRange(c);
    const d = c.dev.days;
    const bad = rows.filter((i) => d.level[i] === "error").length;
    const warn = rows.filter((i) => d.level[i] === "warn").length;
    c.problems = bad + warn;
    const last = rows.length ? rows[rows.length - 1] : null;
    c.summary.textContent = rows.length + " day" + (rows.length === 1 ? "" : "s") + " shown · " +
      bad + " with problems · " + warn + " with warnings" +
      (last !== null && d.mode[last] !== null ? " · latest mode " + num(d.mode[last]) +
        (c.dev.units ? " " + c.dev.units : "") + " on " + d.day[last] : "");
    c.sumCount.textContent = " (" + bad + " with problems, " + warn + " with warnings)";
    if (c.details.open) fillTable(c, rows);
    if (c.drawn) Plotly.relayout(c.plot, xAxisUpdate(true));
  }

  function draw(c) {
    Plotly.newPlot(c.plot, bandTraces(c.dev), layoutFor(c.dev), {
      displaylogo: false, responsive: true,
      modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"],
    });
    c.plot.on("plotly_click", (ev) => {
      const p = ev.points && ev.points[0];
      if (p && p.customdata !== undefined) showDetail(c.dev, Number(p.customdata), null);
    });
    c.drawn = true;
    document.body.dataset.plots = String(state.cards.filter((x) => x.drawn).length);
  }

  // ---- the day detail ------------------------------------------------------------------

  function showDetail(dev, i, row) {
    const d = dev.days;
    const file = d.file[i] === null ? null : state.site.files[d.file[i]];
    $("detail-title").textContent = dev.name + " — " + d.day[i];
    $("detail-problem").textContent = d.problem[i] || LEVEL_TEXT[d.level[i]];
    $("detail-problem").className = "lv lv-" + d.level[i];
    const items = [
      ["Window start", localTime(d.start_utc[i])],
      ["Window end", localTime(d.end_utc[i])],
      ["Source", d.source[i]],
      ["File", file ? file.name : "—"],
      ["Path", file ? file.path : "—"],
      ["Node", d.node[i] || "—"],
      ["Device status", d.status[i] + (d.reason[i] ? ": " + d.reason[i] : "")],
      ["Samples", num(d.rows[i]) + (d.expected_rows[i] ? " of " + num(d.expected_rows[i]) +
        " expected" : "")],
      ["Completeness", pct(d.completeness[i])],
      ["Gaps", num(d.gap_count[i])],
      ["Missing time", duration(d.gap_seconds[i])],
      ["Non-finite values", d.nan_count[i] === null ? "—" :
        num((d.nan_count[i] || 0) + (d.inf_count[i] || 0))],
      ["Non-increasing steps", num(d.nonincreasing[i])],
      ["min", num(d.min[i])], ["p01", num(d.p01[i])], ["mode", num(d.mode[i])],
      ["mean", num(d.mean[i])], ["median", num(d.p50[i])], ["p99", num(d.p99[i])],
      ["max", num(d.max[i])], ["std", num(d.std[i])],
      ["First sample", localTime(d.first_utc[i])], ["Last sample", localTime(d.last_utc[i])],
      ["Usual interval", d.interval_mode[i] === null ? "—" : num(d.interval_mode[i]) + " s"],
      ["Longest interval", d.interval_max[i] === null ? "—" : num(d.interval_max[i]) + " s"],
    ];
    const list = $("detail-list");
    list.replaceChildren();
    for (const [k, v] of items) list.append(el("dt", null, k), el("dd", null, v));
    $("detail").hidden = false;
    for (const r of document.querySelectorAll("tr.selected")) r.classList.remove("selected");
    if (row) row.classList.add("selected");
  }

  // ---- filters -------------------------------------------------------------------------

  function applyFilter() {
    const q = $("search").value.trim().toLowerCase();
    const problemsOnly = $("problems-only").checked;
    let shown = 0;
    for (const c of state.cards) {
      const text = (c.dev.name + " " + c.dev.description).toLowerCase();
      const show = (!q || text.includes(q)) && (!problemsOnly || c.problems > 0);
      const wasHidden = c.card.hidden;
      c.card.hidden = !show;
      if (show) shown++;
      if (show && wasHidden && c.drawn) Plotly.Plots.resize(c.plot);
    }
    $("shown").textContent = shown + " of " + state.cards.length + " devices";
  }

  // `moved` is the control the user just changed; the other one follows it if they cross.
  function setRange(from, to, moved) {
    if (!from || !to) return;
    if (from > to) {
      if (moved === "to") from = to; else to = from;
    }
    state.from = from;
    state.to = to;
    $("from").value = from;
    $("to").value = to;
    for (const c of state.cards) refreshCard(c);
    applyFilter();
  }

  function quickRange(days) {
    if (days === "all") return setRange(state.first, state.last);
    const n = Number(days);
    const from = isoDay(Math.max(dayMs(state.first), dayMs(state.last) - (n - 1) * DAY_MS));
    return setRange(from, state.last);
  }

  // ---- start ---------------------------------------------------------------------------

  function start(site) {
    state.site = site;
    const days = site.devices.flatMap((d) => d.days.day);
    const status = $("status");
    status.textContent = site.devices.length + " devices, statistics published " +
      site.generated_local + ".";
    if (!days.length) {
      status.textContent += " No statistics yet: distil some data files (file_stats) and " +
        "publish again.";
    }
    state.first = days.length ? days.reduce((a, b) => (a < b ? a : b)) : isoDay(Date.now());
    state.last = days.length ? days.reduce((a, b) => (a > b ? a : b)) : state.first;
    for (const id of ["from", "to"]) {
      $(id).min = state.first;
      $(id).max = state.last;
    }
    state.from = state.first;
    state.to = state.last;
    const section = $("devices");
    for (const dev of site.devices) {
      const c = buildCard(dev);
      state.cards.push(c);
      section.append(c.card);
    }
    setRange(state.first, state.last);
    // Plots are drawn as they come near the viewport (each takes ~0.1 s with a year of days).
    const near = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        near.unobserve(e.target);
        const c = state.cards.find((x) => x.plot === e.target);
        if (c && !c.drawn) draw(c);
      }
    }, { rootMargin: "100% 0px" });
    for (const c of state.cards) near.observe(c.plot);
    $("search").addEventListener("input", applyFilter);
    $("problems-only").addEventListener("change", applyFilter);
    $("from").addEventListener("change", () => setRange($("from").value, $("to").value, "from"));
    $("to").addEventListener("change", () => setRange($("from").value, $("to").value, "to"));
    for (const b of document.querySelectorAll(".quick button")) {
      b.addEventListener("click", () => quickRange(b.dataset.days));
    }
    // Plots follow their column's width (the detail panel narrows it), not only the window's.
    let lastWidth = section.clientWidth;
    new ResizeObserver(() => {
      if (section.clientWidth === lastWidth) return;
      lastWidth = section.clientWidth;
      for (const c of state.cards) if (c.drawn && !c.card.hidden) Plotly.Plots.resize(c.plot);
    }).observe(section);
    $("controls").addEventListener("submit", (ev) => ev.preventDefault());
    $("detail-close").addEventListener("click", () => { $("detail").hidden = true; });
    document.body.dataset.ready = "1";
  }

  loadSite().then(start).catch((err) => {
    $("status").textContent = "Cannot show the statistics: " + err.message;
    document.body.dataset.ready = "error";
    console.error(err);
  });
})();
