import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Connector } from "../client/connection.js";
import {
  type ClientSettings,
  InvalidClientOptions,
  resolveClientOptions,
} from "../client/options.js";
import { ClientRuntime } from "../client/runtime.js";
import type { PresenceChange, PresenceClientOptions, SnapshotEvent } from "../client/types.js";
import { xmppConnector } from "../client/xmpp-connector.js";
import { describeReadError } from "../config/secret.js";
import type { Clock } from "../otp/clock.js";
import { WATCH_USAGE } from "./cli-help.js";

/**
 * `presence-notify watch`: the client library (presence-notify/client) as a
 * command. It logs in as a server user and writes JSON lines to stdout: a
 * snapshot line, then one line per change, and a new snapshot line whenever
 * the client takes a new snapshot (a reconnect, a resync signal), so the
 * current view is always the last snapshot line plus the change lines after
 * it (README, "presence-notify watch"). Sentences about the connection go to
 * stderr.
 */

/** sysexits.h */
const EXIT = { ok: 0, usage: 64, noperm: 77, config: 78 } as const;

export const ENV = {
  service: "PRESENCE_NOTIFY_WATCH_SERVICE",
  jid: "PRESENCE_NOTIFY_WATCH_JID",
  component: "PRESENCE_NOTIFY_WATCH_COMPONENT",
  password: "PRESENCE_NOTIFY_WATCH_PASSWORD",
  signingKey: "PRESENCE_NOTIFY_SIGNING_KEY",
  signingKeyId: "PRESENCE_NOTIFY_SIGNING_KEY_ID",
} as const;

export interface WatchDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Resolves when the command should stop (SIGINT, SIGTERM). */
  readonly stopped: Promise<unknown>;
  readonly readFile?: (path: string) => string;
  /** The connection maker; default @xmpp/client. */
  readonly connector?: (settings: ClientSettings) => Connector;
  readonly clock?: Clock;
}

class Refusal extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export async function watchCommand(args: string[], deps?: WatchDeps): Promise<number> {
  const d = deps ?? processDeps();
  let settings: ClientSettings;
  try {
    settings = resolveClientOptions(watchOptions(args, d));
  } catch (err) {
    if (err instanceof Refusal || err instanceof InvalidClientOptions) {
      const code = err instanceof Refusal ? err.code : EXIT.usage;
      d.stderr(
        `presence-notify watch: ${err.message}\n${code === EXIT.usage ? `${WATCH_USAGE}\n` : ""}`,
      );
      return code;
    }
    throw err;
  }
  return follow(settings, d);
}

/** The flags and the environment, as the client's options; a Refusal says what is wrong. */
function watchOptions(args: string[], d: WatchDeps): PresenceClientOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        service: { type: "string" },
        jid: { type: "string" },
        component: { type: "string" },
        "password-file": { type: "string" },
        resource: { type: "string" },
        "signing-key-file": { type: "string" },
        "signing-key-id": { type: "string" },
        from: { type: "string" },
        "page-size": { type: "string" },
        sasl: { type: "string" },
        "durable-seq": { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new Refusal((err as Error).message, EXIT.usage);
  }
  const flag = (name: string) => values[name] as string | undefined;
  const required = (name: string, env: string) => {
    const value = flag(name) ?? d.env[env];
    if (value === undefined || value === "") {
      throw new Refusal(`--${name} is required (or set ${env})`, EXIT.usage);
    }
    return value;
  };
  const service = required("service", ENV.service);
  const jid = required("jid", ENV.jid);
  const component = required("component", ENV.component);
  const password = secret(d, "password-file", flag("password-file"), ENV.password, "the password");
  if (password === undefined) {
    throw new Refusal(`give --password-file FILE or set ${ENV.password}`, EXIT.usage);
  }
  const key = secret(d, "signing-key-file", flag("signing-key-file"), ENV.signingKey, "the key");
  const keyId = flag("signing-key-id") ?? d.env[ENV.signingKeyId] ?? "k1";
  const pageSize = flag("page-size");
  if (pageSize !== undefined && !/^[0-9]+$/.test(pageSize)) {
    throw new Refusal(`--page-size takes a whole number (got "${pageSize}")`, EXIT.usage);
  }
  const from = flag("from") ?? "component";
  if (from !== "component" && from !== "user") {
    throw new Refusal(`--from takes component or user (got "${from}")`, EXIT.usage);
  }
  const sasl = flag("sasl");
  const resource = flag("resource");
  return {
    service,
    jid,
    component,
    password,
    from,
    durableSeq: values["durable-seq"] === true,
    ...(resource === undefined ? {} : { resource }),
    ...(sasl === undefined ? {} : { sasl }),
    ...(pageSize === undefined ? {} : { pageSize: Number(pageSize) }),
    ...(key === undefined ? {} : { signingKeys: new Map([[keyId, key]]) }),
    ...(d.clock ? { clock: d.clock } : {}),
  };
}

