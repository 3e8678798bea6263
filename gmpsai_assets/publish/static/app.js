// GMPS statistics history: one plot (uPlot) and one per-day table per device, from
// gmpsai-site.json. The line and band of each day come ready in the data (typical, band_lo,
// band_hi: publish/rich.py decides what they mean per kind of device), and so do the verdicts
// (quality/days.py): days without data and DataLogger outages are the day's, said once here
// (the day list, a grey column and a mark on each time axis), never an error of each device.
// This file only draws, and compares "data as of" with its deadline by the browser's clock.
// Every string from the data (device names, reasons, file paths) goes into the page through
// textContent, never as HTML; uPlot draws on a canvas and is given no device name.
"use strict";

(function () {
  const DATA_JSON = "gmpsai-site.json";
  const DATA_JS = "gmpsai-site.js"; // the same data as a script, for pages opened from file://
  const DAYS_JSON = "gmpsai-days.json";
  const DAYS_JS = "gmpsai-days.js";
  const DAY_MS = 86400000;
  const LEVEL_COLOUR = { ok: "#1f77b4", warn: "#e08a00", error: "#d62728", unknown: "#8c8c8c" };
  const LEVEL_TEXT = { ok: "ok", warn: "warning", error: "error", unknown: "not recorded" };
  const OUTAGE_COLOUR = "#7b3fa0";
  const DAY_LINES_SHOWN = 100; // lines of the Days box; narrower dates show the rest
  const NO_DATA_FILL = "rgba(140,140,140,0.16)";
  const LOCAL = new Intl.DateTimeFormat("en-CA", {
    timeZone: "America/Chicago", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZoneName: "short",
  });

  const state = { site: null, first: null, last: null, from: null, to: null, cards: [],
                  detail: null, details: null, outagesByDay: new Map(), noData: new Set(),
                  outageX: [] };
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

  // Browsers refuse fetch() of a local file, so from disk the data comes as a script.
  function loadData(json, script, global) {
    if (window.location.protocol === "file:") {
      return loadScript(script).then(() => {
        if (!window[global]) throw new Error(script + " did not define the data");
        return window[global];
      });
    }
    return fetch(json, { cache: "no-cache" }).then((r) => {
      if (!r.ok) throw new Error(json + ": HTTP " + r.status);
      return r.json();
    });
  }

  // The rest of each day's figures (tables, day details, hover text), fetched once the first
  // screen is drawn and merged into each device's columns. Whatever needs them waits on this.
  function loadDetails() {
    return loadData(DAYS_JSON, DAYS_JS, "GMPSAI_DAYS").then((details) => {
      state.site.devices.forEach((dev, k) => {
        const more = details.devices[k];
        if (!more || more.name !== dev.name) throw new Error(DAYS_JSON + " does not match");
        Object.assign(dev.days, more.days);
      });
      document.body.dataset.details = "1";
    }).catch((err) => {
      $("status").textContent += " Cannot load the per-day details: " + err.message;
      throw err;
    });
  }

  function withDetails(fn) {
    state.details.then(fn, (err) => console.error(err));
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

  function withUnits(dev, text) {
    return dev.units && text !== "—" && !isStatus(dev) ? text + " " + dev.units : text;
  }

  // One DataLogger outage, as publish/rich.py outage_text says it.
  function outageText(o) {
    return "DataLogger outage " + o.start_local.slice(11) + "–" + o.end_local.slice(11) +
      " (" + durationShort(o.seconds) + "): no samples from " + o.missing + " of " +
      o.devices + " devices";
  }

  // quality/days.py duration: one decimal of s, min or h
  function durationShort(s) {
    if (s < 120) return s.toFixed(1) + " s";
    if (s < 7200) return (s / 60).toFixed(1) + " min";
    return (s / 3600).toFixed(1) + " h";
  }

  // The day's own events (no data; its outages), each once.
  function dayLines(day) {
    if (state.noData.has(day)) return [NO_DATA];
    return (state.outagesByDay.get(day) || []).map(outageText);
  }
  const NO_DATA = "no data: the day was not fetched, or not distilled yet";

  // Dates as "YYYY-MM-DD" strings; arithmetic in UTC so the browser's own zone never matters.
  function dayMs(day) { return Date.parse(day + "T00:00:00Z"); }
  function isoDay(ms) { return new Date(ms).toISOString().slice(0, 10); }

  // ---- one device ----------------------------------------------------------------------

  // x of a day row: its local start read as UTC seconds, so days are evenly spaced across DST
  // changes and the axis (formatted in UTC) shows local dates.
  function xOf(startLocal) { return Date.parse(startLocal.replace(" ", "T") + "Z") / 1000; }

  const isStatus = (dev) => dev.kind === "basic status";
  function hex(v) {
    return v === null || v === undefined ? "—" :
      "0x" + (Math.round(v) >>> 0).toString(16).toUpperCase().padStart(8, "0");
  }
  function value(dev, v) { return isStatus(dev) ? hex(v) : num(v); }

  // uPlot data: x, band high, band low, line, min, max, then one point series per level
  // (points coloured by the day's level), then the "no statistics" markers.
  const LEVELS = ["ok", "warn", "error", "unknown"];
  function plotData(c) {
    const d = c.dev.days;
    const n = d.day.length;
    const x = d.start_local.map(xOf);
    const yr = c.dev.y_range || [0, 1];
    const yMark = yr[0] + 0.04 * (yr[1] - yr[0]);
    const at = (lv) => d.typical.map((v, i) => (d.level[i] === lv ? v : null));
    const noData = [];
    for (let i = 0; i < n; i++) {
      noData.push(d.level[i] === "error" && d.typical[i] === null ? yMark : null);
    }
    return [x, d.band_hi, d.band_lo, d.typical, d.min, d.max, ...LEVELS.map(at), noData];
  }

  function plotOptions(c, width) {
    const dev = c.dev;
    const status = isStatus(dev);
    const edge = (label) => ({  // dotted, with a tick on each day so a lone day shows too
      label, stroke: "#7f7f7f", width: 1, dash: [3, 3], show: !status,
      points: { show: true, size: 3, width: 1, stroke: "#7f7f7f", fill: "#7f7f7f" },
    });
    const dots = (lv) => ({
      label: lv, stroke: LEVEL_COLOUR[lv], fill: LEVEL_COLOUR[lv], paths: () => null,
      points: { show: true, size: 6, width: 1, stroke: LEVEL_COLOUR[lv], fill: LEVEL_COLOUR[lv] },
    });
    // the units where the files or labels.py know them; never a guessed one
    const yAxis = { size: status ? 100 : 80, label: dev.units || undefined };
    if (status) yAxis.values = (u, splits) => splits.map(hex);
    // whole days only: a short range would otherwise be ticked in hours
    const xAxis = { incrs: [1, 2, 7, 14, 30, 61, 91, 182, 365, 730].map((n) => n * 86400) };
    return {
      width, height: 240, legend: { show: false },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: {
        x: { time: true, range: () => xRange() },
        y: dev.y_range ? { range: () => dev.y_range } : { auto: true },
      },
      axes: [xAxis, yAxis],
      cursor: { points: { show: false }, drag: { x: true, y: false } },
      series: [
        {},
        { label: "band high", stroke: "transparent", width: 0, points: { show: false } },
        { label: "band low", stroke: "transparent", width: 0, points: { show: false } },
        { label: dev.typical_label, stroke: LEVEL_COLOUR.ok, width: 1.5, points: { show: false },
          paths: dev.kind === "setting" || status ? uPlot.paths.stepped({ align: 1 }) : undefined },
        edge("min"),
        edge("max"),
        ...LEVELS.map(dots),
        { label: "no statistics", stroke: LEVEL_COLOUR.error, paths: () => null,
          points: { show: true, size: 9, width: 2, stroke: LEVEL_COLOUR.error,
                    fill: "#fff" } },
      ],
      bands: [{ series: [1, 2], fill: "rgba(31,119,180,0.22)" }],
      hooks: { setCursor: [(u) => readout(c, u.cursor.idx)], drawClear: [drawNoData],
               draw: [drawBandBars, drawOutages] },
    };
  }

  // The band as a bar on each day as well, under the points: a day without neighbours (the
  // first after an outage, or a range of one day) has no area to fill but still has a band.
  function drawBandBars(u) {
    const [x, hi, lo] = u.data;
    const ctx = u.ctx;
    const w = Math.max(2, 3 * devicePixelRatio);
    ctx.save();
    ctx.fillStyle = "rgba(31,119,180,0.35)";
    for (let i = 0; i < x.length; i++) {
      if (hi[i] === null || lo[i] === null) continue;
      const px = u.valToPos(x[i], "x", true);
      const top = u.valToPos(hi[i], "y", true);
      ctx.fillRect(px - w / 2, top, w, u.valToPos(lo[i], "y", true) - top);
    }
    ctx.restore();
  }

  // A day without data: a grey column over the day (its local midnight to the next, where
  // the outage marks of the days beside it also fall), under everything else.
  function drawNoData(u) {
    if (!state.noData.size) return;
    const ctx = u.ctx;
    const top = u.bbox.top;
    const height = u.bbox.height;
    ctx.save();
    ctx.fillStyle = NO_DATA_FILL;
    for (const day of state.noData) {
      const x0 = u.valToPos(dayMs(day) / 1000, "x", true);
      const x1 = u.valToPos(dayMs(day) / 1000 + 86400, "x", true);
      const left = Math.max(x0, u.bbox.left);
      const right = Math.min(x1, u.bbox.left + u.bbox.width);
      if (right > left) ctx.fillRect(left, top, right - left, height);
    }
    ctx.restore();
  }

  // A DataLogger outage: a mark on the time axis where (and as long as) it was, the same on
  // every plot; the day list and the day's detail say what it was.
  function drawOutages(u) {
    const xs = state.outageX;
    if (!xs.length) return;
    const ctx = u.ctx;
    const bottom = u.bbox.top + u.bbox.height;
    const h = Math.max(6, 7 * devicePixelRatio);
    const lo = u.bbox.left;
    const hi = u.bbox.left + u.bbox.width;
    ctx.save();
    ctx.fillStyle = OUTAGE_COLOUR;
    const [min, max] = [u.scales.x.min, u.scales.x.max];
    for (const [start, end] of xs) { // oldest first
      if (end < min) continue;
      if (start > max) break;
      const a = u.valToPos(start, "x", true);
      const b = u.valToPos(end, "x", true);
      if (b < lo || a > hi) continue;
      const mid = (a + b) / 2;
      const half = Math.max(h / 2, (b - a) / 2);
      ctx.beginPath();
      ctx.moveTo(mid - half, bottom);
      ctx.lineTo(mid + half, bottom);
      ctx.lineTo(mid, bottom - h);
      ctx.closePath();
      ctx.fill();
    }
    ctx.restore();
  }

  // The chosen days, half a day of margin each side, in the plot's x units.
  function xRange() {
    return [dayMs(state.from) / 1000 - 43200, dayMs(state.to) / 1000 + 43200];
  }

  // What the cursor points at, as text (never markup).
  function readout(c, i) {
    if (i === null || i === undefined) { c.readout.textContent = "\u00a0"; return; }
    const dev = c.dev;
    const d = dev.days;
    const parts = [d.day[i]];
    if (state.noData.has(d.day[i])) {
      c.readout.textContent = d.day[i] + " · " + NO_DATA;
      return;
    }
    if (d.typical[i] === null) parts.push("no statistics");
    else if (d.source[i] === "legacy") parts.push("old mode " + value(dev, d.typical[i]));
    else parts.push(dev.typical_label + " " + withUnits(dev, value(dev, d.typical[i])));
    if (d.band_lo[i] !== null) {
      parts.push((d.source[i] === "legacy" ? "mode ± std " : dev.band_label + " ") +
        num(d.band_lo[i]) + " … " + withUnits(dev, num(d.band_hi[i])));
    }
    if (isStatus(dev) && d.mode_share && d.mode_share[i] !== null) {
      parts.push(pct(d.mode_share[i]) + " of the day, " + num(d.distinct_values[i]) +
        " states, " + num(d.value_changes[i]) + " changes");
    } else if (d.min[i] !== null) {
      parts.push("min " + num(d.min[i]) + " · max " + withUnits(dev, num(d.max[i])));
    }
    parts.push((d.problem && d.problem[i]) || LEVEL_TEXT[d.level[i]]);
    const outs = state.outagesByDay.get(d.day[i]);
    if (outs) {
      parts.push("DataLogger outage" + (outs.length > 1 ? "s " : " ") +
        outs.map((o) => durationShort(o.seconds)).join(", "));
    }
    c.readout.textContent = parts.join(" · ");
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
    card.append(el("p", "line-legend", "line: " + dev.typical_label +
      (dev.band_label ? ", band: " + dev.band_label : "") +
      (isStatus(dev) ? " (hex)" : ", dotted: min and max")));
    const plot = el("div", "plot");
    card.append(plot);
    const readoutEl = el("p", "readout", "\u00a0");
    card.append(readoutEl);
    if (dev.y_clipped) {
      card.append(el("p", "note", "y axis follows the line and band; some min/max values " +
        "lie beyond it."));
    }
    const details = el("details", "days");
    const sum = el("summary", null, "Per-day completeness and gaps");
    const sumCount = el("span", "count");
    sum.append(sumCount);
    const table = el("table");
    const head = el("tr");
    for (const t of ["Day", "Completeness", "Samples", "Gaps of its own", "Missing time",
                     "Status"]) {
      head.append(el("th", null, t));
    }
    const thead = el("thead");
    thead.append(head);
    table.append(thead);
    const body = el("tbody");
    table.append(body);
    details.append(sum, table);
    card.append(details);
    const c = { dev, card, plot, body, summary, sumCount, details, readout: readoutEl,
                chart: null, errors: 0, warnings: 0 };
    // The table is built when opened: a year of 47 devices is 17,000 rows nobody reads at once.
    details.addEventListener("toggle", () => {
      if (details.open) withDetails(() => fillTable(c, inRange(c)));
    });
    body.addEventListener("click", (ev) => {
      const tr = ev.target.closest("tr");
      if (tr && tr.dataset.index) showDetail(c, Number(tr.dataset.index), tr);
    });
    body.addEventListener("keydown", (ev) => {
      const tr = ev.target.closest("tr");
      if (tr && (ev.key === "Enter" || ev.key === " ")) {
        ev.preventDefault();
        showDetail(c, Number(tr.dataset.index), tr);
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
        el("td", "n", gapsText(d, i)),
        el("td", "n", duration(ownOr(d.own_gap_seconds, d.gap_seconds, i))),
        el("td", "problem", d.problem[i] || LEVEL_TEXT[d.level[i]]),
      );
      c.body.append(tr);
    }
  }

  // A device's own figure where the page computed one (quality/days.py own_gaps), else the
  // store's (a day distilled before the store kept gap spans).
  function ownOr(own, all, i) { return own && own[i] !== null ? own[i] : all[i]; }

  // Its own gaps, and those that were the day's DataLogger outages apart.
  function gapsText(d, i) {
    if (d.gap_count[i] === null) return "—";
    const own = num(ownOr(d.own_gap_count, d.gap_count, i));
    const out = d.outage_gaps && d.outage_gaps[i];
    return out ? own + " (+" + num(out) + " in outage)" : own;
  }

  function refreshCard(c) {
    const rows = inRange(c);
    const d = c.dev.days;
    c.errors = rows.filter((i) => d.level[i] === "error").length;
    c.warnings = rows.filter((i) => d.level[i] === "warn").length;
    let last = null;
    for (let k = rows.length - 1; k >= 0; k--) {
      if (d.typical[rows[k]] !== null) { last = rows[k]; break; }
    }
    c.summary.textContent = rows.length + " day" + (rows.length === 1 ? "" : "s") + " shown · " +
      c.errors + " with errors · " + c.warnings + " with warnings" +
      (last !== null ? " · latest " + c.dev.typical_label + " " + value(c.dev, d.typical[last]) +
        (c.dev.units ? " " + c.dev.units : "") + " on " + d.day[last] : "");
    c.sumCount.textContent = " (" + c.errors + " with errors, " + c.warnings + " with warnings)";
    if (c.details.open) withDetails(() => fillTable(c, rows));
    if (c.chart) {
      const [min, max] = xRange();
      c.chart.setScale("x", { min, max });
    }
  }

  function draw(c) {
    const u = new uPlot(plotOptions(c, c.plot.clientWidth || 800), plotData(c), c.plot);
    c.chart = u;
    c.plot.uplot = u; // for the browser tests: what is drawn, and where
    u.over.addEventListener("click", () => {
      const i = u.cursor.idx;
      if (i !== null && i !== undefined) showDetail(c, i, null);
    });
    u.over.addEventListener("dblclick", () => refreshCard(c)); // back to the chosen days
    document.body.dataset.plots = String(state.cards.filter((x) => x.chart).length);
  }

  // ---- the day detail ------------------------------------------------------------------

  function showDetail(c, i, row) { withDetails(() => showDetailNow(c, i, row)); }

  function showDetailNow(c, i, row) {
    const dev = c.dev;
    const d = dev.days;
    const file = d.file[i] === null ? null : state.site.files[d.file[i]];
    state.detail = { c, i };
    $("detail-title").textContent = dev.name + " — " + d.day[i];
    $("detail-problem").textContent = d.problem[i] || LEVEL_TEXT[d.level[i]];
    $("detail-problem").className = "lv lv-" + d.level[i];
    const dayList = $("detail-day");
    dayList.replaceChildren(...(state.outagesByDay.get(d.day[i]) || []).map(
      (o) => el("li", null, outageText(o))));
    dayList.hidden = !dayList.children.length;
    const legacy = d.source[i] === "legacy";
    const ownSpans = (d.own_gap_spans && d.own_gap_spans[i]) || [];
    const outageGaps = d.outage_gaps ? d.outage_gaps[i] : null;
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
      ["Completeness", pct(d.completeness[i]) + (outageGaps ? " (outside the outage: " +
        pct(d.own_completeness[i]) + ")" : "")],
      ["Gaps", num(d.gap_count[i]) + (outageGaps ? " (" + num(outageGaps) +
        " in the DataLogger outage, " + num(d.own_gap_count[i]) + " its own)" : "")],
      ["Missing time", duration(d.gap_seconds[i]) + (outageGaps ? " (its own " +
        duration(d.own_gap_seconds[i]) + ")" : "")],
      ["Its own gaps", ownSpans.length ? ownSpans.map((s) => s[0].slice(11) + "–" +
        s[1].slice(11)).join(", ") + (d.own_gap_count[i] > ownSpans.length ? ", …" : "") :
        "—"],
      ["Non-finite values", d.nan_count[i] === null ? "—" :
        num((d.nan_count[i] || 0) + (d.inf_count[i] || 0))],
      ["Non-increasing steps", num(d.nonincreasing[i])],
      [legacy ? "line (old mode)" : "line (" + dev.typical_label + ")",
        withUnits(dev, value(dev, d.typical[i]))],
      ["band", d.band_lo[i] === null ? "—" : num(d.band_lo[i]) + " … " +
        withUnits(dev, num(d.band_hi[i])) +
        (legacy ? " (mode ± std)" : " (" + dev.band_label + ")")],
      ["min", withUnits(dev, value(dev, d.min[i]))], ["p01", withUnits(dev, num(d.p01[i]))],
      ["p05", withUnits(dev, num(d.p05[i]))], ["median", withUnits(dev, num(d.p50[i]))],
      ["mean", withUnits(dev, num(d.mean[i]))], ["p95", withUnits(dev, num(d.p95[i]))],
      ["p99", withUnits(dev, num(d.p99[i]))], ["max", withUnits(dev, value(dev, d.max[i]))],
      ["std", withUnits(dev, num(d.std[i]))],
      ["mode", withUnits(dev, value(dev, d.mode[i]))], ["mode's share", pct(d.mode_share[i])],
      ["Distinct values", num(d.distinct_values[i])], ["Value changes", num(d.value_changes[i])],
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

  function hideDetail() {
    $("detail").hidden = true;
    state.detail = null;
    for (const r of document.querySelectorAll("tr.selected")) r.classList.remove("selected");
  }

  // ---- filters -------------------------------------------------------------------------

  // all | error (devices with an error day in range) | warn (with an error or warning day)
  function passes(c, level) {
    if (level === "error") return c.errors > 0;
    if (level === "warn") return c.errors + c.warnings > 0;
    return true;
  }

  function applyFilter() {
    const q = $("search").value.trim().toLowerCase();
    const level = $("filter").value;
    let shown = 0;
    let withErrors = 0;
    let withWarnings = 0;
    for (const c of state.cards) {
      const text = (c.dev.name + " " + c.dev.description).toLowerCase();
      const show = (!q || text.includes(q)) && passes(c, level);
      c.card.hidden = !show;
      if (show) shown++;
      if (c.errors) withErrors++;
      if (c.errors + c.warnings) withWarnings++;
    }
    $("filter").options[1].textContent = "devices with errors (" + withErrors + ")";
    $("filter").options[2].textContent = "devices with errors or warnings (" + withWarnings + ")";
    $("shown").textContent = shown + " of " + state.cards.length + " devices";
    // The detail panel follows the filter: it closes when its device is filtered out or its
    // day leaves the chosen range.
    const det = state.detail;
    if (det && (det.c.card.hidden || det.c.dev.days.day[det.i] < state.from ||
                det.c.dev.days.day[det.i] > state.to)) hideDetail();
    drawVisible();
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
    showDayEvents();
    applyFilter();
  }

  // ---- the days' own events ---------------------------------------------------------------

  // Days without data and DataLogger outages in the chosen range, newest first, each once.
  function showDayEvents() {
    const days = new Set();
    for (const day of state.noData) if (day >= state.from && day <= state.to) days.add(day);
    let outages = 0;
    for (const [day, list] of state.outagesByDay) {
      if (day >= state.from && day <= state.to) { days.add(day); outages += list.length; }
    }
    const noData = [...days].filter((d) => state.noData.has(d)).length;
    const list = $("day-events-list");
    const items = [];
    let more = 0;
    for (const day of [...days].sort().reverse()) {
      for (const line of dayLines(day)) {
        if (items.length >= DAY_LINES_SHOWN) { more++; continue; }
        const li = el("li", state.noData.has(day) ? "no-data" : "outage");
        li.dataset.day = day;
        li.append(el("span", "day", day), document.createTextNode(" " + line));
        items.push(li);
      }
    }
    if (more) {
      items.push(el("li", "more", "… and " + more + " more line" + (more === 1 ? "" : "s") +
        " before these: choose fewer days to list them"));
    }
    list.replaceChildren(...items);
    $("day-events-summary").textContent = days.size ?
      "Days: " + noData + " without data, " + outages + " DataLogger outage" +
        (outages === 1 ? "" : "s") + " (one mark on every time axis; no device's gap)" :
      "Days: every day in range has data, no DataLogger outage";
    $("day-events").hidden = false;
  }

  // "Data as of" the newest day with data, loud once the next day is past its deadline: by
  // this browser's clock, so the page says so even when publishing has stopped.
  function showFreshness(site) {
    const f = site.freshness;
    const box = $("freshness");
    if (!f) {
      box.textContent = "No data yet.";
      box.className = "overdue";
      return;
    }
    const overdue = Date.now() / 1000 >= f.overdue_utc;
    box.textContent = "Data as of " + f.data_as_of + (overdue ?
      ". OVERDUE: " + f.next_day + " was due by " + f.overdue_local + " (the " + f.asset +
        " deadline) and is not here." :
      "; " + f.next_day + " is due by " + f.overdue_local + ".");
    box.className = overdue ? "overdue" : "fresh";
    document.body.dataset.overdue = overdue ? "1" : "0";
  }

  function quickRange(days) {
    if (days === "all") return setRange(state.first, state.last);
    const n = Number(days);
    const from = isoDay(Math.max(dayMs(state.first), dayMs(state.last) - (n - 1) * DAY_MS));
    return setRange(from, state.last);
  }

  // ---- drawing as plots come into view --------------------------------------------------

  // Plots on (or within a screen of) the viewport are drawn now; the others when scrolled to.
  function drawVisible() {
    const limit = 2 * window.innerHeight;
    for (const c of state.cards) {
      if (c.chart || c.card.hidden) continue;
      const r = c.plot.getBoundingClientRect();
      if (r.top < limit && r.bottom > -window.innerHeight) draw(c);
    }
  }

  function resizeAll(section) {
    const width = section.clientWidth;
    for (const c of state.cards) {
      if (c.chart && !c.card.hidden) {
        c.chart.setSize({ width: c.plot.clientWidth || width, height: 240 });
      }
    }
  }

  // ---- start ---------------------------------------------------------------------------

  function start(site) {
    state.site = site;
    for (const dev of site.devices) dev.days.day = dev.days.start_local.map((t) => t.slice(0, 10));
    state.noData = new Set(site.no_data_days || []);
    const out = site.outages || { day: [] };
    for (let k = 0; k < out.day.length; k++) {
      const o = { start_local: out.start_local[k], end_local: out.end_local[k],
                  seconds: out.seconds[k], missing: out.missing[k], devices: out.devices[k] };
      if (!state.outagesByDay.has(out.day[k])) state.outagesByDay.set(out.day[k], []);
      state.outagesByDay.get(out.day[k]).push(o);
      state.outageX.push([xOf(o.start_local), xOf(o.end_local)]);
    }
    showFreshness(site);
    const days = site.devices.flatMap((d) => d.days.day);
    const status = $("status");
    status.textContent = site.devices.length + " devices, statistics published " +
      site.generated_local + ".";
    if (!days.length) {
      status.textContent += " No statistics yet: distil some data files (file_stats) and " +
        "publish again.";
    }
    for (const problem of site.problems || []) status.textContent += " " + problem;
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
    setRange(state.first, state.last); // draws the plots of the first screen
    performance.mark("first-screen"); // benchmarks/bench_publish.py reads it
    document.body.dataset.firstScreen = "1";
    state.details = loadDetails();
    let pending = false;
    window.addEventListener("scroll", () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; drawVisible(); });
    }, { passive: true });
    $("search").addEventListener("input", applyFilter);
    $("filter").addEventListener("change", applyFilter);
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
      resizeAll(section);
    }).observe(section);
    $("controls").addEventListener("submit", (ev) => ev.preventDefault());
    $("detail-close").addEventListener("click", hideDetail);
    document.body.dataset.ready = "1";
  }

  loadData(DATA_JSON, DATA_JS, "GMPSAI_SITE").then(start).catch((err) => {
    $("status").textContent = "Cannot show the statistics: " + err.message;
    document.body.dataset.ready = "error";
    console.error(err);
  });
})();
