/**
 * The dashboard's browser script, as text inlined into the page (no build
 * step, no CDN). It listens to /events (the browser re-sends the Basic
 * credentials it asked for when the page loaded) and redraws from each
 * snapshot; every value goes in through textContent, never as HTML, because
 * JIDs come from users. Failures and expiries are red when they grew during
 * the last minute, amber when they happened since start; a lost stream
 * turns the banner red.
 */
export const DASHBOARD_SCRIPT = `
"use strict";
const $ = (id) => document.getElementById(id);
const history = [];
const WINDOW_MS = 60000;
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
function fill(id, ...nodes) { $(id).replaceChildren(...nodes); }
function num(n) { return Number(n || 0).toLocaleString("en"); }
function grewRecently(key, now, value, group) {
  const old = history.find((h) => now - h.at <= WINDOW_MS);
  return old !== undefined && value > (old[group || "n"][key] || 0);
}
function tile(id, value, level, note) {
  const node = $(id);
  node.querySelector(".value").textContent = num(value);
  node.querySelector(".note").textContent = note || "";
  node.dataset.level = level;
}
function renderStatus(s) {
  const banner = $("status");
  banner.dataset.level = s.status.ready ? "ok" : "bad";
  $("status-text").textContent = s.status.ready
    ? "READY: connected to the XMPP server, presence privilege granted"
    : "NOT READY: " + s.status.reason;
  $("updated").textContent = "updated " + new Date(s.at).toLocaleTimeString() + ", up " + s.uptimeS + " s";
}
function renderNumbers(s) {
  const now = Date.parse(s.at);
  const n = s.notifications;
  const unconfirmed = s.sessions.unconfirmed;
  tile("t-sessions", s.sessions.total, unconfirmed > 0 ? "warn" : "ok",
    unconfirmed > 0 ? num(unconfirmed) + " awaiting resync after a connection loss" : "");
  tile("t-users", s.sessions.users, "ok");
  tile("t-sent", n.sent, "ok");
  for (const key of ["failed", "expired", "refused_full"]) {
    const value = n[key] || 0;
    const recent = grewRecently(key, now, value);
    tile("t-" + key, value, recent ? "bad" : value > 0 ? "warn" : "ok", recent ? "in the last minute" : "");
  }
  const reconnects = s.counters.reconnects || 0;
  const recent = grewRecently("reconnects", now, reconnects, "counters");
  tile("t-reconnects", reconnects, recent ? "warn" : "ok", recent ? "in the last minute" : "");
  history.push({ at: now, n, counters: s.counters });
  while (history.length > 0 && now - history[0].at > WINDOW_MS) history.shift();
}
function renderQueues(s) {
  fill("queues", ...Object.entries(s.queues).map(([name, q]) => {
    const ratio = q.capacity > 0 ? q.size / q.capacity : 0;
    const level = ratio >= 0.8 ? "bad" : ratio >= 0.5 ? "warn" : "ok";
    // Through CSSOM: the page's CSP refuses style attributes.
    const meter = el("div", { class: "fill" });
    meter.style.width = Math.min(100, ratio * 100).toFixed(1) + "%";
    const bar = el("div", { class: "bar" }, meter);
    return el("div", { class: "queue", "data-queue": name, "data-level": level },
      el("span", { class: "qname" }, name), bar, el("span", { class: "qsize" }, num(q.size) + " / " + num(q.capacity)));
  }));
}
function treeNode(node) {
  const level = node.status !== "running" ? "bad" : node.restarts > 0 ? "warn" : "ok";
  const item = el("li", { "data-child": node.id, "data-level": level },
    el("span", { class: "dot" }), el("b", {}, node.id), " ", el("span", { class: "muted" }, node.type + ", " + node.status),
    " ", el("span", { class: "restarts" }, node.restarts + " restart" + (node.restarts === 1 ? "" : "s")));
  if (node.children && node.children.length > 0) item.append(el("ul", {}, ...node.children.map(treeNode)));
  return item;
}
function table(rows) {
  return rows.length === 0 ? el("p", { class: "muted" }, "none") :
    el("table", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c)))));
}
function renderSessions(s) {
  fill("by-show", table(Object.entries(s.sessions.byShow).map(([k, v]) => [k, num(v)])));
  fill("by-domain", table(Object.entries(s.sessions.byDomain).map(([k, v]) => [k, num(v)])));
}
function renderLatest(s) {
  fill("latest", ...s.latest.map((r) => el("tr", { "data-user": r.user, "data-presence": r.presence },
    el("td", {}, new Date(r.at).toLocaleTimeString()), el("td", { class: "jid" }, r.user),
    el("td", { class: r.presence }, r.presence), el("td", { class: "jid" }, r.to),
    el("td", { class: "num" }, r.latencyMs + " ms"))));
  $("latest-empty").hidden = s.latest.length > 0;
}
function render(s) {
  renderStatus(s); renderNumbers(s); renderQueues(s);
  fill("tree", el("ul", {}, treeNode(s.tree)));
  renderSessions(s); renderLatest(s);
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
}
const source = new EventSource("events");
source.addEventListener("snapshot", (e) => { $("stream").hidden = true; render(JSON.parse(e.data)); });
source.onerror = () => {
  // No word from the daemon is bad news too: say so in the banner.
  $("stream").hidden = false;
  $("status").dataset.level = "bad";
  $("status-text").textContent = "NO CONTACT: the daemon's admin listener does not answer";
};
`;
