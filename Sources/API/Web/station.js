// The station page. It uses only the public /api/v1 (what the page can do, an integrator can do) and keeps the
// bearer token, when the station needs one, in this tab's sessionStorage only.
"use strict";

const state = { token: sessionStorage.getItem("inspectd.token") || "", view: "overview", camera: null,
                cameras: [], status: null, timers: [], objectURLs: new Map(), role: null, events: null, okCount: 0 };

// --- API ----------------------------------------------------------------------------------------------------

class APIError extends Error {
  constructor(status, body) {
    super(body && body.detail ? `${body.error}: ${body.detail}` : `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
  if (response.status === 401) showTokenForm(true);
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    throw new APIError(response.status, body);
  }
  return response;
}

const getJSON = async (path) => (await api(path)).json();

// An <img> cannot send an Authorization header: images are fetched and shown from object URLs, one per slot,
// the previous one revoked so an open page does not grow.
async function showImage(img, path) {
  const blob = await (await api(path)).blob();
  const url = URL.createObjectURL(blob);
  const old = state.objectURLs.get(img);
  img.src = url;
  state.objectURLs.set(img, url);
  if (old) URL.revokeObjectURL(old);
}

// --- helpers ------------------------------------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function definitionList(pairs) {
  const dl = el("dl");
  for (const [term, value] of pairs) dl.append(el("dt", {}, term), el("dd", {}, value === undefined || value === null ? "–" : String(value)));
  return dl;
}

const bytes = (n) => n === undefined || n === null ? "–" : n < 1 << 20 ? `${(n / 1024).toFixed(0)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
const percent = (part, whole) => whole > 0 ? `${(100 * part / whole).toFixed(1)}%` : "–";

function showError(error) {
  const p = document.getElementById("error");
  if (!error) { p.hidden = true; return; }
  p.textContent = error.message || String(error);
  p.hidden = false;
}

function showTokenForm(show) { document.getElementById("token-form").hidden = !show; }

// --- views --------------------------------------------------------------------------------------------------

function every(ms, fn) {
  let busy = false;
  const tick = async () => {
    // Never more than one request of a kind in flight (a slow station is not piled on), none from a hidden tab.
    if (busy || document.hidden) return;
    busy = true;
    try { await fn(); showError(null); } catch (e) { showError(e); } finally { busy = false; }
  };
  tick();
  state.timers.push(setInterval(tick, ms));
}

function clearTimers() { for (const t of state.timers) clearInterval(t); state.timers = []; }

async function refreshStatus() {
  const s = await getJSON("/api/v1/status");
  state.status = s;
  document.getElementById("title").textContent = `inspectd · ${s.line} / ${s.station}`;
  const health = document.getElementById("health");
  health.textContent = s.health;
  health.className = `badge ${s.health === "ok" ? "ok" : "failing"}`;
  const alarm = document.getElementById("alarm");
  alarm.hidden = s.health === "ok";
  alarm.textContent = s.health === "ok" ? "" : `Station ${s.health}${s.problems && s.problems.length ? ": " + s.problems.join("; ") : ""}`;
  if (state.view !== "overview") return;
  const mqtt = s.mqtt || {}, audit = s.audit || {}, model = s.model || {};
  const panel = document.getElementById("station");
  panel.replaceChildren(definitionList([
    ["model", `${model.name} (${(model.sha256 || "").slice(0, 12)}…, ${model.quantized ? "INT8" : "FP32"}, input ${(model.input_size || []).join("×")})`],
    ["classes", (model.classes || []).join(", ")],
    ["broker", mqtt.enabled ? (mqtt.connected ? "connected" : "not connected") : "MQTT off"],
    ["outbox backlog", mqtt.outbox_backlog],
    ["audit database", `${audit.path} (${bytes(audit.bytes)})`],
    ["version", `${s.version} (${s.commit})`],
    ["uptime", `${Math.round(s.uptime_seconds || 0)} s`],
  ]));
}

function cameraTile(camera) {
  const img = el("img", { class: "frame", alt: `latest frame of ${camera.id}` });
  const tile = el("article", { class: "tile", "data-camera": camera.id, onclick: () => { location.hash = `#camera/${encodeURIComponent(camera.id)}`; } },
    el("h3", {}, camera.id, el("span", { class: "state" })), img, el("div", { class: "figures" }));
  return tile;
}

function updateTile(tile, camera) {
  const state_ = tile.querySelector(".state");
  state_.textContent = camera.state;
  state_.className = `state state-${camera.state}`;
  tile.querySelector(".figures").textContent =
    `${camera.frames_processed} frames · NG ${percent(camera.ng_frames, camera.frames_processed)} · ` +
    `${camera.frames_dropped} dropped · queue ${camera.queue_depth}/${camera.queue_size}` +
    (camera.reason ? ` · ${camera.reason}` : "");
}

async function refreshCameras() {
  const cameras = await getJSON("/api/v1/cameras");
  state.cameras = cameras;
  const box = document.getElementById("cameras");
  const known = new Map([...box.children].map((t) => [t.dataset.camera, t]));
  for (const camera of cameras) {
    let tile = known.get(camera.id);
    if (!tile) { tile = cameraTile(camera); box.append(tile); }
    known.delete(camera.id);
    updateTile(tile, camera);
  }
  for (const tile of known.values()) tile.remove();
  for (const select of [document.getElementById("detect-camera"), document.querySelector("#inspection-filter select[name=camera]"),
                        document.querySelector("#trends-filter select[name=camera]")]) {
    const have = new Set([...select.options].map((o) => o.value));
    for (const camera of cameras) if (!have.has(camera.id)) select.append(el("option", { value: camera.id }, camera.id));
  }
}

// A camera with no judged frame yet (starting, or in trigger.mode software before its first trigger) has no
// frame.jpg: it is not asked for, so the browser logs no failed request every half second.
function hasFrame(id) {
  const camera = state.cameras.find((c) => c.id === id);
  return !camera || camera.frames_processed > 0;
}

async function refreshTileImages() {
  for (const tile of document.querySelectorAll("#cameras .tile")) {
    if (!hasFrame(tile.dataset.camera)) continue;
    try { await showImage(tile.querySelector("img"), `/api/v1/cameras/${encodeURIComponent(tile.dataset.camera)}/frame.jpg?annotated=1`); }
    catch (e) { if (e.status !== 503) throw e; }  // no frame yet
  }
}

async function refreshCamera() {
  const camera = await getJSON(`/api/v1/cameras/${encodeURIComponent(state.camera)}`);
  document.getElementById("camera-title").textContent = `${camera.id} (${camera.state})`;
  const source = camera.source || {};
  const rows = el("tbody");
  for (const t of camera.thresholds || []) {
    rows.append(el("tr", {}, el("td", {}, t.class + (t.adaptive ? " (adaptive)" : "")), el("td", {}, t.threshold.toFixed(3))));
  }
  document.getElementById("camera-details").replaceChildren(
    definitionList([
      ["source", `${source.type}${source.location ? " " + source.location : ""}`],
      ["configured", `${source.width && source.height ? `${source.width}×${source.height}` : "the files' own size"}, ${source.fps} fps`],
      ["delivering", camera.negotiated ? `${camera.negotiated.format} ${camera.negotiated.width}×${camera.negotiated.height}, ${camera.negotiated.fps} fps`
                                        + (camera.negotiated.driver_buffers ? `, ${camera.negotiated.driver_buffers} driver buffers` : "") : "not yet known"],
      ["frames", camera.frames_processed],
      ["NG", `${camera.ng_frames} (${percent(camera.ng_frames, camera.frames_processed)})`],
      ["dropped", camera.frames_dropped],
      ["state", camera.reason ? `${camera.state}: ${camera.reason}` : camera.state],
    ]),
    el("h3", {}, "Thresholds in force"),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "class"), el("th", {}, "confidence ≥"))), rows));
  showControls(camera);
  // Operator action: a camera in trigger.mode software inspects the part under it on request.
  document.getElementById("trigger-form").hidden = !(state.role === "operator" && camera.trigger === "software");
  if (camera.frames_processed === 0) return;  // no judged frame yet (see hasFrame)
  try { await showImage(document.getElementById("camera-frame"), `/api/v1/cameras/${encodeURIComponent(state.camera)}/frame.jpg?annotated=1`); }
  catch (e) { if (e.status !== 503) throw e; }  // no frame yet
}

