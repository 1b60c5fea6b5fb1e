// Front end of widgets.live_chart.LiveChart (an anywidget module), bundled with uPlot
// into widgets/static/live_chart.js by `npm run build` in js/. The built file is
// committed and shipped in the wheel: users never run node, nothing loads from a CDN.
//
// The kernel owns the data. A view starts from the synced snapshot (`data`, `markers`,
// `data_seq`), asks the kernel for the current series ("hello"), then applies the
// small "append" messages the pump sends: a few bytes per step, drawn at most once per
// animation frame. A message whose sequence number does not follow the last one (a view
// that joined mid-run) triggers a fresh "hello" instead of a wrong picture.
//
// Everything a test or benchmark needs to see is on the root element as data attributes
// (data-points, data-draws, data-last-x) and in window.__workbenchChartLog (one entry per
// draw: wall-clock ms and the last x drawn), so a browser test can tell a chart that
// draws from one that only receives.

import uPlot from "uplot";

const LOG_LIMIT = 5000;
const WINDOWS = [
  ["all", 0],
  ["last 50", 50],
  ["last 200", 200],
  ["last 1000", 1000],
];

function fmt(v) {
  if (v == null || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

// Bias-corrected exponential moving average (TensorBoard's / fastai's smoothing).
function ema(ys, beta) {
  const out = new Array(ys.length);
  let avg = 0;
  let n = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y == null || !Number.isFinite(y)) {
      out[i] = y;
      continue;
    }
    n += 1;
    avg = beta * avg + (1 - beta) * y;
    out[i] = beta > 0 ? avg / (1 - beta ** n) : y;
  }
  return out;
}

// The legend reads the hovered step; with no cursor on the chart, the latest value.
function legendValue(u, v, si, idx) {
  if (idx != null) return fmt(v);
  const ys = u.data[si] || [];
  for (let i = ys.length - 1; i >= 0; i--) if (ys[i] != null) return fmt(ys[i]);
  return "–";
}

// Room for the widest tick label of the y axis (7.50e-5 needs more than 0.5).
function axisSize(u, values, axisIdx, cycleNum) {
  if (cycleNum > 1 || !values) return u.axes[axisIdx]._size || 40;
  const longest = values.reduce((m, v) => Math.max(m, String(v).length), 0);
  return Math.max(36, Math.ceil(longest * 7 + 16));
}

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.appendChild(c);
  return node;
}

class Store {
  // Per view: series id -> [xs, ys], the markers, the x range, the last sequence number.
  constructor(model) {
    this.reset(model.get("data"), model.get("markers"), model.get("x_max"), model.get("data_seq"));
  }

  reset(data, markers, xMax, seq) {
    this.series = {};
    for (const [id, xy] of Object.entries(data || {})) {
      this.series[id] = [Array.from(xy[0]), Array.from(xy[1])];
    }
    this.markers = Array.from(markers || []);
    this.xMax = xMax || 0;
    this.seq = seq || 0;
  }

  append(msg) {
    for (const [id, xy] of Object.entries(msg.replace || {})) {
      this.series[id] = [Array.from(xy[0]), Array.from(xy[1])];
    }
    for (const [id, xy] of Object.entries(msg.points || {})) {
      const s = this.series[id] || (this.series[id] = [[], []]);
      s[0].push(...xy[0]);
      s[1].push(...xy[1]);
    }
    for (const m of msg.markers || []) this.markers.push(m);
    if (msg.x_max != null) this.xMax = msg.x_max;
    this.seq = msg.seq;
  }

  lastX() {
    let last = null;
    for (const [xs] of Object.values(this.series)) {
      if (xs.length && (last == null || xs[xs.length - 1] > last)) last = xs[xs.length - 1];
    }
    return last;
  }
}

