// The live view page: tiles (MJPEG), live stats, the event feed and the controls, all through
// the JSON API. The token comes in the page address's fragment (#token=...), which the browser
// never sends to a server; it is sent as a Bearer header on every call that changes something.
"use strict";

const token = new URLSearchParams(location.hash.slice(1)).get("token") ||
  sessionStorage.getItem("vasdk-token") || "";
if (token) sessionStorage.setItem("vasdk-token", token);
const tiles = new Map();  // channel id -> {el, img, svg, rules, size}
const statusEl = document.getElementById("status");

function withToken(path) {
  return token ? path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : path;
}

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (token) opts.headers["Authorization"] = "Bearer " + token;
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(method === "GET" ? withToken(path) : path, opts);
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || r.status + " " + r.statusText);
  return data;
}

function say(text) { statusEl.textContent = text; }

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

const SVG = "http://www.w3.org/2000/svg";
function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

// --- tiles ---------------------------------------------------------------------------------

function addTile(ch) {
  const img = el("img", { alt: "live view of " + ch.id, "data-channel": ch.id });
  const svg = svgEl("svg", { preserveAspectRatio: "none", "data-channel": ch.id });
  const remove = el("button", { type: "button", "data-remove": ch.id }, "Remove");
  const stats = el("div", { class: "stats" });
  const tile = el("div", { class: "tile", id: "tile-" + ch.id },
    el("div", { class: "head" }, el("strong", {}, ch.id), remove),
    stats,
    el("div", { class: "view" }, img, svg),
    el("div", { class: "rtsp" }, ch.rtsp ? "RTSP out: " + ch.rtsp : ""));
  const t = { el: tile, img, svg, stats, rules: ch.rules, size: null, dragging: null };
  tiles.set(ch.id, t);
  img.addEventListener("load", () => sizeTile(ch.id));
  img.src = withToken(ch.mjpeg);
  remove.addEventListener("click", async () => {
    remove.disabled = true;
    try {
      await api("DELETE", "/api/channels/" + encodeURIComponent(ch.id));
      say("removed " + ch.id);
      dropTile(ch.id);
    } catch (e) { say("remove " + ch.id + ": " + e.message); remove.disabled = false; }
  });
  document.getElementById("tiles").append(tile);
}

// The overlay takes the picture's own pixel size once the first picture has come (an MJPEG
// image may not fire "load" per picture, so the stats loop checks too).
function sizeTile(id) {
  const t = tiles.get(id);
  if (!t || !t.img.naturalWidth || (t.size && t.size[0] === t.img.naturalWidth)) return;
  t.size = [t.img.naturalWidth, t.img.naturalHeight];
  t.svg.setAttribute("viewBox", `0 0 ${t.size[0]} ${t.size[1]}`);
  drawShapes(id);
}

function dropTile(id) {
  const t = tiles.get(id);
  if (!t) return;
  t.img.removeAttribute("src");  // closes the MJPEG stream
  t.el.remove();
  tiles.delete(id);
}

function geometry(rule) {
  if (rule.type === "line_crossing" && Array.isArray(rule.line)) return { key: "line", pts: rule.line, closed: false };
  if (Array.isArray(rule.polygon)) return { key: "polygon", pts: rule.polygon, closed: true };
  return null;
}

// Rule lines and zones over the picture; their handles can be dragged, and letting go applies
// the changed rules through PUT /api/channels/{id}/rules (the pipeline's update_rules).
function drawShapes(id) {
  const t = tiles.get(id);
  if (!t || !t.size) return;
  t.svg.replaceChildren();
  const r = Math.max(6, t.size[0] / 60);
  (t.rules.rules || []).forEach((rule, ri) => {
    const g = geometry(rule);
    if (!g) return;
    const cls = g.closed ? "zone" : "line";
    const points = g.pts.map((p) => p.join(",")).join(" ");
    t.svg.append(svgEl(g.closed ? "polygon" : "polyline", { class: "shape " + cls, points }));
    g.pts.forEach((p, pi) => {
      const h = svgEl("circle", { class: "handle " + cls, cx: p[0], cy: p[1], r,
                                  "data-rule": rule.id, "data-point": pi });
      h.addEventListener("pointerdown", (ev) => startDrag(id, ri, g.key, pi, ev));
      t.svg.append(h);
    });
  });
}