// A V4L2 camera's controls as its driver reports them (read-only: they are set in the config's controls:).
function showControls(camera) {
  const panel = document.getElementById("camera-controls");
  const controls = camera.controls || [];
  panel.dataset.count = String(controls.length);
  if (!controls.length) {
    panel.replaceChildren(el("h3", {}, "Camera controls"), el("p", { class: "muted" }, camera.source && camera.source.type === "v4l2"
      ? "none reported (the camera is not open)" : `none: a ${camera.source ? camera.source.type : ""} source has no camera controls`));
    return;
  }
  const rows = el("tbody");
  for (const c of controls) {
    rows.append(el("tr", { "data-id": String(c.id) }, el("td", { class: c.inactive ? "inactive" : "" }, c.name + (c.inactive ? " (inactive)" : "")),
      el("td", {}, c.value === null ? "–" : String(c.value)), el("td", {}, String(c.minimum)), el("td", {}, String(c.maximum)),
      el("td", {}, String(c.step)), el("td", {}, String(c.default))));
  }
  panel.replaceChildren(el("h3", {}, "Camera controls ", el("span", { class: "muted" }, "(read-only; set them with the camera's controls: in the config)")),
    el("table", {}, el("thead", {}, el("tr", {}, ...["control", "value", "min", "max", "step", "default"].map((h) => el("th", {}, h)))), rows));
}

