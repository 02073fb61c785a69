/**
 * The process the crash test kills: offers notifications as fast as it can,
 * each with its session in one transaction, and reports each commit on
 * stdout ("offered I") before going on; shifts the head now and then
 * ("shifted TRACE"), as the notifier would after a send. Run with
 * `node --import tsx` (one process, so SIGKILL reaches the writer itself).
 */
import { writeSync } from "node:fs";
import { openStore } from "../../../src/store/open.js";
import { notification } from "./temp-store.js";

const path = process.argv[2];
if (path === undefined) throw new Error("usage: crash-child.ts DB_PATH");
const store = openStore(path, { outboxCapacity: 10_000_000 });
/**
 * A line on the pipe means the commit before it returned. The pipe is
 * non-blocking and the parent reads it asynchronously: retry until written.
 */
function report(line: string): void {
  let rest = Buffer.from(`${line}\n`);
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(1, rest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
    }
  }
}

report("ready");
for (let i = 0; i < 10_000_000; i++) {
  store.transaction(() => {
    store.outbox.offer(notification(i));
    store.sessions.available(`user${i}@example.com/res`);
  });
  report(`offered ${i}`);
  if (i % 3 === 0 && store.outbox.size > 10) {
    report(`shifted ${store.outbox.shift()?.trace}`);
  }
}
report("done");