/** A secret from its file (one trailing line break removed) or, failing that, its variable. */
function secret(d: WatchDeps, flag: string, file: string | undefined, env: string, what: string) {
  if (file === undefined) return d.env[env] === "" ? undefined : d.env[env];
  let text: string;
  try {
    text = (d.readFile ?? ((p) => readFileSync(p, "utf8")))(file).replace(/[\r\n]+$/, "");
  } catch (err) {
    throw new Refusal(`--${flag} ${file} cannot be read: ${describeReadError(err)}`, EXIT.config);
  }
  if (text === "")
    throw new Refusal(`--${flag} ${file} is empty: it should hold ${what}`, EXIT.config);
  return text;
}

async function follow(settings: ClientSettings, d: WatchDeps): Promise<number> {
  const client = new ClientRuntime(settings, (d.connector ?? xmppConnector)(settings));
  const clock = settings.clock;
  const line = (value: Record<string, unknown>) =>
    d.stdout(`${JSON.stringify({ ...value, at: new Date(clock.now()).toISOString() })}\n`);
  let wroteSnapshot = false;
  let connected = false;
  client.on("snapshot", (s) => {
    wroteSnapshot = true;
    line(snapshotLine(s));
  });
  client.on("change", (c) => {
    // A snapshot's differences are in its own line already; before the first
    // snapshot line, every change is in that line's sessions.
    if (c.cause === "notification" && wroteSnapshot) line(changeLine(c));
  });
  client.on("warning", (w) => d.stderr(`presence-notify watch: ${w}\n`));
  client.on("health", (h) => {
    if (h.phase === "unspliced" && !wroteSnapshot) {
      // No snapshot to be had: the view starts empty, and says it is not whole.
      wroteSnapshot = true;
      line({
        type: "snapshot",
        trigger: "connect",
        complete: false,
        position: null,
        sessions: [...client.online()],
      });
    }
    if (h.connected === connected) return;
    connected = h.connected;
    d.stderr(
      connected
        ? `presence-notify watch: logged in as ${settings.bare}/${settings.resource}\n`
        : `presence-notify watch: not connected (${h.lastError ?? "connecting"}); retrying\n`,
    );
  });
  const fatal = new Promise<Error>((resolve) => client.on("fatal", resolve));
  client.start();
  const end = await Promise.race([d.stopped.then(() => undefined), fatal]);
  await client.stop();
  if (end === undefined) return EXIT.ok;
  d.stderr(`presence-notify watch: ${end.message}\n`);
  return EXIT.noperm;
}

function snapshotLine(s: SnapshotEvent): Record<string, unknown> {
  return {
    type: "snapshot",
    trigger: s.trigger,
    ...(s.reason === undefined ? {} : { reason: s.reason }),
    complete: true,
    position: s.position,
    ...(s.epoch === undefined ? {} : { epoch: s.epoch }),
    sessions: s.sessions,
  };
}

function changeLine(c: PresenceChange): Record<string, unknown> {
  const { cause: _cause, ...fields } = c;
  return { type: "change", ...fields };
}

function processDeps(): WatchDeps {
  const stopped = new Promise((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
    // A closed pipe (`watch | head`) is the reader going away: stop.
    process.stdout.on("error", resolve);
  });
  return {
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stopped,
  };
}