// The raw frame (no annotations) as the camera delivered it, saved under the name the station gives it
// (camera, capture time, sequence): fetched with the token, since a plain link cannot send it.
async function downloadFrame() {
  const result = document.getElementById("download-result");
  const response = await api(`/api/v1/cameras/${encodeURIComponent(state.camera)}/frame.jpg`);
  const blob = await response.blob();
  const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  const name = match ? match[1] : `${state.camera}.jpg`;
  const a = el("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  result.textContent = `${name} (${bytes(blob.size)})`;
  result.dataset.file = name; result.dataset.type = blob.type; result.dataset.bytes = String(blob.size);
}

// Adaptive thresholds (GET /api/v1/cameras/{id}/thresholds): a small chart per adaptive class over the last
// hour, each minute's value carried forward (a minute without a change kept the threshold), ending with the
// value in force now.
async function refreshThresholdCharts() {
  const id = encodeURIComponent(state.camera);
  const camera = await getJSON(`/api/v1/cameras/${id}`);
  const adaptive = (camera.thresholds || []).filter((t) => t.adaptive);
  const box = document.getElementById("threshold-charts");
  box.hidden = adaptive.length === 0;
  if (!adaptive.length) return;
  const h = await getJSON(`/api/v1/cameras/${id}/thresholds?window=1h`);
  const start = Date.parse(h.since), step = h.bucket_seconds * 1000;
  const n = Math.round((Date.parse(h.until) - start) / step);
  const labels = Array.from({ length: n }, (_, i) => new Date(start + i * step).toISOString().slice(11, 16));
  const now = Math.max(0, Math.min(n - 1, Math.floor((Date.now() - start) / step)));
  const charts = adaptive.map((t) => {
    const series = h.classes.find((c) => c.class === t.class);
    const changes = new Map((series ? series.points : []).map((p) => [Math.floor((Date.parse(p.at) - start) / step), p.threshold]));
    const values = Array(n).fill(null);
    let last = null;
    for (let i = 0; i <= now; i++) { if (changes.has(i)) last = changes.get(i); values[i] = last; }
    values[now] = t.threshold;
    const canvas = el("canvas", { "data-class": t.class, "data-changes": String(changes.size) });
    return { canvas, values, figure: el("figure", { class: "panel" }, el("figcaption", {}, `${t.class}: ${t.threshold.toFixed(3)} now`), canvas) };
  });
  document.getElementById("threshold-chart-list").replaceChildren(...charts.map((c) => c.figure));
  for (const c of charts) drawLine(c.canvas, labels, c.values, { max: 1, format: (v) => v.toFixed(2), dots: false });
}

// --- inspections (GET /api/v1/inspections, /inspections/{id}, /defects?format=csv) -------------------------------

// The filter form as API query parameters (datetime-local inputs are local time; the API takes RFC 3339).
function inspectionQuery() {
  const form = document.getElementById("inspection-filter");
  const q = new URLSearchParams();
  for (const key of ["since", "until"]) if (form[key].value) q.set(key, new Date(form[key].value).toISOString());
  for (const key of ["camera", "verdict", "class"]) if (form[key].value.trim()) q.set(key, form[key].value.trim());
  return q;
}

async function loadInspections(cursor) {
  const q = inspectionQuery();
  q.set("limit", "50");
  if (cursor) q.set("cursor", cursor);
  const page = await getJSON(`/api/v1/inspections?${q}`);
  const body = document.querySelector("#inspection-table tbody");
  if (!cursor) body.replaceChildren();
  for (const i of page.inspections) {
    body.append(el("tr", { "data-id": i.id, onclick: () => showInspection(i.id) },
      el("td", {}, String(i.id)), el("td", {}, i.captured_at), el("td", {}, i.camera),
      el("td", { class: i.verdict === "OK" ? "ok" : "ng" }, i.verdict), el("td", {}, String(i.defect_count)),
      el("td", {}, `${(i.latency_ms || 0).toFixed(0)} ms`)));
  }
  const more = document.getElementById("more");
  more.hidden = !page.next;
  more.onclick = () => loadInspections(page.next).catch(showError);
}

async function showInspection(id) {
  const i = await getJSON(`/api/v1/inspections/${id}`);
  const panel = document.getElementById("inspection-detail");
  const defects = el("tbody");
  for (const d of i.defects || []) {
    defects.append(el("tr", {}, el("td", {}, d.class), el("td", {}, d.confidence.toFixed(3)),
      el("td", {}, d.threshold.toFixed(3)), el("td", {}, d.box.map((v) => v.toFixed(0)).join(", "))));
  }
  const thresholds = (i.thresholds || []).map((t) => `${t.class} ${t.threshold.toFixed(3)}`).join(" · ");
  const img = el("img", { class: "snapshot", alt: "annotated snapshot", onclick: (e) => e.target.classList.toggle("zoomed") });
  panel.replaceChildren(
    el("h3", {}, `Inspection ${i.id}: ${i.camera} #${i.sequence}, ${i.verdict}`),
    el("div", { class: "detail-layout" },
      el("div", {}, img),
      el("div", {},
        definitionList([["captured", i.captured_at], ["latency", `${(i.latency_ms || 0).toFixed(1)} ms`],
                        ["model", (i.model_sha256 || "").slice(0, 12)], ["config", i.config_revision],
                        ["thresholds in force", thresholds || "–"], ["error", i.error]]),
        el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "class"), el("th", {}, "confidence"),
                                           el("th", {}, "threshold"), el("th", {}, "box"))), defects))));
  panel.hidden = false;
  const link = i.annotated_snapshot || i.snapshot;
  if (link) await showImage(img, link); else img.replaceWith(el("p", {}, "no snapshot kept for this inspection"));
}

