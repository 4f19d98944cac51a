/* dyadwatch dashboard: fetches the page's data from the JSON API (/api/...) and puts it into the DOM as
   text (textContent, never innerHTML), draws charts with the Vega-Lite build shipped in static/vendor/
   (vega-embed with ast: true, so Vega interprets expressions and the page's CSP needs no eval).
   A link is made only from an http(s) URL; anything else from the data is shown as text. */
(function () {
  "use strict";

  const body = document.body;
  const ROOT = body.dataset.root || "";
  const PAGE = body.dataset.page;
  const ctx = JSON.parse(document.getElementById("dw-context").textContent);
  const CAP = 1000; // the API's page-size cap
  const NUM = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
  const MONTH = new Intl.DateTimeFormat("en", { year: "numeric", month: "long", timeZone: "UTC" });
  const QUAD_COLORS = ["#2e7d32", "#66bb6a", "#ef8a62", "#b2182b"];
  const SHIFT_COLOR = "#c0392b";

  // -- helpers ---------------------------------------------------------------------------------------

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = String(v);
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function isWebUrl(u) { return typeof u === "string" && /^https?:\/\/[^\s]+$/i.test(u); }

  function hostOf(u) {
    try { return new URL(u).hostname.replace(/^www\./, ""); } catch (e) { return "source"; }
  }

  /** A link to a source article, or the value as plain text when it is not an http(s) URL. */
  function sourceLink(u, text) {
    if (isWebUrl(u)) {
      return el("a", { href: u, class: "source", rel: "noopener noreferrer nofollow", target: "_blank",
        title: u }, text || hostOf(u));
    }
    return el("span", { class: "no-link", title: u ? "not a web address" : "no source URL" }, u ? String(u) : "—");
  }

  function fmt(v, digits) {
    if (v === null || v === undefined || (typeof v === "number" && !isFinite(v))) return "—";
    if (typeof v !== "number") return String(v);
    if (digits === undefined) digits = Number.isInteger(v) ? 0 : Math.abs(v) < 1 ? 3 : 2;
    return v.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  function pct(v) {
    if (v === null || v === undefined) return "—";
    return v === 0 ? "0 %" : fmt(100 * v, Math.abs(v) < 0.01 ? 3 : 1) + " %";
  }

  function monthLabel(iso) { return iso ? MONTH.format(new Date(iso + "T00:00:00Z")) : "—"; }

  function showError(message) {
    const box = $("page-error");
    if (!box) return;
    box.hidden = false;
    box.append(el("p", {}, message));
  }

  function setState(node, state) { if (node) node.dataset.state = state; }

  function clear(node) { while (node && node.firstChild) node.removeChild(node.firstChild); }

  function baseQuery(extra) {
    const q = {};
    if (ctx.dyad) q.dyad = ctx.dyad;
    if (ctx.from) q.from = ctx.from;
    if (ctx.to) q.to = ctx.to;
    return Object.assign(q, extra || {});
  }

  function queryString(q) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) {
      if (v === null || v === undefined || v === "") continue;
      p.set(k, Array.isArray(v) ? v.join(",") : String(v));
    }
    return p.toString();
  }

  async function api(path, q) {
    const url = `${ROOT}/api/${path}?${queryString(q || {})}`;
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    } catch (e) {
      throw new Error(`the server did not answer (${path})`);
    }
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) throw new Error((data && data.error) || `${path}: HTTP ${response.status}`);
    if (data === null) throw new Error(`${path}: the answer was not JSON`);
    return data;
  }

  /** Every page of a list endpoint (the API pages at CAP rows). */
  async function apiAll(path, q) {
    let offset = 0;
    let first = null;
    const items = [];
    for (let i = 0; i < 200; i++) {
      const p = await api(path, Object.assign({}, q, { limit: CAP, offset }));
      first = first || p;
      items.push(...p.items);
      if (p.next_offset === null || p.next_offset === undefined) break;
      offset = p.next_offset;
    }
    return Object.assign({}, first, { items });
  }

  /** A control's value from the URL (if it is one of its options), kept in the URL when it changes. */
  function bindControl(select, onChange) {
    if (!select) return;
    const name = select.dataset.param;
    const params = new URLSearchParams(location.search);
    if (select.type === "checkbox") {
      select.checked = params.get(name) === "1";
    } else if (params.has(name) && [...select.options].some(o => o.value === params.get(name))) {
      select.value = params.get(name);
    }
    select.addEventListener("change", () => {
      const p = new URLSearchParams(location.search);
      const value = select.type === "checkbox" ? (select.checked ? "1" : "") : select.value;
      if (value) p.set(name, value); else p.delete(name);
      history.replaceState(null, "", `${location.pathname}?${p.toString()}`);
      onChange();
    });
  }

  function fillTable(table, columns, rows, rowAttrs) {
    const head = table.tHead || table.createTHead();
    if (!head.rows.length) {
      const tr = el("tr");
      for (const c of columns) tr.append(el("th", { class: c.num ? "num" : null, scope: "col" }, c.label));
      head.append(tr);
    }
    const tbody = table.tBodies[0] || table.createTBody();
    clear(tbody);
    if (!rows.length) {
      tbody.append(el("tr", { class: "empty" }, el("td", { colspan: columns.length }, "No rows."))); 
      return;
    }
    for (const r of rows) {
      const tr = el("tr", rowAttrs ? rowAttrs(r) : {});
      for (const c of columns) {
        const v = c.value(r);
        tr.append(el("td", { class: c.num ? "num" : null }, v instanceof Node ? v : (v === null || v === undefined ? "—" : String(v))));
      }
      tbody.append(tr);
    }
  }

  function trackLabel(name) {
    if (name === "all") return "All events";
    return (ctx.labels.tracks || {})[name] || name;
  }

  function theatreLabel(name) {
    if (name === "all") return "All places";
    return (ctx.labels.theatres || {})[name] || name;
  }

  function countryName(code) { return (ctx.names || {})[code] || code; }

  function eventText(code) {
    if (!code) return "—";
    const d = (ctx.event_codes || {})[code];
    return d ? `${code} ${d}` : code;
  }

  function actorText(name, code, country) {
    const who = name || code || "—";
    return country && who !== country ? `${who} (${country})` : who;
  }

  function quadText(q) {
    return q ? `${q} ${(ctx.quads || {})[String(q)] || ""}`.trim() : "—";
  }

  function noData(node, message) {
    clear(node);
    node.append(el("p", { class: "no-data" }, message));
    setState(node, "empty");
  }

  async function draw(node, spec) {
    clear(node);
    const full = Object.assign({
      $schema: "https://vega.github.io/schema/vega-lite/v5.json",
      width: "container",
      autosize: { type: "fit-x", contains: "padding" },
      config: { font: "system-ui, sans-serif", view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 },
        legend: { labelFontSize: 11, titleFontSize: 12, orient: "bottom", columns: 3, labelLimit: 320 } },
    }, spec);
    const result = await window.vegaEmbed(node, full, {
      ast: true, renderer: "svg", logLevel: 2 /* vega.Warn */,
      actions: { export: true, source: false, compiled: false, editor: false },
      downloadFileName: `dyadwatch-${PAGE}-${ctx.dyad || ctx.a || "chart"}`,
    });
    setState(node, "drawn");
    return result.view;
  }

  function eventColumns() {
    return [
      { label: "Date", value: r => el("span", { class: "nowrap" }, r.event_date) },
      { label: "Event id", value: r => r.event_id },
      { label: "Actor 1", value: r => actorText(r.actor1_name, r.actor1_code, r.actor1_country) },
      { label: "Event", value: r => eventText(r.event_code) },
      { label: "Actor 2", value: r => actorText(r.actor2_name, r.actor2_code, r.actor2_country) },
      { label: "Quad class", value: r => quadText(r.quad_class) },
      { label: "Goldstein", num: true, value: r => fmt(r.goldstein, 1) },
      { label: "Articles", num: true, value: r => fmt(r.num_articles, 0) },
    ];
  }

  function whereColumn() { return { label: "Where", value: r => r.action_geo_fullname || r.action_geo_country || "—" }; }

  function sourceColumn() { return { label: "Source", value: r => sourceLink(r.source_url) }; }

  // -- every page: the store line ---------------------------------------------------------------------

  async function storeLine() {
    const node = $("store-status");
    try {
      const s = await api("status", {});
      const first = s.sources.map(x => x.first_event).filter(Boolean).sort()[0];
      const last = s.sources.map(x => x.last_event).filter(Boolean).sort().pop();
      node.textContent = `${s.store} · ${NUM.format(s.events)} events` + (first ? `, ${first} to ${last}` : "");
      return s;
    } catch (e) {
      node.textContent = "";
      showError(e.message);
      return null;
    }
  }

  // -- overview -------------------------------------------------------------------------------------

  const INDICATOR_LABELS = {};

  async function overview() {
    const indicatorSel = $("indicator"), bySel = $("by"), shiftSel = $("shift-track");
    for (const o of indicatorSel.options) INDICATOR_LABELS[o.value] = o.textContent;
    let shifts = [];

    async function render() {
      const chart = $("chart-tracks");
      setState(chart, "loading");
      const indicator = indicatorSel.value, by = bySel.value, shiftTrack = shiftSel.value;
      let rows, found;
      try {
        [rows, found] = await Promise.all([
          apiAll("indicators", baseQuery({ by, direction: "both" })),
          apiAll("shifts", baseQuery({ indicator, track: shiftTrack })),
        ]);
      } catch (e) {
        showError(e.message);
        noData(chart, "No chart: " + e.message);
        return;
      }
      shifts = found.items;
      summary(rows.items, shifts);
      shiftTable(shifts, indicator);
      const lines = rows.items.map(r => ({
        period: r.period, track: trackLabel(r.track), value: r[indicator], events: r.events,
      })).filter(r => r.value !== null && r.value !== undefined);
      if (!lines.length) { noData(chart, "No events of this dyad in the period."); return; }
      const atMonth = {};
      for (const r of rows.items) if (r.track === shiftTrack) atMonth[r.period] = r[indicator];
      const top = Math.max(...lines.map(r => r.value));
      const byMonth = groupShifts(shifts);
      // `month` keeps the ISO text: Vega-Lite parses the encoded `period` into a Date
      const marks = Object.keys(byMonth).sort().map(period => ({
        period, month: period, kind: "shift", y: by === "month" && atMonth[period] !== null && atMonth[period] !== undefined ? atMonth[period] : top,
        what: byMonth[period].map(s => `${s.method} ${s.direction}`).join(", "),
        label: monthLabel(period),
      }));
      const unit = { month: "yearmonth", quarter: "yearquarter", year: "year" }[by];
      const layers = [{
        data: { values: lines },
        mark: { type: "line", point: lines.length < 60, interpolate: "monotone" },
        encoding: {
          x: { field: "period", type: "temporal", timeUnit: unit, title: null },
          y: { field: "value", type: "quantitative", title: INDICATOR_LABELS[indicator] || indicator },
          color: { field: "track", type: "nominal", title: "Track", scale: { scheme: "tableau10" } },
          tooltip: [{ field: "track", title: "Track" }, { field: "period", type: "temporal", timeUnit: unit, title: "Period" },
            { field: "value", title: INDICATOR_LABELS[indicator] || indicator, format: ",.4~g" }],
        },
      }];
      if (marks.length) {
        layers.push({ data: { values: marks }, mark: { type: "rule", color: SHIFT_COLOR, strokeDash: [4, 3], opacity: 0.6 },
          encoding: { x: { field: "period", type: "temporal" } } });
        layers.push({ name: "shifts", data: { values: marks },
          mark: { type: "point", shape: "triangle-down", size: 220, filled: true, color: SHIFT_COLOR, opacity: 1, cursor: "pointer" },
          encoding: { x: { field: "period", type: "temporal" }, y: { field: "y", type: "quantitative" },
            tooltip: [{ field: "label", title: "Shift" }, { field: "what", title: "Detector" }] } });
      }
      const view = await draw(chart, { height: 320, layer: layers });
      chart.dataset.shifts = String(marks.length);
      view.addEventListener("click", (event, item) => {
        if (item && item.datum && item.datum.kind === "shift") showEvidence(item.datum.month);
      });
    }

    function groupShifts(list) {
      const out = {};
      for (const s of list) (out[s.period] = out[s.period] || []).push(s);
      return out;
    }

    function summary(rows, found) {
      const dl = $("summary");
      clear(dl);
      const all = rows.filter(r => r.track === "all" && r.theatre === "all" && r.direction === "both");
      const sum = k => all.reduce((t, r) => t + (r[k] || 0), 0);
      const events = sum("events");
      const net = events ? (sum("quad1") + sum("quad2") - sum("quad3") - sum("quad4")) / events : null;
      const busiest = all.reduce((best, r) => (r.events > (best ? best.events : -1) ? r : best), null);
      const items = [
        ["Unique events", NUM.format(events)],
        ["Records (rows)", NUM.format(sum("records"))],
        ["Periods", all.length ? `${all.length} (${all[0].period} to ${all[all.length - 1].period})` : "none"],
        ["Net cooperation", net === null ? "—" : fmt(net, 2)],
        ["Busiest period", busiest && busiest.events ? `${busiest.period} (${NUM.format(busiest.events)} events)` : "—"],
        ["Shifts found", String(found.length)],
      ];
      for (const [k, v] of items) dl.append(el("div", {}, el("dt", {}, k), el("dd", {}, v)));
      setState(dl, "ready");
    }

    function shiftTable(list, indicator) {
      const note = $("shifts-note");
      note.textContent = list.length
        ? `${list.length} shift${list.length === 1 ? "" : "s"} in the monthly series of ${INDICATOR_LABELS[indicator] || indicator} (${trackLabel(shiftSel.value)}). Click a triangle in the chart, or a row's button, for its evidence.`
        : `No shift in the monthly series of ${INDICATOR_LABELS[indicator] || indicator} (${trackLabel(shiftSel.value)}): the detectors need about a year of months to compare against (docs/shifts.md).`;
      fillTable($("shifts-table"), [
        { label: "Month", value: r => monthLabel(r.period) },
        { label: "Indicator", value: r => INDICATOR_LABELS[r.indicator] || r.indicator },
        { label: "Method", value: r => r.method },
        { label: "Direction", value: r => r.direction },
        { label: "Before", num: true, value: r => fmt(r.before) },
        { label: "After", num: true, value: r => fmt(r.after) },
        { label: "Magnitude", num: true, value: r => fmt(r.magnitude) },
        { label: "Detail", value: r => r.detail },
        { label: "", value: r => el("button", { type: "button", class: "evidence-button", "data-period": r.period,
          onclick: () => showEvidence(r.period) }, "Evidence") },
      ], list, r => ({ "data-period": r.period, "data-method": r.method }));
    }

    async function showEvidence(period) {
      const section = $("evidence");
      const these = shifts.filter(s => s.period === period);
      const ids = [];
      for (const s of these) for (const i of s.evidence_event_ids || []) if (!ids.includes(i)) ids.push(i);
      section.hidden = false;
      section.dataset.period = period;
      $("evidence-h").textContent = `Evidence: ${monthLabel(period)}`;
      const list = $("evidence-shifts");
      clear(list);
      for (const s of these) list.append(el("li", {}, `${s.method}: ${s.detail}`));
      list.append(el("li", { class: "note" }, ids.length
        ? `The month's ${ids.length} most-reported events (by articles) on ${trackLabel(shiftSel.value).toLowerCase()}:`
        : "No events recorded for this month."));
      const table = $("evidence-table");
      setState(table, "loading");
      let rows = [];
      if (ids.length) {
        try {
          rows = (await api("events", { dyad: ctx.dyad, ids: ids.join(","), limit: CAP })).items;
        } catch (e) { showError(e.message); }
      }
      rows.sort((x, y) => ids.indexOf(x.event_id) - ids.indexOf(y.event_id));
      fillTable(table, [...eventColumns(), whereColumn(), sourceColumn()], rows, r => ({ "data-event-id": r.event_id }));
      setState(table, "ready");
      section.focus({ preventScroll: true });
      section.scrollIntoView({ block: "start" });
    }

    for (const s of [indicatorSel, bySel, shiftSel]) bindControl(s, render);
    await render();
  }

  // -- theatres -------------------------------------------------------------------------------------

  async function theatres() {
    const indicatorSel = $("indicator"), bySel = $("by"), home = $("with-home");
    const labels = {};
    for (const o of indicatorSel.options) labels[o.value] = o.textContent;

    async function render() {
      const chart = $("chart-theatres");
      setState(chart, "loading");
      let rows;
      try {
        rows = (await apiAll("indicators", baseQuery({ by: bySel.value, track: "all", theatre: "all,each", direction: "both" }))).items;
      } catch (e) { showError(e.message); noData(chart, "No chart: " + e.message); return; }
      const indicator = indicatorSel.value;
      const regional = ctx.labels.regional || [];
      const keep = r => r.theatre !== "all" && (home.checked || regional.includes(r.theatre));
      const lines = rows.filter(keep).filter(r => r[indicator] !== null && r[indicator] !== undefined)
        .map(r => ({ period: r.period, theatre: theatreLabel(r.theatre), value: r[indicator] }));
      theatreTable(rows, keep);
      if (!lines.length || !lines.some(r => r.value)) { noData(chart, "No events of this dyad in any theatre in the period."); return; }
      const unit = { month: "yearmonth", quarter: "yearquarter", year: "year" }[bySel.value];
      await draw(chart, {
        height: 320, data: { values: lines },
        mark: { type: "line", point: lines.length < 80, interpolate: "monotone" },
        encoding: {
          x: { field: "period", type: "temporal", timeUnit: unit, title: null },
          y: { field: "value", type: "quantitative", title: labels[indicator] || indicator },
          color: { field: "theatre", type: "nominal", title: "Theatre", scale: { scheme: "tableau10" } },
          tooltip: [{ field: "theatre", title: "Theatre" }, { field: "period", type: "temporal", timeUnit: unit, title: "Period" },
            { field: "value", title: labels[indicator] || indicator, format: ",.4~g" }],
        },
      });
    }

    function theatreTable(rows, keep) {
      // the period's totals are sums of the monthly counts (a unique event falls in one period)
      const totals = {};
      for (const r of rows) {
        const t = totals[r.theatre] = totals[r.theatre] || { theatre: r.theatre, events: 0, q: [0, 0, 0, 0], goldstein: 0 };
        t.events += r.events; t.goldstein += r.goldstein_sum || 0;
        for (let i = 0; i < 4; i++) t.q[i] += r[`quad${i + 1}`] || 0;
      }
      const all = totals.all ? totals.all.events : 0;
      const list = Object.values(totals).filter(t => t.theatre !== "all" && keep({ theatre: t.theatre }))
        .sort((x, y) => y.events - x.events);
      fillTable($("theatre-table"), [
        { label: "Theatre", value: t => theatreLabel(t.theatre) },
        { label: "Events", num: true, value: t => NUM.format(t.events) },
        { label: "Share", num: true, value: t => (all ? pct(t.events / all) : "—") },
        ...[0, 1, 2, 3].map(i => ({ label: `Q${i + 1}`, num: true, value: t => NUM.format(t.q[i]) })),
        { label: "Net coop.", num: true, value: t => (t.events ? fmt((t.q[0] + t.q[1] - t.q[2] - t.q[3]) / t.events, 2) : "—") },
        { label: "Goldstein", num: true, value: t => (t.events ? fmt(t.goldstein / t.events, 2) : "—") },
      ], list, t => ({ "data-theatre": t.theatre }));
    }

    for (const s of [indicatorSel, bySel, home]) bindControl(s, render);
    await render();
  }

  // -- partner comparison ---------------------------------------------------------------------------

  async function compare() {
    const metric = $("metric");
    const labels = {};
    for (const o of metric.options) labels[o.value] = o.textContent;
    let rows = null;
    const chart = $("chart-compare");
    if (!ctx.a || !ctx.partners.length) { noData(chart, "Pick a dyad first."); return; }
    try {
      rows = (await apiAll("compare", { focal: ctx.a, partners: ctx.partners.join(","), from: ctx.from, to: ctx.to })).items;
    } catch (e) { showError(e.message); noData(chart, "No chart: " + e.message); return; }

    async function render() {
      const m = metric.value;
      const values = rows.map(r => ({ partner: `${countryName(r.partner)} (${r.partner})`, code: r.partner,
        value: r[m], mine: r.partner === ctx.b ? "the dyad's partner" : "other partners" }))
        .filter(r => r.value !== null && r.value !== undefined);
      if (!values.length) { noData(chart, "No values for this measure in the period."); }
      else {
        await draw(chart, {
          height: Math.max(120, 34 * values.length), data: { values },
          mark: { type: "bar", cornerRadiusEnd: 2 },
          encoding: {
            y: { field: "partner", type: "nominal", sort: "-x", title: null },
            x: { field: "value", type: "quantitative", title: labels[m] || m },
            color: { field: "mine", type: "nominal", title: null, scale: { domain: ["the dyad's partner", "other partners"], range: ["#1f4e79", "#9ecae1"] } },
            tooltip: [{ field: "partner" }, { field: "value", title: labels[m] || m, format: ",.4~g" }],
          },
        });
      }
      const trackCols = Object.keys(rows[0] || {}).filter(k => k.endsWith("_share") && k !== "share_of_all");
      fillTable($("compare-table"), [
        { label: "Partner", value: r => `${countryName(r.partner)} (${r.partner})` },
        { label: "Events", num: true, value: r => NUM.format(r.events) },
        { label: "Share of all", num: true, value: r => pct(r.share_of_all) },
        ...trackCols.map(c => ({ label: trackLabel(c.replace(/_share$/, "")), num: true, value: r => pct(r[c]) })),
        { label: "Net coop.", num: true, value: r => fmt(r.net_cooperation, 2) },
        { label: "Contacts / year", num: true, value: r => fmt(r.leader_contacts_per_year, 1) },
        { label: "Trend", num: true, value: r => (r.trend === null ? "—" : pct(r.trend)) },
        { label: "Rank share", num: true, value: r => fmt(r.rank_share_of_all) },
        { label: "Rank coop.", num: true, value: r => fmt(r.rank_net_cooperation) },
        { label: "Rank contacts", num: true, value: r => fmt(r.rank_leader_contacts_per_year) },
        { label: "Rank trend", num: true, value: r => fmt(r.rank_trend) },
      ], rows, r => ({ "data-partner": r.partner, class: r.partner === ctx.b ? "mine" : null }));
    }

    bindControl(metric, render);
    await render();
  }

  // -- leader contacts ------------------------------------------------------------------------------

  async function contacts() {
    let perYear, each;
    try {
      [perYear, each] = await Promise.all([apiAll("contacts", baseQuery({ per_year: true })), apiAll("contacts", baseQuery())]);
    } catch (e) { showError(e.message); return; }
    const yearChart = $("chart-contacts-year"), timeline = $("chart-contacts-timeline");
    const bars = [];
    for (const r of perYear.items) for (const k of ["calls", "visits", "meetings"]) bars.push({ year: String(r.year), kind: k, n: r[k], corroborated: r.corroborated, total: r.total });
    if (!bars.some(b => b.n)) noData(yearChart, "No leader-level contact between the two countries in the period.");
    else {
      await draw(yearChart, {
        height: 220, data: { values: bars }, mark: "bar",
        encoding: {
          x: { field: "year", type: "ordinal", title: null, axis: { labelAngle: 0 } },
          y: { field: "n", type: "quantitative", title: "Contacts", stack: true },
          color: { field: "kind", type: "nominal", title: "Kind", scale: { domain: ["calls", "visits", "meetings"], range: ["#1f77b4", "#ff7f0e", "#2ca02c"] } },
          tooltip: [{ field: "year" }, { field: "kind" }, { field: "n", title: "contacts" },
                    { field: "total", title: "all contacts" }, { field: "corroborated", title: "corroborated" }],
        },
      });
    }
    if (!each.items.length) noData(timeline, "No contacts to draw.");
    else {
      await draw(timeline, {
        height: 140, data: { values: each.items.map(r => ({ day: r.day, kind: r.kind, leaders: r.leaders, events: r.events,
                                                              reports: r.reports, confidence: r.confidence })) },
        mark: { type: "point", size: 90 },
        encoding: {
          x: { field: "day", type: "temporal", title: null },
          y: { field: "kind", type: "nominal", title: null },
          color: { field: "kind", type: "nominal", legend: null, scale: { domain: ["call", "visit", "meeting"], range: ["#1f77b4", "#ff7f0e", "#2ca02c"] } },
          fill: { condition: { test: "datum.confidence === 'corroborated'", field: "kind", type: "nominal", legend: null,
                               scale: { domain: ["call", "visit", "meeting"], range: ["#1f77b4", "#ff7f0e", "#2ca02c"] } },
                  value: "white" },
          tooltip: [{ field: "day", type: "temporal" }, { field: "kind" }, { field: "leaders" }, { field: "events" },
                    { field: "reports" }, { field: "confidence" }],
        },
      });
    }
    fillTable($("contacts-table"), [
      { label: "Day", value: r => r.day },
      { label: "Kind", value: r => r.kind },
      { label: "Leaders", value: r => r.leaders },
      { label: "Events", num: true, value: r => r.events },
      { label: "Reports", num: true, value: r => r.reports },
      { label: "Confidence", value: r => r.confidence },
      { label: "Days reported", value: r => (r.days_reported || []).join(" ") },
      { label: "Articles", num: true, value: r => r.articles },
      { label: "Event ids", value: r => (r.event_ids || []).join(" ") },
      { label: "Sources", value: r => el("span", { class: "links" }, ...(r.urls || []).map((u, i) => sourceLink(u, String(i + 1)))) },
    ], each.items, r => ({ "data-day": r.day, "data-kind": r.kind }));
  }

  // -- claims and scenarios -------------------------------------------------------------------------

  function evidenceList(evidence) {
    if (!evidence || !evidence.length) return null;
    const ul = el("ul", { class: "evidence" });
    for (const e of evidence) {
      const what = [e.date, e.window ? `(${e.window})` : null, e.articles ? `${e.articles} articles` : null].filter(Boolean).join(" ");
      ul.append(el("li", {}, `${what} · event ${e.event_id} · `, sourceLink(e.url)));
    }
    return el("details", {}, el("summary", {}, `Evidence: ${evidence.length} event${evidence.length === 1 ? "" : "s"}`), ul);
  }

  function badge(text) { return el("span", { class: `badge ${text.replace(/\s+/g, "-")}` }, text); }

  async function claims() {
    const list = $("claims-list"), slist = $("scenarios-list");
    const [c, s] = await Promise.allSettled([apiAll("claims", baseQuery()), apiAll("scenarios", baseQuery())]);
    clear(list);
    if (c.status === "rejected") { showError(c.reason.message); noData(list, "Claims could not be checked."); }
    else {
      const counts = c.value.counts;
      $("claims-summary").textContent = Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(" · ");
      for (const v of c.value.items) {
        list.append(el("article", { class: "card", "data-claim": v.id, "data-verdict": v.verdict },
          el("h3", {}, badge(v.verdict), " ", v.text),
          el("blockquote", {}, v.quote),
          el("p", { class: "detail" }, v.detail),
          evidenceList(v.evidence)));
      }
      setState(list, "ready");
    }
    clear(slist);
    if (s.status === "rejected") { showError(s.reason.message); noData(slist, "Scenarios could not be evaluated."); return; }
    const byScenario = {};
    for (const r of s.value.items) (byScenario[r.scenario_id] = byScenario[r.scenario_id] || []).push(r);
    $("scenarios-summary").textContent = `${s.value.scenarios.length} scenarios, ${s.value.total} signposts`;
    for (const sc of s.value.scenarios) {
      const posts = byScenario[sc.scenario_id] || [];
      const ul = el("ul", { class: "signposts" });
      for (const p of posts) {
        ul.append(el("li", { "data-signpost": p.signpost_id, "data-status": p.status }, badge(p.status), " ", p.signpost_text,
          el("p", { class: "detail" }, p.detail), evidenceList(p.evidence)));
      }
      const counts = ["lit", "not lit", "not enough data"].map(k => `${sc[k] || 0} ${k}`).join(" · ");
      slist.append(el("article", { class: "card", "data-scenario": sc.scenario_id },
        el("h3", {}, sc.scenario_title), posts.length ? el("blockquote", {}, posts[0].quote) : null,
        el("p", { class: "counts" }, counts), ul));
    }
    setState(slist, "ready");
  }

  // -- events ---------------------------------------------------------------------------------------

  async function events() {
    const PAGE_SIZE = 50;
    const params = new URLSearchParams(location.search);
    const direction = $("direction"), text = $("text-filter");
    const quads = [...document.querySelectorAll('#event-filters input[name="quad"]')];
    let offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
    if ([...direction.options].some(o => o.value === params.get("direction"))) direction.value = params.get("direction");
    if (params.get("quad")) {
      const want = params.get("quad").split(",");
      for (const q of quads) q.checked = want.includes(q.value);
    }
    text.value = params.get("q") || "";
    let seq = 0;

    function state() {
      const checked = quads.filter(q => q.checked).map(q => q.value);
      return { direction: direction.value === "both" ? "" : direction.value,
        quad: checked.length === quads.length ? "" : checked.join(","), q: text.value.trim() };
    }

    function remember(s) {
      const p = new URLSearchParams(location.search);
      for (const [k, v] of Object.entries(Object.assign({}, s, { offset: offset ? String(offset) : "" }))) {
        if (v) p.set(k, v); else p.delete(k);
      }
      history.replaceState(null, "", `${location.pathname}?${p.toString()}`);
    }

    async function render() {
      const mine = ++seq;
      const s = state();
      remember(s);
      const table = $("events-table");
      if (quads.every(q => !q.checked)) {
        fillTable(table, [], []);
        $("events-count").textContent = "No quad class selected.";
        return;
      }
      setState(table, "loading");
      let p;
      try {
        p = await api("events", baseQuery(Object.assign({}, s, { limit: PAGE_SIZE, offset })));
      } catch (e) { showError(e.message); return; }
      if (mine !== seq) return; // a newer filter is on its way
      if (offset && offset >= p.total) { offset = 0; return render(); }
      $("events-count").textContent = `${NUM.format(p.total)} event rows` + (p.total ? `; showing ${NUM.format(offset + 1)}–${NUM.format(offset + p.items.length)}` : "");
      $("page-label").textContent = p.total ? `page ${Math.floor(offset / PAGE_SIZE) + 1} of ${Math.ceil(p.total / PAGE_SIZE)}` : "";
      $("prev-page").disabled = offset === 0;
      $("next-page").disabled = p.next_offset === null;
      fillTable(table, [...eventColumns(), { label: "Tone", num: true, value: r => fmt(r.avg_tone, 1) }, whereColumn(), sourceColumn()],
        p.items, r => ({ "data-event-id": r.event_id }));
      setState(table, "ready");
    }

    let timer = null;
    const soon = () => { clearTimeout(timer); timer = setTimeout(() => { offset = 0; render(); }, 250); };
    direction.addEventListener("change", () => { offset = 0; render(); });
    for (const q of quads) q.addEventListener("change", () => { offset = 0; render(); });
    text.addEventListener("input", soon);
    $("prev-page").addEventListener("click", () => { offset = Math.max(0, offset - PAGE_SIZE); render(); });
    $("next-page").addEventListener("click", () => { offset += PAGE_SIZE; render(); });
    await render();
  }

  // -- brief ----------------------------------------------------------------------------------------

  function brief(status) {
    const pdf = $("brief-pdf");
    if (pdf && status && status.pdf === false) {
      pdf.after(el("span", { class: "warning" }, " (not available here: the server has no Chromium to print it)"));
    }
  }

  // -- start ----------------------------------------------------------------------------------------

  async function start() {
    const status = await storeLine();
    const pages = { overview, theatres, compare, contacts, claims, events };
    if (PAGE === "brief") { brief(status); body.dataset.ready = "1"; return; }
    if (!ctx.dyad) { body.dataset.ready = "1"; return; } // the page already says what is wrong
    if (!status) { body.dataset.ready = "1"; return; }
    try {
      if (pages[PAGE]) await pages[PAGE]();
    } catch (e) {
      showError(e && e.message ? e.message : String(e));
    }
    body.dataset.ready = "1";
  }

  start();
})();
