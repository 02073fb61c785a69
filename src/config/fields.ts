import { Option, Schema, SchemaTransformation } from "effect";
import { formatDuration, parseDuration } from "./duration.js";
import { globProblem } from "./glob.js";
import { domainProblem, parseService } from "./host.js";
import { type ListenAddress, parseListen, urlOf } from "./listen.js";
import { localpartProblem } from "./localpart.js";
import { Secret } from "./redacted.js";

/**
 * The value schemas the configuration's keys are made of. Each carries the
 * semantic check, so a value is validated the same way whether it came from
 * the file, the environment or a default. Filters fail with a clause ("is
 * not a valid JID localpart: it contains a space"); `issue.ts` puts the key
 * and the source in front of it.
 */

export const checked = (problem: (value: string) => string | undefined) =>
  Schema.String.check(Schema.makeFilter((value: string) => problem(value)));

const whole = (problem: (n: number) => string | undefined) =>
  Schema.Number.check(Schema.makeFilter((n: number) => problem(n)));

/** ["a", "b", "c"] -> `"a", "b" or "c"` */
function alternatives(allowed: readonly string[]): string {
  const quoted = allowed.map((a) => JSON.stringify(a));
  return quoted.length < 2
    ? quoted.join("")
    : `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}`;
}

export const oneOf = <const L extends readonly string[]>(allowed: L) =>
  checked((value) =>
    allowed.includes(value)
      ? undefined
      : `must be ${alternatives(allowed)}; got ${JSON.stringify(value)}`,
  ).pipe(Schema.refine((value: string): value is L[number] => allowed.includes(value)));

/** Always `xmpp://host:port` once decoded (a `tcp://` address is rewritten), as `@xmpp/component` wants it. */
export const Service = checked((value) => {
  const parsed = parseService(value);
  return parsed.ok ? undefined : parsed.reason;
}).pipe(
  Schema.decodeTo(
    Schema.String,
    SchemaTransformation.transform({
      decode: (value: string) => value.replace(/^tcp:/, "xmpp:"),
      encode: (value: string) => value,
    }),
  ),
);

export const Domain = checked((value) => {
  const problem = domainProblem(value);
  return problem === undefined ? undefined : `is not a valid domain: ${problem}`;
});

export const ServerUser = checked((value) => {
  const problem = localpartProblem(value);
  return problem === undefined ? undefined : `is not a valid JID localpart: ${problem}`;
});

export const Glob = checked((value) => {
  const problem = globProblem(value);
  return problem === undefined ? undefined : `is not a usable glob: ${problem}`;
});

export const Include = Schema.Array(Glob).check(
  Schema.makeFilter((globs: readonly string[]) =>
    globs.length > 0
      ? undefined
      : 'is empty, so no presence would ever be notified; use ["*"] to notify about everyone',
  ),
);

export const Flag = Schema.Boolean;

/**
 * A duration ("500ms", "10s", "5m", "1h") decoded to ms, encoded in its
 * shortest exact form; with `off`, the word "off" is accepted too and is 0.
 */
function durationSchema(options: { off: boolean }) {
  const isOff = (value: string) => options.off && value === "off";
  return checked((value) => {
    if (isOff(value)) return undefined;
    const parsed = parseDuration(value);
    if (parsed.ok) return undefined;
    return options.off ? `${parsed.reason}, or "off"` : parsed.reason;
  }).pipe(
    Schema.decodeTo(
      Schema.Number,
      SchemaTransformation.transform({
        decode: (value: string) => {
          if (isOff(value)) return 0;
          const parsed = parseDuration(value);
          return parsed.ok ? parsed.ms : Number.NaN;
        },
        encode: (ms: number) => (options.off && ms === 0 ? "off" : formatDuration(ms)),
      }),
    ),
  );
}

export const Duration = durationSchema({ off: false });
export const OffOrDuration = durationSchema({ off: true });

export const BatchSize = whole((n) =>
  Number.isSafeInteger(n) && n >= 1 && n <= 1000
    ? undefined
    : `must be a whole number of notifications per message from 1 (off) to 1000; got ${n}`,
);

export const Capacity = whole((n) =>
  Number.isSafeInteger(n) && n > 0
    ? undefined
    : `must be a positive whole number, such as 100000; got ${n}`,
);

export const Rate = whole((n) =>
  Number.isSafeInteger(n) && n >= 0 && n <= 1_000_000
    ? undefined
    : `must be a whole number per second from 0 (off) to 1000000, such as 200; got ${n}`,
);

export const Prefetch = whole((n) =>
  Number.isSafeInteger(n) && n >= 1 && n <= 65_535
    ? undefined
    : `must be a whole number of unacknowledged messages from 1 to 65535, such as 100; got ${n}`,
);

export const StatePath = checked((value) =>
  value.trim() === "" ? "is empty; give the path of the state file" : undefined,
);