async function exportCSV() {
  const q = inspectionQuery();
  q.set("format", "csv");
  const blob = await (await api(`/api/v1/defects?${q}`)).blob();
  const a = el("a", { href: URL.createObjectURL(blob), download: "defects.csv" });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// --- inspect an image (POST /api/v1/detect) ------------------------------------------------------------------

async function inspectImage(event) {
  event.preventDefault();
  const file = document.getElementById("detect-file").files[0];
  if (!file) { showError(new Error("choose a JPEG or PNG image first")); return; }
  const camera = document.getElementById("detect-camera").value;
  const type = file.type === "image/png" ? "image/png" : "image/jpeg";
  try {
    const answer = await (await api(`/api/v1/detect${camera ? "?camera=" + encodeURIComponent(camera) : ""}`,
      { method: "POST", headers: { "Content-Type": type }, body: file })).json();
    const bitmap = await createImageBitmap(file);
    const canvas = document.getElementById("detect-canvas");
    canvas.width = bitmap.width; canvas.height = bitmap.height;
    const g = canvas.getContext("2d");
    g.drawImage(bitmap, 0, 0);
    g.lineWidth = Math.max(2, bitmap.width / 400);
    g.font = `${Math.max(12, bitmap.width / 60)}px system-ui, sans-serif`;
    for (const d of answer.defects) {
      const [x1, y1, x2, y2] = d.box;
      g.strokeStyle = "#ff3b30"; g.strokeRect(x1, y1, x2 - x1, y2 - y1);
      g.fillStyle = "#ff3b30"; g.fillText(`${d.class_name} ${d.confidence.toFixed(2)}`, x1, Math.max(12, y1 - 4));
    }
    const summary = document.getElementById("detect-summary");
    summary.replaceChildren(el("span", { class: answer.verdict === "OK" ? "ok" : "ng" }, answer.verdict),
      ` · ${answer.defects.length} defects · ${answer.width}×${answer.height} · ${answer.latency_ms.total.toFixed(1)} ms`);
    showError(null);
  } catch (e) {
    showError(e.status === 403 ? new Error("inspecting an image needs an operator token; this one is a viewer token") : e);
  }
}


// POST /api/v1/cameras/{id}/trigger with the part id typed in; shows the part's verdict when its frame is judged.
async function triggerCamera(event) {
  event.preventDefault();
  const part = document.getElementById("trigger-part").value.trim();
  const result = document.getElementById("trigger-result");
  result.textContent = "inspecting…";
  try {
    const answer = await (await api(`/api/v1/cameras/${encodeURIComponent(state.camera)}/trigger`,
      { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ part_id: part }) })).json();
    result.replaceChildren(el("span", { class: answer.verdict === "OK" ? "ok" : "ng" }, answer.verdict),
      ` ${answer.part_id} · frame ${answer.sequence} · ${answer.defects.length} defects · ${answer.latency_ms.toFixed(0)} ms`
      + (answer.error ? ` · ${answer.error}` : ""));
    showError(null);
  } catch (e) {
    result.textContent = "";
    showError(e);
  }
}