function toImage(t, ev) {
  const box = t.svg.getBoundingClientRect();
  const x = Math.round(((ev.clientX - box.left) / box.width) * t.size[0]);
  const y = Math.round(((ev.clientY - box.top) / box.height) * t.size[1]);
  return [Math.min(Math.max(x, 0), t.size[0] - 1), Math.min(Math.max(y, 0), t.size[1] - 1)];
}

function startDrag(id, ri, key, pi, ev) {
  const t = tiles.get(id);
  ev.preventDefault();
  t.svg.setPointerCapture(ev.pointerId);
  const move = (e) => {
    t.rules.rules[ri][key][pi] = toImage(t, e);
    drawShapes(id);
  };
  const up = async (e) => {
    t.svg.removeEventListener("pointermove", move);
    t.svg.removeEventListener("pointerup", up);
    t.rules.rules[ri][key][pi] = toImage(t, e);
    drawShapes(id);
    try {
      t.rules = await api("PUT", "/api/channels/" + encodeURIComponent(id) + "/rules", t.rules);
      say("rule " + t.rules.rules[ri].id + " of " + id + " updated");
    } catch (err) {
      say("rule update refused: " + err.message);
      t.rules = await api("GET", "/api/channels/" + encodeURIComponent(id) + "/rules");
    }
    drawShapes(id);
  };
  t.svg.addEventListener("pointermove", move);
  t.svg.addEventListener("pointerup", up);
}

async function refreshChannels() {
  const { channels } = await api("GET", "/api/channels");
  const seen = new Set();
  for (const ch of channels) {
    seen.add(ch.id);
    if (!tiles.has(ch.id)) addTile(ch);
  }
  for (const id of [...tiles.keys()]) if (!seen.has(id)) dropTile(id);
}

async function refreshStats() {
  const st = await api("GET", "/api/stats");
  let fps = 0;
  for (const c of st.channels) {
    fps += c.fps;
    const t = tiles.get(c.id);
    if (!t) continue;
    sizeTile(c.id);
    const counts = Object.entries(c.rule_counts).map(([k, v]) => k + " " + v).join(", ");
    t.stats.textContent = `${c.state} · ${c.fps.toFixed(1)} fps · p99 ${c.latency_p99_ms.toFixed(0)} ms · ` +
      `dropped ${c.dropped} · reconnects ${c.reconnects}` + (counts ? " · " + counts : "");
    t.stats.dataset.counts = JSON.stringify(c.rule_counts);
  }
  document.getElementById("summary").textContent =
    `${st.channels.length} channels · ${fps.toFixed(1)} fps · ${st.inference.backend}`;
}

// --- events --------------------------------------------------------------------------------

const SHOWN = new Set(["rule", "best_shot", "source", "channel", "error"]);
function showEvent(e) {
  if (!SHOWN.has(e.kind)) return;
  const list = document.getElementById("events");
  const what = [e.channel, e.kind, e.subkind, e.rule_id, e.track_id >= 0 ? "#" + e.track_id : ""]
    .filter(Boolean).join(" ");
  const item = el("li", { "data-kind": e.kind });
  if (e.image) {
    const img = el("img", { alt: "best shot" });
    img.src = withToken(e.image);
    item.append(img);
  }
  item.append(el("span", {}, new Date(e.wall_us / 1000).toLocaleTimeString() + " " + what +
    (e.kind === "source" && e.message ? ": " + e.message : "")));
  list.prepend(item);
  while (list.children.length > 100) list.lastChild.remove();
}

function listen() {
  const src = new EventSource(withToken("/api/events"));
  src.addEventListener("pipeline", (m) => showEvent(JSON.parse(m.data)));
}

// --- controls ------------------------------------------------------------------------------

document.getElementById("add-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const id = document.getElementById("add-id").value.trim();
  const url = document.getElementById("add-url").value.trim();
  try {
    await api("POST", "/api/channels", { id, url });
    say("added " + id);
    ev.target.reset();
    await refreshChannels();
  } catch (e) { say("add " + id + ": " + e.message); }
});

async function loop(fn, ms) {
  for (;;) {
    try { await fn(); } catch (e) { say(e.message); }
    await new Promise((r) => setTimeout(r, ms));
  }
}

loop(refreshChannels, 3000);
loop(refreshStats, 1000);
listen();
