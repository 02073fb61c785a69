import { parseArgs } from "node:util";
import type { StatelyInspectionEvent } from "@statelyai/inspect";
import WebSocket from "ws";
import { DEFAULT_INSPECT_ADDRESS, urlOf } from "./loopback-address.js";

/**
 * `presence-notify inspect-tail`: the live stream of `start --inspect` as
 * text, one line per machine actor registered or moved, for a terminal
 * without a browser or without access to stately.ai (the Stately Inspector
 * page embeds https://stately.ai/inspect).
 */

export const TAIL_USAGE = `usage: presence-notify inspect-tail [--url ws://127.0.0.1:8088]

Prints what a daemon started with --inspect streams, one line per machine
actor (supervisor children, one per session full JID) registered or changing
state, until the daemon stops or Ctrl-C:

  + connection                 connecting
  connection                   online          <- xstate.done.actor.0.connection.connecting
  alice@example.com/phone      {"available":{"show":"online","sync":"confirmed"}}  <- presence.available

exit codes: 0 the daemon closed the stream, 64 usage, 69 cannot connect`;

/** sysexits.h EX_UNAVAILABLE. */
const UNAVAILABLE = 69;

/** The line for one inspection event, or undefined when it is not about a machine's state. */
export function tailLine(
  event: StatelyInspectionEvent,
  names: Map<string, string>,
): string | undefined {
  const snapshot = event.type === "@xstate.event" ? undefined : event.snapshot;
  const value: unknown = snapshot === undefined ? undefined : Reflect.get(snapshot, "value");
  if (event.type === "@xstate.actor") {
    names.set(event.sessionId, event.name);
    return value === undefined ? undefined : `+ ${event.name.padEnd(26)} ${show(value)}`;
  }
  if (event.type !== "@xstate.snapshot" || value === undefined) return undefined;
  const name = names.get(event.sessionId) ?? event.sessionId;
  const cause = event.event?.type ? `  <- ${event.event.type}` : "";
  return `${name.padEnd(28)} ${show(value).padEnd(15)}${cause}`;
}

const show = (value: unknown): string =>
  typeof value === "string" ? value : JSON.stringify(value);

export async function inspectTailCommand(args: string[]): Promise<number> {
  let url: string;
  try {
    const { values } = parseArgs({
      args,
      options: { url: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(`${TAIL_USAGE}\n`);
      return 0;
    }
    url = values.url ?? urlOf("ws", DEFAULT_INSPECT_ADDRESS);
    if (!/^wss?:\/\//.test(url)) throw new Error(`--url ${url}: expected ws://HOST:PORT`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${TAIL_USAGE}\n`);
    return 64;
  }
  const names = new Map<string, string>();
  const ws = new WebSocket(url);
  let opened = false;
  const stop = () => ws.close();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return new Promise((resolve) => {
    ws.on("open", () => {
      opened = true;
    });
    ws.on("message", (data) => {
      const line = tailLine(JSON.parse(String(data)) as StatelyInspectionEvent, names);
      if (line !== undefined) process.stdout.write(`${line}\n`);
    });
    ws.on("error", (err) => {
      if (opened) return;
      process.stderr.write(
        `presence-notify: cannot connect to the inspector at ${url} (${err.message}); ` +
          "is the daemon running with --inspect?\n",
      );
      resolve(UNAVAILABLE);
    });
    ws.on("close", () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      if (opened) resolve(0);
    });
  });
}