// --- who am I (GET /api/v1/session) and the live feed (GET /api/v1/events) ---------------------------------------

// The caller's role decides what the page offers: a viewer token gets no "Inspect an image" (POST needs operator).
async function loadSession() {
  try {
    const session = await getJSON("/api/v1/session");
    state.role = session.role;
  } catch (e) {
    state.role = null;
    if (e.status !== 401) throw e;  // 401: api() has shown the login prompt
  }
  const canInspect = state.role === "operator";
  document.getElementById("detect-link").hidden = !canInspect;
  document.querySelector("#detect-form button[type=submit]").hidden = !canInspect;
  return state.role;
}

// New NG inspections and alarms as they are recorded. EventSource cannot send an Authorization header, so the
// token goes as ?access_token= (accepted for this endpoint only); on a reconnect EventSource sends Last-Event-ID
// itself and the station resumes from the audit database, so the list misses nothing.
function startLiveFeed() {
  if (state.events) state.events.close();
  const feed = document.getElementById("live-feed"), status = document.getElementById("live-state");
  const source = new EventSource("/api/v1/events" + (state.token ? `?access_token=${encodeURIComponent(state.token)}` : ""));
  state.events = source;
  // Items are put in at most once a second, newest first, at most 100 kept: a busy line sends an event per frame,
  // and laying the list out (and animating it) per event cost the browser more CPU than the rest of the page
  // (Scripts/bench-page). The last batch is marked `fresh` until the next one.
  let pending = [];
  const add = (item) => {
    item.dataset.received = String(Date.now());
    pending.push(item);
    if (pending.length > 100) pending = pending.slice(-100);
  };
  if (state.feedTimer) clearInterval(state.feedTimer);  // not in state.timers: the feed outlives view changes
  state.feedTimer = setInterval(() => {
    if (!pending.length) return;
    for (const old of feed.querySelectorAll("li.fresh")) old.classList.remove("fresh");
    for (const item of pending) item.classList.add("fresh");
    feed.prepend(...pending.reverse());
    pending = [];
    while (feed.children.length > 100) feed.lastElementChild.remove();
  }, 1000);
  source.addEventListener("open", () => { status.textContent = "· connected"; });
  source.addEventListener("error", () => { status.textContent = "· reconnecting…"; });
  source.addEventListener("inspection", (event) => {
    const i = JSON.parse(event.data);
    const classes = (i.defects || []).map((d) => d.class).join(", ");
    add(el("li", { "data-id": i.id,
                   onclick: () => { location.hash = "#inspections"; setTimeout(() => showInspection(i.id).catch(showError), 0); } },
      el("span", { class: i.verdict === "OK" ? "ok" : "ng" }, i.verdict), ` ${i.captured_at.slice(11, 23)} · ${i.camera} #${i.sequence}`,
      classes ? ` · ${classes}` : "", i.error ? ` · ${i.error}` : ""));
  });
  source.addEventListener("alarm", (event) => {
    const a = JSON.parse(event.data);
    add(el("li", { class: "alarm", "data-alarm": a.rule_id }, el("strong", {}, "ALARM"),
      ` ${a.timestamp.slice(11, 23)} · ${a.camera} · ${a.rule_id}: ${a.message}`));
  });
  source.addEventListener("camera_status", (event) => {
    const c = JSON.parse(event.data);
    if (c.state === "down") add(el("li", { class: "alarm" }, el("strong", {}, "CAMERA DOWN"), ` ${c.timestamp.slice(11, 23)} · ${c.camera}: ${c.reason}`));
  });
  source.addEventListener("ok", (event) => {
    state.okCount += JSON.parse(event.data).count || 0;
    document.getElementById("live-ok").textContent = `${state.okCount} OK frames since this page opened`;
  });
}