const ListenAddressSchema = Schema.Struct({ host: Schema.String, port: Schema.Number });

/** "host:port" decoded to the address; "off" to undefined. */
export const Listen = checked((value) => {
  const parsed = parseListen(value);
  return parsed.ok ? undefined : parsed.reason;
}).pipe(
  Schema.decodeTo(
    Schema.UndefinedOr(ListenAddressSchema),
    SchemaTransformation.transform({
      decode: (value: string): ListenAddress | undefined => {
        const parsed = parseListen(value);
        return parsed.ok ? parsed.address : undefined;
      },
      encode: (address: ListenAddress | undefined) =>
        address === undefined ? "off" : urlOf(address).slice("http://".length),
    }),
  ),
);

export const KeyId = checked((value) =>
  /^[A-Za-z0-9._-]{1,64}$/.test(value)
    ? undefined
    : `must be 1 to 64 letters, digits, ".", "_" or "-"; got ${JSON.stringify(value)}`,
);

/** `http(s)://` or "" for none. Never quote the value: it may hold a password. */
function httpUrl(example: string) {
  return checked((value) => {
    if (value === "") return undefined;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return `is not a URL; expected e.g. "${example}", or "" for none`;
    }
    return url.protocol === "http:" || url.protocol === "https:"
      ? undefined
      : `must be an http:// or https:// URL; got ${JSON.stringify(url.protocol)}`;
  });
}

export const ApiUrl = httpUrl("http://127.0.0.1:5281/api");

export const GraphqlUrlText = httpUrl("http://admin:password@127.0.0.1:5551/api/graphql");

export const AmqpUrlText = checked((value) => {
  if (value === "") return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Never quote the value: it may hold a password.
    return 'is not a URL; expected e.g. "amqp://user:password@127.0.0.1:5672/", or "" for none';
  }
  if (url.protocol !== "amqp:" && url.protocol !== "amqps:") {
    return `must be an amqp:// or amqps:// URL; got ${JSON.stringify(url.protocol)}`;
  }
  return url.hostname === "" ? "has no host" : undefined;
});

/** AMQP 0-9-1 short strings; RabbitMQ reserves the "amq." prefix. */
export const AmqpName = checked((value) => {
  if (value === "") return "is empty";
  if (Buffer.byteLength(value) > 255) return "is longer than 255 bytes";
  if (!/^[A-Za-z0-9_.:-]+$/.test(value)) {
    return `may hold only letters, digits, "-", "_", "." and ":"; got ${JSON.stringify(value)}`;
  }
  return value.startsWith("amq.")
    ? `starts with "amq.", which RabbitMQ reserves; got ${JSON.stringify(value)}`
    : undefined;
});

// Never quote the values below: they are the secrets.

export const ComponentSecretText = checked((value) => {
  if (value === "") return "is empty";
  if (/\p{Cc}/u.test(value)) return "contains a control character";
  return undefined;
});

/** It travels in an HTTP header. */
export const TokenText = checked((value) => {
  if (value === "") return "is empty; leave the token out for none";
  if (!/^[\x21-\x7e]+$/.test(value)) {
    return "must be printable ASCII without spaces (it is sent in an HTTP header)";
  }
  return undefined;
});

export const KeyText = checked((value) => {
  if (value.length < 32) {
    return "is shorter than 32 characters; use a random key, e.g. from `openssl rand -base64 32`";
  }
  if (/\p{Cc}/u.test(value)) return "contains a control character";
  return undefined;
});

const SecretSchema = Schema.instanceOf(Secret);

/** The text, checked by `text`, held as a Secret so that it cannot be printed by accident. */
export const secretOf = (text: Schema.Codec<string, string>) =>
  text.pipe(
    Schema.decodeTo(
      SecretSchema,
      SchemaTransformation.transform({
        decode: (value: string) => new Secret(value),
        encode: (secret: Secret) => secret.value(),
      }),
    ),
  );

/** A secret that may be given nowhere: the key is left out, and reads as undefined. */
export const optionalSecretOf = (text: Schema.Codec<string, string>) =>
  Schema.optionalKey(secretOf(text)).pipe(
    Schema.decodeTo(
      Schema.UndefinedOr(SecretSchema),
      SchemaTransformation.transformOptional({
        decode: (given: Option.Option<Secret>) => Option.some(Option.getOrUndefined(given)),
        encode: (held: Option.Option<Secret | undefined>) =>
          Option.flatMap(held, Option.fromUndefinedOr),
      }),
    ),
  );

/** A URL that may hold a password, "" for none: a Secret, undefined when "". */
export const secretUrlOf = (text: Schema.Codec<string, string>) =>
  text.pipe(
    Schema.decodeTo(
      Schema.UndefinedOr(SecretSchema),
      SchemaTransformation.transform({
        decode: (value: string) => (value === "" ? undefined : new Secret(value)),
        encode: (secret: Secret | undefined) => secret?.value() ?? "",
      }),
    ),
  );