function render({ model, el: root }) {
  root.classList.add("wb-chart");
  const store = new Store(model);
  const toolbar = el("div", { class: "wb-chart-toolbar" });
  const grid = el("div", { class: "wb-chart-grid" });
  const empty = el("div", { class: "wb-chart-empty" });
  root.append(toolbar, grid, empty);

  // -- toolbar: smoothing, log-y, window, reset ---------------------------------------
  const smooth = el("input", { type: "range", min: "0", max: "0.99", step: "0.01" });
  const smoothValue = el("span", { class: "wb-chart-value" });
  const logY = el("input", { type: "checkbox" });
  const windowSel = el("select", { title: "Show only the last steps (follows the run)" });
  for (const [label, n] of WINDOWS) windowSel.appendChild(el("option", { value: String(n), text: label }));
  const resetBtn = el("button", { class: "wb-chart-reset", type: "button", text: "Reset zoom" });
  const hint = el("span", {
    class: "wb-chart-hint",
    text: "hover: values · drag: zoom · shift-drag: pan · double-click: reset",
  });
  const smoothLabel = el("label", { title: "Exponential moving average of the training loss" }, [
    el("span", { text: "smoothing " }),
    smooth,
    smoothValue,
  ]);
  const logLabel = el("label", {}, [logY, el("span", { text: " log y" })]);
  const windowLabel = el("label", {}, [el("span", { text: "window " }), windowSel]);
  toolbar.append(smoothLabel, logLabel, windowLabel, resetBtn, hint);

  function syncControls() {
    smooth.value = String(model.get("smoothing"));
    smoothValue.textContent = Number(model.get("smoothing")).toFixed(2);
    logY.checked = !!model.get("log_y");
    windowSel.value = String(model.get("window"));
    const anySmooth = model.get("series").some((s) => s.smooth);
    smoothLabel.style.display = anySmooth ? "" : "none";
    const anyLog = model.get("panels").some((p) => p.log);
    logLabel.style.display = anyLog ? "" : "none";
  }
  smooth.addEventListener("input", () => {
    model.set("smoothing", Number(smooth.value)); // redraws this view at once
  });
  smooth.addEventListener("change", () => model.save_changes()); // to the kernel on release
  logY.addEventListener("change", () => {
    model.set("log_y", logY.checked);
    model.save_changes();
  });
  windowSel.addEventListener("change", () => {
    zoom = null;
    model.set("window", Number(windowSel.value));
    model.save_changes();
  });

  // -- charts ------------------------------------------------------------------------------
  let charts = []; // [{panel, u, ids}]
  let zoom = null; // [min, max] set by drag/pan; null = follow the run
  let draws = 0;
  let frame = 0;
  const syncKey = `wb-chart-${Math.random().toString(36).slice(2)}`;

  function xRange() {
    if (zoom) return zoom;
    const xMax = Math.max(store.xMax || 0, store.lastX() || 0, 1);
    const win = Number(model.get("window")) || 0;
    if (win > 0) {
      const last = store.lastX() || 0;
      const hi = Math.max(last, win);
      return [Math.max(0, hi - win), hi];
    }
    return [0, xMax];
  }

  function setZoom(range) {
    zoom = range;
    const [min, max] = xRange();
    for (const c of charts) c.u.setScale("x", { min, max });
    showRange();
  }

  function showRange() {
    // the x range on screen, for tests: "min max"
    const x = charts.length ? charts[0].u.scales.x : null;
    root.dataset.xRange = x && x.min != null ? `${fmt(x.min)} ${fmt(x.max)}` : "";
  }

  function markersPlugin() {
    return {
      hooks: {
        draw: (u) => {
          const ctx = u.ctx;
          const { top, height } = u.bbox;
          ctx.save();
          ctx.lineWidth = 1 * devicePixelRatio;
          for (const m of store.markers) {
            const x = Math.round(u.valToPos(m.x, "x", true));
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.strokeStyle = m.kind === "lr" ? "rgba(214,39,40,0.8)" : "rgba(120,120,120,0.6)";
            ctx.setLineDash(m.kind === "lr" ? [2 * devicePixelRatio, 3 * devicePixelRatio] : [6 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
          }
          ctx.restore();
        },
      },
    };
  }

  // shift-drag pans along x. uPlot's own mousedown (drag-to-zoom) is wrapped rather than
  // competed with: with Shift held it never sees the press, so no zoom box follows.
  function panOrZoom(u, targ, handler) {
    return (e) => {
      if (e.button !== 0) return;
      if (!e.shiftKey) {
        handler(e);
        return;
      }
      const [lo, hi] = [u.scales.x.min, u.scales.x.max];
      const startX = e.clientX;
      const perPx = (hi - lo) / Math.max(1, u.over.clientWidth);
      const move = (ev) => {
        const d = (ev.clientX - startX) * perPx;
        setZoom([lo - d, hi - d]);
      };
      // capture on window: the notebook stops some mouse events from bubbling
      const up = () => {
        window.removeEventListener("mousemove", move, true);
        window.removeEventListener("mouseup", up, true);
      };
      window.addEventListener("mousemove", move, true);
      window.addEventListener("mouseup", up, true);
    };
  }

  function resetPlugin() {
    return { hooks: { ready: (u) => u.over.addEventListener("dblclick", () => setZoom(null)) } };
  }

  function build() {
    for (const c of charts) c.u.destroy();
    charts = [];
    grid.textContent = "";
    const panels = model.get("panels");
    const series = model.get("series");
    const width = panelWidth(panels.length);
    for (const panel of panels) {
      const mine = series.filter((s) => s.panel === panel.id);
      const log = panel.log && model.get("log_y");
      const box = el("div", { class: "wb-chart-panel" });
      box.appendChild(el("div", { class: "wb-chart-title", text: panel.title || "" }));
      grid.appendChild(box);
      const opts = {
        width,
        height: model.get("height"),
        cursor: {
          sync: { key: syncKey },
          drag: { x: true, y: false, setScale: false },
          bind: { mousedown: panOrZoom },
        },
        select: { show: true },
        legend: { live: true },
        scales: {
          x: { time: false, range: () => xRange() },
          y: log
            ? { distr: 3 }
            : panel.y_range
              ? { range: panel.y_range }
              : { range: (u, lo, hi) => (lo == null ? [0, 1] : uPlot.rangeNum(lo, hi, 0.1, true)) },
        },
        axes: [
          { label: model.get("x_label"), labelSize: 18, size: 36 },
          { size: axisSize, values: (u, vals) => vals.map((v) => (v == null ? "" : fmt(v))) },
        ],
        series: [
          { label: model.get("x_label"), value: legendValue },
          ...mine.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: s.width ?? 1.5,
            dash: s.dash || undefined,
            alpha: s.alpha ?? 1,
            spanGaps: true,
            points: s.points ? { show: true, size: 5, fill: s.color } : { show: false },
            value: legendValue,
          })),
        ],
        hooks: {
          setSelect: [
            (u) => {
              if (u.select.width < 3) return;
              const lo = u.posToVal(u.select.left, "x");
              const hi = u.posToVal(u.select.left + u.select.width, "x");
              u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
              setZoom([lo, hi]);
            },
          ],
        },
        plugins: [markersPlugin(), resetPlugin()],
      };
      const u = new uPlot(opts, panelData(mine, log), box);
      charts.push({ panel, u, series: mine, log });
    }
    draw();
  }

  function panelWidth(n) {
    // as many columns of at least ~420 px as fit: 4 panels make a 2 x 2 grid in a notebook
    const total = Math.max(root.clientWidth || 900, 320);
    const cols = Math.min(Math.max(1, n), Math.max(1, Math.floor(total / 340)));
    return Math.max(Math.floor(total / cols) - 14, 260);
  }

  function panelData(mine, log) {
    const beta = Number(model.get("smoothing"));
    const tables = [];
    for (const s of mine) {
      const src = store.series[s.smooth || s.id] || [[], []];
      let ys = s.smooth ? ema(src[1], beta) : src[1];
      if (log) ys = ys.map((y) => (y != null && y > 0 ? y : null));
      tables.push([src[0], ys]);
    }
    // One x column for the panel: the union of every series' steps (validation runs at
    // fewer steps than training); a series has `undefined` where it has no point, which
    // uPlot joins across.
    return tables.length ? uPlot.join(tables) : [[]];
  }

  function draw() {
    frame = 0;
    for (const c of charts) {
      c.u.setData(panelData(c.series, c.log), true);
    }
    draws += 1;
    showRange();
    const primary = model.get("series")[0];
    const n = primary && store.series[primary.id] ? store.series[primary.id][0].length : 0;
    const lastX = store.lastX();
    root.dataset.points = String(n);
    root.dataset.draws = String(draws);
    root.dataset.lastX = lastX == null ? "" : String(lastX);
    empty.textContent = n || lastX != null ? "" : model.get("empty_text");
    empty.style.display = empty.textContent ? "" : "none";
    const log = (window.__workbenchChartLog = window.__workbenchChartLog || []);
    log.push({ t: Date.now(), x: lastX, n });
    if (log.length > LOG_LIMIT) log.splice(0, log.length - LOG_LIMIT);
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  // -- kernel traffic ---------------------------------------------------------------------
  function onMsg(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "reset") {
      awaiting = false;
      store.reset(msg.data, msg.markers, msg.x_max, msg.seq);
      schedule();
    } else if (msg.type === "append") {
      if (msg.seq !== store.seq + 1) {
        hello(); // missed something: ask for all, once, and drop appends until it comes
        return;
      }
      store.append(msg);
      schedule();
    }
  }
  let awaiting = false;
  function hello() {
    if (awaiting) return;
    awaiting = true;
    model.send({ type: "hello", seq: store.seq });
  }
  function onData() {
    // The synced snapshot can arrive after messages that are newer than it (a tick's trait
    // changes are sent when the tick ends): never go back to an older sequence number.
    if (model.get("data_seq") <= store.seq) return;
    store.reset(model.get("data"), model.get("markers"), model.get("x_max"), model.get("data_seq"));
    schedule();
  }
  function onXMax() {
    store.xMax = model.get("x_max");
    schedule();
  }
  function onControls() {
    syncControls();
    build();
  }
  function onRedraw() {
    syncControls();
    schedule();
  }
  function onWindow() {
    zoom = null;
    onRedraw();
  }
  // every model event this view listens to, registered here and removed on cleanup
  const listeners = [
    ["msg:custom", onMsg],
    ["change:data_seq", onData],
    ["change:x_max", onXMax],
    ["change:panels", onControls],
    ["change:series", onControls],
    ["change:log_y", onControls],
    ["change:height", onControls],
    ["change:smoothing", onRedraw],
    ["change:window", onWindow],
  ];
  for (const [event, handler] of listeners) model.on(event, handler);
  resetBtn.addEventListener("click", () => setZoom(null));

  let lastWidth = 0;
  const resize = new ResizeObserver(() => {
    const width = root.clientWidth;
    if (!width || Math.abs(width - lastWidth) < 8) return;
    lastWidth = width;
    const w = panelWidth(charts.length);
    for (const c of charts) c.u.setSize({ width: w, height: model.get("height") });
  });
  resize.observe(root);

  syncControls();
  build();
  hello();

  return () => {
    resize.disconnect();
    if (frame) cancelAnimationFrame(frame);
    for (const [event, handler] of listeners) model.off(event, handler);
    for (const c of charts) c.u.destroy();
  };
}

export default { render };