async function start() {
  if (await loadSession()) startLiveFeed();
  route();
}

// --- trends (GET /api/v1/trends), drawn on <canvas> without libraries --------------------------------------------

const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

// Sizes the canvas to its box (sharp on high-DPI screens), draws the grid, the y labels and every few x labels.
function chartFrame(canvas, labels, max, format) {
  const ratio = window.devicePixelRatio || 1, width = canvas.clientWidth || 640, height = canvas.clientHeight || 220;
  canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio);
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  g.font = "11px system-ui, sans-serif"; g.lineWidth = 1;
  const plot = { x: 44, y: 8, w: width - 52, h: height - 28 };
  for (let k = 0; k <= 4; k++) {
    const y = plot.y + plot.h - plot.h * k / 4;
    g.strokeStyle = "#d0d4d9"; g.beginPath(); g.moveTo(plot.x, y); g.lineTo(plot.x + plot.w, y); g.stroke();
    g.fillStyle = "#5f6670"; g.fillText(format(max * k / 4), 2, y + 4);
  }
  // As many x labels as fit side by side at this width (a tablet's narrow chart showed them overlapping), at most 8.
  const labelWidth = Math.max(0, ...labels.map((l) => g.measureText(l).width)) + 10;
  const every = Math.ceil(labels.length / Math.max(1, Math.min(8, Math.floor(plot.w / labelWidth))));
  labels.forEach((label, i) => {
    const x = plot.x + plot.w * i / labels.length;
    if (i % every === 0 && x + labelWidth - 10 <= width) g.fillText(label, x, height - 5);
  });
  return { g, plot, slot: plot.w / Math.max(1, labels.length) };
}

// Bars per bucket: side by side, or stacked (defects per class).
function drawBars(canvas, labels, series, stacked) {
  const totals = labels.map((_, i) => series.reduce((sum, s) => stacked ? sum + s.values[i] : Math.max(sum, s.values[i]), 0));
  const max = Math.max(1, ...totals);
  const { g, plot, slot } = chartFrame(canvas, labels, max, (v) => String(Math.round(v)));
  labels.forEach((_, i) => {
    let base = 0;
    series.forEach((s, k) => {
      const h = plot.h * s.values[i] / max;
      const width = stacked ? slot * 0.8 : slot * 0.8 / series.length;
      const x = plot.x + slot * i + slot * 0.1 + (stacked ? 0 : width * k);
      g.fillStyle = s.color;
      g.fillRect(x, plot.y + plot.h - base - h, width, h);
      if (stacked) base += h;
    });
  });
}

