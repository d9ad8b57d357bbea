/* Alpha Panda dashboard: polls the REST API (/api/v1/) every 2 s with the session cookie and
 * updates figures, tables and charts in place; the page is never reloaded.
 *
 * Hooks for tests and people: every broker is a `section[data-broker]`; canvases `#equity-<b>`,
 * `#pnl-<b>`, `#strategy-pnl-<b>` carry `data-points` (points drawn); tables `#fills-<b>`,
 * `#orders-<b>`, `#positions-<b>`, `#rejections-<b>`, `#strategies-<b>`; fill rows carry
 * `data-fill-id`, and new ones get the class `fresh` for a few seconds; `body[data-polls]` counts
 * completed polls and `window.alphaPanda.loadedAt` is set once per page load.
 */
(function () {
  "use strict";

  const body = document.body;
  const API = body.dataset.api || "/api/v1/";
  const POLL_MS = Number(body.dataset.pollMs) || 2000;
  const TIME_ZONE = body.dataset.timeZone || undefined;
  const FETCH_TIMEOUT_MS = 8000;
  const FRESH_MS = 5000;
  const BROKERS = Array.from(document.querySelectorAll("section.broker[data-broker]")).map(
    (s) => s.dataset.broker,
  );

  const state = {
    loadedAt: Date.now(),
    loadId: Math.random().toString(36).slice(2),
    polls: 0,
    failures: 0,
    lastOk: null,
    strategies: null, // null until the API has listed them once
    charts: {},
  };
  window.alphaPanda = state;

  // ---- formatting -------------------------------------------------------------------------------
  const rupeeFmt = new Intl.NumberFormat("en-IN", {
    style: "currency",
    currency: "INR",
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
  const rupeeAxisFmt = new Intl.NumberFormat("en-IN", {
    style: "currency",
    currency: "INR",
    maximumFractionDigits: 0,
  });
  const priceFmt = new Intl.NumberFormat("en-IN", { minimumFractionDigits: 2, maximumFractionDigits: 4 });
  const countFmt = new Intl.NumberFormat("en-IN", { maximumFractionDigits: 0 });
  const clockFmt = new Intl.DateTimeFormat("en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
    timeZone: TIME_ZONE,
  });
  const dayFmt = new Intl.DateTimeFormat("en-IN", { day: "2-digit", month: "short", timeZone: TIME_ZONE });

  function num(value) {
    if (value === null || value === undefined || value === "") return null;
    const n = typeof value === "number" ? value : Number(value);
    return Number.isFinite(n) ? n : null;
  }
  function rupees(value) {
    const n = num(value);
    return n === null ? "—" : rupeeFmt.format(n);
  }
  function signedRupees(value) {
    const n = num(value);
    if (n === null) return "—";
    return (n > 0 ? "+" : "") + rupeeFmt.format(n);
  }
  function price(value) {
    const n = num(value);
    return n === null ? "—" : priceFmt.format(n);
  }
  function count(value) {
    const n = num(value);
    return n === null ? "—" : countFmt.format(n);
  }
  function tone(value) {
    const n = num(value);
    if (n === null || Math.abs(n) < 0.005) return "flat";
    return n > 0 ? "gain" : "loss";
  }
  function time(value) {
    if (!value) return "—";
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    const today = dayFmt.format(new Date());
    const day = dayFmt.format(d);
    return day === today ? clockFmt.format(d) : `${day} ${clockFmt.format(d)}`;
  }
  function chargesTotal(charges) {
    if (charges && typeof charges === "object") return charges.total;
    return charges;
  }

  // ---- API ----------------------------------------------------------------------------------------
  class ApiError extends Error {}

  async function getJSON(path) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
    let response;
    try {
      response = await fetch(API + path, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
        signal: controller.signal,
      });
    } catch (err) {
      const why = err && err.name === "AbortError" ? "timed out" : "unreachable";
      throw new ApiError(`GET ${API}${path}: server ${why}`);
    } finally {
      clearTimeout(timer);
    }
    if (response.status === 401 || response.status === 403) {
      throw new ApiError(`GET ${API}${path}: HTTP ${response.status} (signed out? reload the page to sign in)`);
    }
    if (!response.ok) {
      let detail = "";
      try {
        const data = await response.json();
        detail = data && (data.detail || data.message || data.error);
        if (detail && typeof detail === "object") detail = JSON.stringify(detail);
      } catch (_) {
        /* not JSON */
      }
      throw new ApiError(`GET ${API}${path}: HTTP ${response.status}${detail ? ` (${detail})` : ""}`);
    }
    return response.json();
  }

  function rows(data) {
    if (Array.isArray(data)) return data;
    if (data && Array.isArray(data.results)) return data.results;
    return [];
  }

  // ---- tables -------------------------------------------------------------------------------------
  /* A cell is a string or {text, cls, title, pill}; `pill` puts the text in a badge with that class. */
  function setCells(tr, cells) {
    while (tr.cells.length > cells.length) tr.deleteCell(-1);
    cells.forEach((cell, i) => {
      const td = tr.cells[i] || tr.insertCell(-1);
      const spec = typeof cell === "object" && cell !== null ? cell : { text: cell };
      const text = spec.text === null || spec.text === undefined ? "—" : String(spec.text);
      let target = td;
      if (spec.pill) {
        // A badge inside the cell: <td><span class="status-pill ...">text</span></td>
        target = td.firstElementChild;
        if (!target) {
          td.textContent = "";
          target = td.appendChild(document.createElement("span"));
        }
        if (target.className !== spec.pill) target.className = spec.pill;
      }
      if (target.textContent !== text) target.textContent = text;
      const cls = spec.cls || "";
      if (td.className !== cls) td.className = cls;
      if (spec.title) td.title = spec.title;
      else td.removeAttribute("title");
    });
  }

  /* Updates a tbody in place, keyed: existing rows are reused, new rows are created (and marked
   * `fresh` once the table has been filled before), rows gone from the data are removed. */
  function syncTable(tableId, items, { key, cells, empty, highlight = false, decorate }) {
    const table = document.getElementById(tableId);
    if (!table) return;
    const tbody = table.tBodies[0];
    const columns = table.tHead ? table.tHead.rows[0].cells.length : 1;
    const primed = tbody.dataset.primed === "1";
    const existing = new Map();
    for (const tr of Array.from(tbody.rows)) {
      if (tr.dataset.key !== undefined) existing.set(tr.dataset.key, tr);
      else tr.remove();
    }
    const ordered = [];
    for (const item of items) {
      const k = String(key(item));
      let tr = existing.get(k);
      if (tr) {
        existing.delete(k);
      } else {
        tr = document.createElement("tr");
        tr.dataset.key = k;
        if (highlight && primed) {
          tr.classList.add("fresh");
          tr.dataset.freshAt = String(Date.now());
          setTimeout(() => tr.classList.remove("fresh"), FRESH_MS);
        }
      }
      setCells(tr, cells(item));
      if (decorate) decorate(tr, item);
      ordered.push(tr);
    }
    for (const tr of existing.values()) tr.remove();
    ordered.forEach((tr, i) => {
      if (tbody.rows[i] !== tr) tbody.insertBefore(tr, tbody.rows[i] || null);
    });
    if (!ordered.length) {
      const tr = tbody.insertRow(-1);
      tr.className = "empty";
      const td = tr.insertCell(-1);
      td.colSpan = columns;
      td.textContent = empty;
    }
    tbody.dataset.primed = "1";
    table.dataset.rows = String(ordered.length);
  }

  function side(value) {
    const s = String(value || "").toUpperCase();
    return { text: s || "—", cls: s === "BUY" ? "side-buy" : s === "SELL" ? "side-sell" : "" };
  }
  function money(value, signed = false) {
    return { text: signed ? signedRupees(value) : rupees(value), cls: `num ${signed ? tone(value) : ""}`.trim() };
  }
  /* Symbols by instrument token, learnt from rows that carry both (rejected signals carry a token only). */
  const symbols = new Map();
  function learnSymbols(items) {
    for (const item of items) {
      if (item.instrument_token !== undefined && (item.symbol || item.tradingsymbol)) {
        symbols.set(String(item.instrument_token), item.symbol || item.tradingsymbol);
      }
    }
  }
  function instrument(item) {
    const known = item.instrument_token !== undefined && symbols.get(String(item.instrument_token));
    return item.symbol || item.tradingsymbol || known || (item.instrument_token ? `#${item.instrument_token}` : "—");
  }

  // ---- charts -------------------------------------------------------------------------------------
  const COLORS = ["#2457c5", "#0f8a4b", "#d97706", "#7c3aed", "#c62828", "#0891b2", "#db2777", "#4b5563"];

  function chartOptions({ legend }) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      parsing: false,
      normalized: true,
      interaction: { mode: "index", intersect: false },
      elements: {
        // Lines only, except while a series is too short to draw one.
        point: { radius: (ctx) => (ctx.dataset && ctx.dataset.data.length < 3 ? 3 : 0), hoverRadius: 3 },
        line: { borderWidth: 2, tension: 0 },
      },
      scales: {
        x: {
          type: "linear",
          ticks: { maxTicksLimit: 5, maxRotation: 0, callback: (v) => clockFmt.format(new Date(v)) },
          grid: { display: false },
        },
        y: {
          ticks: { maxTicksLimit: 5, callback: (v) => rupeeAxisFmt.format(Math.abs(v) < 0.5 ? 0 : v) },
          grid: { color: "#eef1f5" },
        },
      },
      plugins: {
        legend: { display: legend, position: "bottom", labels: { boxWidth: 10, boxHeight: 10, font: { size: 11 } } },
        decimation: { enabled: true, algorithm: "lttb", samples: 400 },
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? time(new Date(items[0].parsed.x).toISOString()) : ""),
            label: (item) => `${item.dataset.label}: ${rupeeFmt.format(item.parsed.y)}`,
          },
        },
      },
    };
  }

  function lineSeries(label, color, extra = {}) {
    return { label, data: [], borderColor: color, backgroundColor: color, fill: false, ...extra };
  }

  function ensureChart(canvasId, datasets, legend) {
    if (state.charts[canvasId]) return state.charts[canvasId];
    const canvas = document.getElementById(canvasId);
    if (!canvas || typeof window.Chart !== "function") return null;
    const chart = new window.Chart(canvas, { type: "line", data: { datasets }, options: chartOptions({ legend }) });
    state.charts[canvasId] = chart;
    return chart;
  }

  function pointsOf(series, pick) {
    const out = [];
    for (const p of series) {
      const x = Date.parse(p.at);
      const y = pick(p);
      if (Number.isFinite(x) && y !== null) out.push({ x, y });
    }
    out.sort((a, b) => a.x - b.x);
    return out;
  }
  const netOf = (p) => {
    const r = num(p.realized);
    const u = num(p.unrealized);
    const c = num(p.charges);
    return r === null || u === null || c === null ? null : r + u - c;
  };

  /* The x axis spans the data (at least a minute), so a short series is not stretched over hours. */
  function fitX(chart) {
    let min = Infinity;
    let max = -Infinity;
    for (const d of chart.data.datasets) {
      if (!d.data.length) continue;
      min = Math.min(min, d.data[0].x);
      max = Math.max(max, d.data[d.data.length - 1].x);
    }
    const x = chart.options.scales.x;
    if (!Number.isFinite(min)) {
      x.min = undefined;
      x.max = undefined;
      return;
    }
    const pad = Math.max(0, 60000 - (max - min)) / 2;
    x.min = min - pad;
    x.max = max + pad;
  }

  function draw(canvasId, chart) {
    fitX(chart);
    chart.update("none");
    setPoints(canvasId, chart);
  }

  function setPoints(canvasId, chart) {
    const canvas = document.getElementById(canvasId);
    const n = chart.data.datasets.reduce((acc, d) => acc + d.data.length, 0);
    canvas.dataset.points = String(n);
    canvas.dataset.series = String(chart.data.datasets.length);
    canvas.closest(".chart").classList.toggle("no-data", n === 0);
  }

  function renderEquity(broker, series) {
    const id = `equity-${broker}`;
    const chart = ensureChart(
      id,
      [lineSeries("Equity", "#2457c5", { fill: "origin", backgroundColor: "rgba(36, 87, 197, 0.08)" })],
      false,
    );
    if (!chart) return;
    chart.options.scales.y.beginAtZero = false;
    chart.data.datasets[0].data = pointsOf(series, (p) => num(p.equity));
    draw(id, chart);
  }

  function renderPnl(broker, series) {
    const id = `pnl-${broker}`;
    const chart = ensureChart(
      id,
      [
        lineSeries("Net P&L", "#1a2230", { borderWidth: 2.5 }),
        lineSeries("Realized", "#0f8a4b"),
        lineSeries("Unrealized", "#d97706"),
        lineSeries("Charges", "#8a94a6", { borderDash: [5, 4], borderWidth: 1.5 }),
      ],
      true,
    );
    if (!chart) return;
    const [net, realized, unrealized, charges] = chart.data.datasets;
    net.data = pointsOf(series, netOf);
    realized.data = pointsOf(series, (p) => num(p.realized));
    unrealized.data = pointsOf(series, (p) => num(p.unrealized));
    charges.data = pointsOf(series, (p) => num(p.charges));
    draw(id, chart);
  }

  function renderStrategyPnl(broker, byStrategy) {
    const id = `strategy-pnl-${broker}`;
    const chart = ensureChart(id, [], true);
    if (!chart) return;
    const names = Object.keys(byStrategy).sort();
    const datasets = chart.data.datasets;
    names.forEach((name, i) => {
      let ds = datasets.find((d) => d.label === name);
      if (!ds) {
        ds = lineSeries(name, COLORS[i % COLORS.length]);
        datasets.push(ds);
      }
      ds.data = pointsOf(byStrategy[name], netOf);
    });
    chart.data.datasets = datasets.filter((d) => names.includes(d.label));
    draw(id, chart);
  }

  // ---- sections -----------------------------------------------------------------------------------
  function renderFigures(broker, summary) {
    const section = document.getElementById(`broker-${broker}`);
    if (!section || !summary) return;
    for (const el of section.querySelectorAll("[data-field]")) {
      const value = summary[el.dataset.field];
      const text =
        el.dataset.kind === "count" ? count(value) : el.hasAttribute("data-signed") ? signedRupees(value) : rupees(value);
      if (el.textContent !== text) el.textContent = text;
      if (el.hasAttribute("data-signed")) {
        el.classList.remove("gain", "loss", "flat");
        el.classList.add(tone(value));
      }
    }
    section.dataset.equity = summary.equity ?? "";
  }

  function renderBrokerInfo(broker, info) {
    const kill = document.getElementById(`kill-${broker}`);
    const banner = document.getElementById(`kill-banner-${broker}`);
    const health = document.getElementById(`health-${broker}`);
    const role = document.getElementById(`role-${broker}`);
    if (!info) return;
    const ks = info.kill_switch || {};
    kill.textContent = ks.engaged ? "KILL SWITCH ENGAGED" : "kill switch off";
    kill.className = `badge ${ks.engaged ? "bad" : "good"}`;
    banner.hidden = !ks.engaged;
    banner.textContent = ks.engaged
      ? `Kill switch engaged${ks.reason ? `: ${ks.reason}` : ""}. No new entries; exits still pass.`
      : "";
    const h = info.health || {};
    const healthBanner = document.getElementById(`health-banner-${broker}`);
    if (h.ok === undefined) {
      health.hidden = true;
      healthBanner.hidden = true;
    } else {
      health.hidden = false;
      health.textContent = h.ok ? "can trade" : "cannot trade";
      health.className = `badge ${h.ok ? "good" : "bad"}`;
      health.title = h.detail || "";
      healthBanner.hidden = Boolean(h.ok);
      healthBanner.textContent = h.ok ? "" : `Cannot place orders: ${h.detail || "unknown reason"}`;
    }
    if (info.role) {
      role.hidden = false;
      role.textContent = `you: ${info.role}`;
    }
    const section = document.getElementById(`broker-${broker}`);
    section.dataset.killSwitch = ks.engaged ? "engaged" : "off";
    if (info.label) section.dataset.apiLabel = info.label;
  }

  function strategyStatus(s, broker) {
    if (!s.active) return "inactive";
    if ((s.paused_brokers || []).includes(broker)) return "paused";
    return "running";
  }

  function renderStrategies(broker, strategies) {
    syncTable(`strategies-${broker}`, strategies, {
      key: (s) => s.name,
      empty: "No strategy trades on this broker.",
      cells: (s) => {
        const status = strategyStatus(s, broker);
        return [s.name, s.kind, { text: status, pill: `status-pill ${status}` }];
      },
      decorate: (tr, s) => {
        tr.dataset.strategy = s.name;
        tr.dataset.status = strategyStatus(s, broker);
      },
    });
  }

  function renderPositions(broker, positions) {
    syncTable(`positions-${broker}`, positions, {
      key: (p) => `${p.strategy}:${p.instrument_token}`,
      empty: "No open positions.",
      cells: (p) => [
        p.strategy,
        instrument(p),
        { text: count(p.quantity), cls: `num ${num(p.quantity) < 0 ? "loss" : ""}`.trim() },
        { text: price(p.average_price), cls: "num" },
        { text: price(p.last_price), cls: "num" },
        money(p.unrealized, true),
      ],
    });
  }

  function fillId(f) {
    return f.fill_id ?? f.id;
  }

  function renderFills(broker, fills) {
    syncTable(`fills-${broker}`, fills, {
      key: fillId,
      highlight: true,
      empty: "No fills yet.",
      cells: (f) => [
        time(f.filled_at || f.at || f.created_at),
        f.strategy,
        instrument(f),
        side(f.side),
        { text: count(f.quantity), cls: "num" },
        { text: price(f.price), cls: "num" },
        money(chargesTotal(f.charges)),
      ],
      decorate: (tr, f) => {
        tr.dataset.fillId = String(fillId(f));
      },
    });
  }

  function renderOrders(broker, orders) {
    syncTable(`orders-${broker}`, orders, {
      key: (o) => o.order_id ?? o.id,
      highlight: true,
      empty: "No orders yet.",
      cells: (o) => [
        time(o.created_at || o.at),
        o.strategy,
        instrument(o),
        side(o.side),
        { text: count(o.quantity), cls: "num" },
        o.order_type || "—",
        { text: o.status || "—", title: o.reason || "" },
        { text: num(o.average_price) ? price(o.average_price) : "—", cls: "num" },
      ],
      decorate: (tr, o) => {
        tr.dataset.orderId = String(o.order_id ?? o.id);
        tr.dataset.status = o.status || "";
      },
    });
  }

  function renderRejections(broker, signals) {
    syncTable(`rejections-${broker}`, signals, {
      key: (s) => s.signal_id ?? s.id ?? `${s.decided_at}:${s.strategy}:${s.instrument_token}`,
      highlight: true,
      empty: "No rejected signals.",
      cells: (s) => [
        time(s.decided_at),
        s.strategy,
        instrument(s),
        side(s.side),
        { text: count(s.quantity), cls: "num" },
        s.rule || "—",
        { text: s.reason || "—", cls: "reason" },
      ],
    });
  }

  // ---- polling ------------------------------------------------------------------------------------
  function showErrors(errors) {
    const banner = document.getElementById("error-banner");
    const dot = document.getElementById("live-dot");
    if (!errors.length) {
      banner.hidden = true;
      banner.textContent = "";
      dot.className = "live-dot ok";
      return;
    }
    const unique = Array.from(new Set(errors));
    const more = unique.length > 1 ? ` (and ${unique.length - 1} more)` : "";
    banner.textContent = `Could not refresh: ${unique[0]}${more}. Showing the last figures; retrying every ${
      POLL_MS / 1000
    } s.`;
    banner.hidden = false;
    dot.className = "live-dot stale";
  }

  function showUpdated(ok) {
    const el = document.getElementById("updated");
    if (ok) {
      state.lastOk = new Date();
      el.textContent = `updated ${clockFmt.format(state.lastOk)}`;
      el.dataset.at = state.lastOk.toISOString();
    } else if (state.lastOk) {
      el.textContent = `last updated ${clockFmt.format(state.lastOk)}`;
    } else {
      el.textContent = "not updated yet";
    }
  }

  async function pollBroker(broker, get) {
    const known = state.strategies !== null;
    const mine = (state.strategies || []).filter((s) => (s.brokers || []).includes(broker));
    const b = encodeURIComponent(broker);
    const [pnl, positions, orders, fills, rejected, ...perStrategy] = await Promise.all([
      get(`pnl/?broker=${b}`),
      get(`positions/?broker=${b}&open=true&limit=100`),
      get(`orders/?broker=${b}&limit=20`),
      get(`fills/?broker=${b}&limit=20`),
      get(`signals/?broker=${b}&outcome=rejected&limit=20`),
      ...mine.map((s) => get(`pnl/?broker=${b}&strategy=${encodeURIComponent(s.name)}`)),
    ]);
    if (known) renderStrategies(broker, mine);
    if (pnl) {
      const series = rows(pnl);
      renderEquity(broker, series);
      renderPnl(broker, series);
    }
    const byStrategy = {};
    mine.forEach((s, i) => {
      if (perStrategy[i]) byStrategy[s.name] = rows(perStrategy[i]);
    });
    if (known && perStrategy.every(Boolean)) renderStrategyPnl(broker, byStrategy);
    for (const data of [positions, fills, orders]) if (data) learnSymbols(rows(data));
    if (positions) {
      const shown = rows(positions);
      renderPositions(broker, shown);
      const more = document.getElementById(`positions-more-${broker}`);
      const total = num(positions.count);
      more.hidden = !(total > shown.length);
      more.textContent = more.hidden ? "" : `(showing ${count(shown.length)} of ${count(total)})`;
    }
    if (fills) renderFills(broker, rows(fills));
    if (orders) renderOrders(broker, rows(orders));
    if (rejected) renderRejections(broker, rows(rejected));
  }

  async function poll() {
    const errors = [];
    const get = (path) =>
      getJSON(path).catch((err) => {
        errors.push(err instanceof ApiError ? err.message : String(err));
        return null;
      });
    const [portfolios, strategies, brokers] = await Promise.all([
      get("portfolios/"),
      get("strategies/?limit=500"),
      get("brokers/"),
    ]);
    if (strategies) state.strategies = rows(strategies);
    for (const p of rows(portfolios)) if (BROKERS.includes(p.broker)) renderFigures(p.broker, p);
    for (const info of rows(brokers)) if (BROKERS.includes(info.name)) renderBrokerInfo(info.name, info);
    await Promise.all(
      BROKERS.map((broker) =>
        pollBroker(broker, get).catch((err) => {
          errors.push(`${broker}: ${err && err.message ? err.message : err}`);
        }),
      ),
    );
    state.polls += 1;
    state.failures = errors.length ? state.failures + 1 : 0;
    body.dataset.polls = String(state.polls);
    body.dataset.apiOk = errors.length ? "false" : "true";
    showErrors(errors);
    showUpdated(!errors.length);
  }

  async function loop() {
    const started = performance.now();
    try {
      await poll();
    } catch (err) {
      showErrors([`dashboard error: ${err && err.message ? err.message : err}`]);
      showUpdated(false);
    }
    const wait = Math.max(0, POLL_MS - (performance.now() - started));
    setTimeout(loop, wait);
  }

  function start() {
    if (window.Chart) {
      window.Chart.defaults.font.family = getComputedStyle(body).fontFamily;
      window.Chart.defaults.color = "#5f6b7a";
    }
    if (!BROKERS.length) return;
    loop();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
