import diagnostics from "node:diagnostics_channel";
import { type Logger, symbols } from "pino";
import { NESTED, scrubbingOf, scrubField } from "./log.js";

/**
 * `logger.info(fields, msg)` for a flat object of fields, without pino's
 * generic path and with the same bytes: pino's own level prefix, time,
 * bindings and line end, the daemon's scrub field by field (src/telemetry/log.ts),
 * and strings escaped as pino 10 escapes them. About a third of the
 * transition line's cost was that path (the formatter's copy, a serializer
 * and stringifier lookup per key, the key's own escaping); the daemon writes
 * one per session transition.
 *
 * Anything this writer does not do exactly as pino does goes to
 * `logger.info` instead: a logger not made by `createLogger`, a mixin, a
 * hook, a nested key, a message prefix, redaction, a stream that wants
 * metadata (multistream), a diagnostics subscriber, a serializer for one of
 * the keys (`err` has one), or a value that is not a string, number,
 * boolean or undefined (pino's `stringify` writes those). The
 * property test (test/unit/log-line-writer.test.ts) compares the bytes with
 * pino's for any fields, hostile JIDs included. Returns whether it wrote the
 * line itself (false: pino did, or the level is off).
 */
export function infoLine(logger: Logger, fields: Record<string, unknown>, msg: string): boolean {
  if (!logger.isLevelEnabled("info")) return false;
  const plan = planOf(logger);
  const line = plan && !asJsonTraced.hasSubscribers ? lineOf(plan, logger, fields, msg) : undefined;
  if (plan === null || line === undefined) {
    logger.info(fields, msg);
    return false;
  }
  plan.stream.write(line);
  return true;
}

const INFO = 30;

// Pino's internals the line is made of (all but the stream are per logger).
interface Internals {
  [key: symbol]: unknown;
}

interface Plan {
  readonly stream: { write(line: string): void };
  readonly prefix: string;
  readonly end: string;
  readonly time: () => string;
  readonly messageKey: string;
  readonly errorKey: string;
  readonly serializers: Record<string, unknown>;
  readonly jids: ((jid: string) => string) | undefined;
}

// Not in pino's typings, but in its symbols (lib/symbols.js).
const MSG_PREFIX = (symbols as unknown as Record<string, symbol>).msgPrefixSym ?? Symbol("none");

// pino's own diagnostics channel around each line's serialisation.
const asJsonTraced = diagnostics.tracingChannel("pino_asJson");
const plans = new WeakMap<Logger, Plan | null>();

/** What a line of this logger is made of, or null when only pino can write it. */
function planOf(logger: Logger): Plan | null {
  const known = plans.get(logger);
  if (known !== undefined) return known;
  const p = logger as unknown as Internals;
  const formatters = p[symbols.formattersSym] as { log?: unknown };
  const hooks = p[symbols.hooksSym] as { logMethod?: unknown; streamWrite?: unknown };
  const stream = p[symbols.streamSym] as Plan["stream"] & Record<symbol, unknown>;
  const lsCache = p[symbols.lsCacheSym] as Record<number, string>;
  const stringifiers = p[symbols.stringifiersSym] as Record<string | symbol, unknown>;
  const scrubbing = scrubbingOf(formatters.log);
  const plain =
    scrubbing !== undefined &&
    p[symbols.mixinSym] === undefined &&
    !hooks.logMethod &&
    !hooks.streamWrite &&
    !p[symbols.nestedKeySym] &&
    typeof p[MSG_PREFIX] !== "string" &&
    typeof p[symbols.timeSym] === "function" &&
    typeof p[symbols.endSym] === "string" &&
    typeof p[symbols.chindingsSym] === "string" &&
    stream[symbols.needsMetadataGsym] !== true &&
    Object.keys(stringifiers).length === 0 &&
    !stringifiers[symbols.wildcardFirstSym] &&
    typeof lsCache[INFO] === "string";
  const plan: Plan | null = plain
    ? {
        stream,
        prefix: lsCache[INFO] as string,
        end: p[symbols.endSym] as string,
        time: p[symbols.timeSym] as () => string,
        messageKey: p[symbols.messageKeySym] as string,
        errorKey: p[symbols.errorKeySym] as string,
        serializers: p[symbols.serializersSym] as Record<string, unknown>,
        jids: scrubbing.jids,
      }
    : null;
  plans.set(logger, plan);
  return plan;
}

/** The line pino would write, or undefined for fields it must write itself. */
function lineOf(
  plan: Plan,
  logger: Logger,
  fields: Record<string, unknown>,
  msg: string,
): string | undefined {
  // pino's log method maps these to their serialisable form first.
  if (
    (fields.method && fields.headers && fields.socket) ||
    typeof fields.setHeader === "function"
  ) {
    return undefined;
  }
  // The time first, as pino reads it before serialising.
  const p = logger as unknown as Internals;
  let line = plan.prefix + plan.time.call(logger) + (p[symbols.chindingsSym] as string);
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue;
    // The daemon's scrub of this field first, as pino's formatter does it
    // (a secret key is censored even when undefined); a container is pino's.
    const value = scrubField(key, fields[key], plan.jids);
    if (value === undefined) continue;
    if (value === NESTED) return undefined;
    if (plan.serializers[key] !== undefined || key === plan.errorKey) return undefined;
    let text: string;
    switch (typeof value) {
      case "undefined":
      case "function":
        continue;
      case "string":
        text = asString(value);
        break;
      case "number":
        text = Number.isFinite(value) ? String(value) : "null";
        break;
      case "boolean":
        text = String(value);
        break;
      default:
        return undefined;
    }
    line += `,${asString(key)}:${text}`;
  }
  return `${line},"${plan.messageKey}":${asString(msg)}${plan.end}`;
}

const [nodeMajor = 0] = process.versions.node.split(".").map(Number);

/**
 * A JSON string as pino 10 writes one (lib/tools.js): JSON.stringify from
 * Node 25; before it, a loop that escapes only `"` and `\` and leaves the
 * rest as it is (lone surrogates, U+2028, DEL), unless the string is over
 * 100 characters or holds a control character, which JSON.stringify takes.
 */
export const asString: (s: string) => string =
  nodeMajor >= 25 ? (s) => JSON.stringify(s) : pinoAsString;

function pinoAsString(str: string): string {
  const l = str.length;
  if (l > 100) return JSON.stringify(str);
  let result = "";
  let last = 0;
  let found = false;
  let point = 255;
  for (let i = 0; i < l && point >= 32; i++) {
    point = str.charCodeAt(i);
    if (point === 34 || point === 92) {
      result += `${str.slice(last, i)}\\`;
      last = i;
      found = true;
    }
  }
  result = found ? result + str.slice(last) : str;
  return point < 32 ? JSON.stringify(str) : `"${result}"`;
}
