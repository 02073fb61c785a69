import { performance } from "node:perf_hooks";
import { SimulatedClock } from "xstate";
import { SnapshotPages } from "../src/outbox/snapshot-pages.js";
import { NotifiedView } from "../src/outbox/snapshot-view.js";
import { newNotification } from "../src/protocol/notification.js";

/**
 * What `notify.snapshot` costs at scale, in this process (run with
 * `node --expose-gc --import tsx bench/snapshot-memory.ts [sessions]`): the
 * heap the notified view adds per session (beyond the notifications' own
 * JID strings, which the view shares), the time one freeze (the copy a
 * first page makes) takes, and the time to page through all of it.
 */
const sessions = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");

const jids = Array.from({ length: sessions }, (_, i) => `user${i}@example.com/res${i % 7}`);
const notes = jids.map((full) =>
  newNotification(
    { full, bare: full.slice(0, full.indexOf("/")), domain: "example.com" },
    "available",
    "world",
    0,
  ),
);
gc();
gc();
const before = process.memoryUsage().heapUsed;
const view = new NotifiedView(1);
for (const n of notes) view.entered(view.stamp(n));
gc();
const viewBytes = process.memoryUsage().heapUsed - before;

const clock = new SimulatedClock();
const pages = new SnapshotPages({ clock, show: (j) => j });
let t = performance.now();
const first = pages.first("example.com", view.sessions("example.com"), view.position, 1_000);
const freezeMs = performance.now() - t;
gc();
const frozenBytes = process.memoryUsage().heapUsed - before - viewBytes;
t = performance.now();
let read = "items" in first ? first.items.length : 0;
let last = "last" in first ? first.last : undefined;
while (last !== undefined) {
  const page = pages.after("example.com", last, 1_000);
  if (!("items" in page) || page.items.length === 0) break;
  read += page.items.length;
  last = page.last;
}
const pageAllMs = performance.now() - t;
console.log(
  JSON.stringify({
    sessions,
    viewBytesPerSession: Math.round(viewBytes / sessions),
    freezeMs: Math.round(freezeMs),
    frozenBytesPerSession: Math.round(frozenBytes / sessions),
    pages: Math.ceil(read / 1_000),
    pageAllMs: Math.round(pageAllMs),
    read,
  }),
);
// The notifications (and so their JIDs) live on to here, as the daemon's do.
if (notes.length !== sessions) throw new Error("unreachable");
