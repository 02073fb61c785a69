import { createHash } from "node:crypto";
import { DASHBOARD_SCRIPT } from "./dashboard-client.js";

/**
 * The dashboard: one static page, its style and script
 * inlined, that fills itself from /events. Read top to bottom it answers, in
 * order: is the daemon ready (the banner, green or red)? how much is it
 * tracking and sending (big numbers; failures red when they grew in the
 * last minute)? is anything piling up (queue bars, red past 80 %)? has
 * anything crashed (the supervision tree with restart counts)? and what did
 * it send last.
 *
 * The Content-Security-Policy allows exactly this style and this script, by
 * hash (CSP Level 3, "hash-source"), and connections to this origin only.
 */

const STYLE = `
:root { --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --line: #d0d7de; --muted: #57606a; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #1f2328; background: #f6f8fa; }
header { padding: 14px 20px; color: #fff; display: flex; justify-content: space-between; align-items: baseline; }
header[data-level="ok"] { background: var(--ok); }
header[data-level="bad"] { background: var(--bad); }
header[data-level="pending"] { background: var(--muted); }
#status-text { font-size: 20px; font-weight: 600; }
#stream { background: var(--bad); color: #fff; padding: 6px 20px; }
main { padding: 16px 20px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 8px; }
.tiles { display: grid; gap: 10px; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); }
.tile { border-left: 6px solid var(--ok); padding: 4px 10px; }
.tile .value { font-size: 32px; font-weight: 700; font-variant-numeric: tabular-nums; }
.tile .label { color: var(--muted); }
.tile .note { font-size: 12px; min-height: 1.4em; color: var(--muted); }
[data-level="warn"].tile, li[data-level="warn"] > .dot { border-color: var(--warn); background: var(--warn); }
[data-level="bad"].tile, li[data-level="bad"] > .dot { border-color: var(--bad); background: var(--bad); }
.tile[data-level] { background: none; }
.tile[data-level="warn"] .value { color: var(--warn); }
.tile[data-level="bad"] .value { color: var(--bad); }
.queue { display: grid; grid-template-columns: 90px 1fr 150px; gap: 8px; align-items: center; margin: 6px 0; }
.bar { height: 14px; background: #eaeef2; border-radius: 7px; overflow: hidden; }
.fill { height: 100%; background: var(--ok); }
.queue[data-level="warn"] .fill { background: var(--warn); }
.queue[data-level="bad"] .fill { background: var(--bad); }
.qsize, .num { text-align: right; font-variant-numeric: tabular-nums; }
ul { list-style: none; margin: 0; padding-left: 18px; }
#tree > ul { padding-left: 0; }
li { margin: 3px 0; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; background: var(--ok); margin-right: 6px; }
li[data-level="warn"] > .restarts, li[data-level="bad"] > .restarts { font-weight: 700; color: var(--bad); }
.muted, .restarts { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
td, th { padding: 3px 6px; border-bottom: 1px solid var(--line); text-align: left; }
.jid { font-family: ui-monospace, monospace; word-break: break-all; }
td.available { color: var(--ok); font-weight: 600; }
td.unavailable { color: var(--muted); font-weight: 600; }
`;

const BODY = `
<header id="status" data-level="pending"><span id="status-text">waiting for the daemon...</span><span id="updated"></span></header>
<div id="stream" hidden>the live stream from the daemon is interrupted; retrying</div>
<main>
  <section class="wide"><h2>At a glance</h2><div class="tiles">
    <div class="tile" id="t-sessions"><div class="value">-</div><div class="label">sessions online</div><div class="note"></div></div>
    <div class="tile" id="t-users"><div class="value">-</div><div class="label">users online</div><div class="note"></div></div>
    <div class="tile" id="t-sent"><div class="value">-</div><div class="label">notifications sent</div><div class="note"></div></div>
    <div class="tile" id="t-failed"><div class="value">-</div><div class="label">sends failed</div><div class="note"></div></div>
    <div class="tile" id="t-expired"><div class="value">-</div><div class="label">expired (dropped)</div><div class="note"></div></div>
    <div class="tile" id="t-refused_full"><div class="value">-</div><div class="label">refused, queue full</div><div class="note"></div></div>
    <div class="tile" id="t-reconnects"><div class="value">-</div><div class="label">reconnects</div><div class="note"></div></div>
  </div></section>
  <section><h2>Queues</h2><div id="queues"></div></section>
  <section><h2>Supervision tree</h2><div id="tree"></div></section>
  <section><h2>Sessions by show</h2><div id="by-show"></div></section>
  <section><h2>Sessions by domain</h2><div id="by-domain"></div></section>
  <section class="wide"><h2>Latest notifications</h2>
    <table><thead><tr><th>sent</th><th>session</th><th>presence</th><th>to</th><th class="num">latency</th></tr></thead>
    <tbody id="latest"></tbody></table><p id="latest-empty" class="muted">none yet</p></section>
</main>`;

const hash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>presence-notify</title>
<style>${STYLE}</style></head>
<body>${BODY}
<script>${DASHBOARD_SCRIPT}</script>
</body></html>
`;

export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${hash(DASHBOARD_SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