// A line through the buckets that have a value (null: none, no point: a rate of nothing is not 0 %); by default
// a rate, scaled to its largest value.
function drawLine(canvas, labels, values, options = {}) {
  const max = options.max || Math.max(0.01, ...values.filter((v) => v !== null));
  const format = options.format || ((v) => `${(100 * v).toFixed(v * 100 < 10 ? 1 : 0)}%`);
  const { g, plot, slot } = chartFrame(canvas, labels, max, format);
  g.strokeStyle = "#b3261e"; g.fillStyle = "#b3261e"; g.lineWidth = 2;
  const at = (v, i) => [plot.x + slot * (i + 0.5), plot.y + plot.h - plot.h * v / max];
  g.beginPath();
  values.forEach((v, i) => {
    if (v === null) return;
    const [x, y] = at(v, i);
    if (i === 0 || values[i - 1] === null) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.stroke();
  if (options.dots === false) return;
  values.forEach((v, i) => { if (v === null) return; const [x, y] = at(v, i); g.beginPath(); g.arc(x, y, 2.5, 0, 2 * Math.PI); g.fill(); });
}

async function refreshTrends() {
  const form = document.getElementById("trends-filter");
  const q = new URLSearchParams({ window: form.window.value });
  if (form.camera.value) q.set("camera", form.camera.value);
  const t = await getJSON(`/api/v1/trends?${q}`);
  const labels = t.buckets.map((b) => b.start.slice(11, 16));
  drawBars(document.getElementById("chart-volume"), labels, [
    { color: "#9aa5b1", values: t.buckets.map((b) => b.inspections) },
    { color: "#b3261e", values: t.buckets.map((b) => b.ng_frames) }], false);
  drawLine(document.getElementById("chart-rate"), labels, t.buckets.map((b) => b.inspections ? b.ng_rate : null));
  const classes = [...new Set(t.buckets.flatMap((b) => b.defects.map((d) => d.class)))].sort();
  const series = classes.map((c, k) => ({ name: c, color: palette[k % palette.length],
    values: t.buckets.map((b) => (b.defects.find((d) => d.class === c) || { count: 0 }).count) }));
  drawBars(document.getElementById("chart-classes"), labels, series, true);
  document.getElementById("chart-legend").replaceChildren(...(series.length ? series.map((s) =>
    el("span", {}, el("i", { style: `background:${s.color}` }), s.name)) : ["no defects in this window"]));
  document.getElementById("trends-range").textContent = `${t.since.slice(0, 16).replace("T", " ")} – ${t.until.slice(11, 16)} UTC, ${t.bucket_seconds / 60} min buckets`;
  for (const id of ["chart-volume", "chart-rate", "chart-classes"]) document.getElementById(id).dataset.buckets = String(t.buckets.length);
}

// --- routing ------------------------------------------------------------------------------------------------

function route() {
  clearTimers();
  const [view, ...rest] = (location.hash.slice(1) || "overview").split("/");
  state.view = ["overview", "camera", "inspections", "trends", "detect"].includes(view) ? view : "overview";
  if (state.view === "detect" && state.role === "viewer") state.view = "overview";
  state.camera = state.view === "camera" ? decodeURIComponent(rest.join("/")) : null;
  document.getElementById("download-result").textContent = "";
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== state.view;
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.dataset.view === state.view);
  every(2000, refreshStatus);
  if (state.view === "overview") { every(1000, refreshCameras); every(500, refreshTileImages); }
  if (state.view === "camera") { every(500, refreshCamera); every(30000, refreshThresholdCharts); }
  if (state.view === "detect") every(5000, refreshCameras);
  if (state.view === "trends") { every(5000, refreshCameras); every(30000, refreshTrends); }
  if (state.view === "inspections") {
    every(5000, refreshCameras);
    loadInspections().catch(showError);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("token-button").addEventListener("click", () => showTokenForm(document.getElementById("token-form").hidden));
  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = document.getElementById("token-input").value.trim();
    sessionStorage.setItem("inspectd.token", state.token);
    showTokenForm(false);
    start().catch(showError);
  });
  document.getElementById("detect-form").addEventListener("submit", inspectImage);
  document.getElementById("trigger-form").addEventListener("submit", triggerCamera);
  document.getElementById("download-frame").addEventListener("click", () => downloadFrame().catch(showError));
  document.getElementById("inspection-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    document.getElementById("inspection-detail").hidden = true;
    loadInspections().catch(showError);
  });
  document.getElementById("export-csv").addEventListener("click", () => exportCSV().catch(showError));
  document.getElementById("trends-filter").addEventListener("change", () => refreshTrends().catch(showError));
  window.addEventListener("hashchange", route);
  start().catch(showError);
});
