import { Schema } from "effect";

/**
 * One configuration key is one schema field annotated with `setting()`: its
 * value schema (the check and the decoding) and everything else the daemon
 * needs to know about it, its default, its environment variable, whether a
 * reload applies it and what it is for. Sections are `section()`s of such
 * fields, keyed by their `DaemonConfig` names; the names in the file come
 * from the annotations. Every table the rest of `src/config` uses (the key
 * list, the defaults, the variable names, the live keys, what
 * `check-config` prints) is read from here by `settingsOf`.
 */

/** How a value is written; says how an environment variable's text is turned into it. */
export type KeyKind = "string" | "list" | "integer" | "boolean";

export type EncodedValue = string | number | boolean | readonly string[];

interface Common {
  /** The key's name in its section of the file, when it is not the field's name. */
  readonly key?: string;
  /** The variable that overrides the file: PRESENCE_NOTIFY_<SECTION>_<KEY>. */
  readonly env: string;
  /** Another variable, below the file in precedence (PROTOCOL.md's WORLD_SERVER_USERNAME). */
  readonly fallbackEnv?: string;
  /**
   * A reload (SIGHUP) applies a new value to the running daemon. Left out:
   * the change is reported as needing a restart, so a new key is
   * restart-only until someone makes it live.
   */
  readonly live?: true;
  /** What the key is for, in a sentence. */
  readonly description: string;
  /** Holds a URL that may carry a password: shown without it (check-config, reload logs). */
  readonly redact?: "url-password";
}

/** A key with a default, written as in the file. */
interface Defaulted<E> extends Common {
  readonly default: E;
  readonly secret?: never;
}

/**
 * A secret (secret.ts): given inline, as `<key>_file` or by the environment,
 * never defaulted and never shown; "optional" ones are off when not given.
 */
interface SecretSetting extends Common {
  readonly secret: "required" | "optional";
  readonly default?: never;
}

export type SettingAnnotations<E = EncodedValue> = Defaulted<E> | SecretSetting;

declare const FILE_NAME: unique symbol;

/** A field whose name in the file is K (never: the field's own name). Type only. */
export type Named<S, K extends string> = S & { readonly [FILE_NAME]: K };

const ANNOTATION = "presenceNotifySetting";

export function setting<S extends Schema.Top, const K extends string = never>(
  schema: S,
  annotations: SettingAnnotations<S["Encoded"]> & { readonly key?: K },
): Named<S["Rebuild"], K> {
  return schema.pipe(
    Schema.annotateKey({ description: annotations.description, [ANNOTATION]: annotations }),
  ) as Named<S["Rebuild"], K>;
}

function annotationsOf(field: Schema.Constraint): SettingAnnotations | undefined {
  return Schema.resolveAnnotationsKey(field)?.[ANNOTATION] as SettingAnnotations | undefined;
}

type FileNames<F> = {
  readonly [P in keyof F]: F[P] extends { readonly [FILE_NAME]: infer K extends string }
    ? [K] extends [never]
      ? P
      : K
    : P;
};

/** A section of the file: a Struct keyed as in `DaemonConfig`, its keys renamed for the file. */
export function section<const F extends Schema.Struct.Fields>(fields: F) {
  const names: Record<string, string> = {};
  for (const [name, field] of Object.entries(fields)) {
    names[name] = annotationsOf(field)?.key ?? name;
  }
  return Schema.Struct(fields).pipe(Schema.encodeKeys(names as FileNames<F>));
}

/** The dotted keys of an encoded (file-form) configuration type: "notify.flap_window". */
export type FileKeys<E, Prefix extends string = ""> = {
  [K in keyof E & string]-?: NonNullable<E[K]> extends EncodedValue
    ? `${Prefix}${K}`
    : FileKeys<NonNullable<E[K]>, `${Prefix}${K}.`>;
}[keyof E & string];

/** One key, as `settingsOf` finds it in the schema. */
export interface SettingEntry {
  /** Dotted, as in the file: "notify.flap_window", "source.rabbitmq.url". */
  readonly key: string;
  /** Its table in the file ("source.rabbitmq") and its name there ("url"). */
  readonly section: string;
  readonly name: string;
  /** Where the decoded value sits in `DaemonConfig`: ["notify", "flapWindowMs"]. */
  readonly path: readonly string[];
  /** The field's schema: decodes and encodes this key's value alone. */
  readonly schema: Schema.Constraint;
  readonly kind: KeyKind;
  /** undefined: a field written without `setting()`, which `requireAnnotated` refuses. */
  readonly annotations: SettingAnnotations | undefined;
}

export type AnnotatedSetting = SettingEntry & { readonly annotations: SettingAnnotations };

/** Every key of `schema`, in the order written, nested tables included. */
export function settingsOf(schema: Schema.Constraint): SettingEntry[] {
  const entries: SettingEntry[] = [];
  const walk = (node: Schema.Constraint, filePath: readonly string[], path: readonly string[]) => {
    for (const [field, child] of Object.entries(fieldsOf(node) ?? {})) {
      const annotations = annotationsOf(child);
      const inner = fieldsOf(child);
      if (annotations === undefined && inner !== undefined) {
        walk(child, [...filePath, field], [...path, field]);
        continue;
      }
      const section = filePath.join(".");
      const name = annotations?.key ?? field;
      entries.push({
        key: `${section}.${name}`,
        section,
        name,
        path: [...path, field],
        schema: child,
        kind: kindOf(child),
        annotations,
      });
    }
  };
  walk(schema, [], []);
  return entries;
}

/** Throws, naming the key, if a field of the schema was written without `setting()`. */
export function requireAnnotated(entries: readonly SettingEntry[]): AnnotatedSetting[] {
  return entries.map((entry) => {
    if (entry.annotations === undefined) {
      throw new Error(
        `the configuration schema's key ${entry.key} has no setting() annotations (default or secret, env, description)`,
      );
    }
    return entry as AnnotatedSetting;
  });
}

/** A Struct's fields, or those of the Struct a `section()` decodes to. */
function fieldsOf(node: Schema.Constraint): Schema.Struct.Fields | undefined {
  const { fields, to } = node as { fields?: Schema.Struct.Fields; to?: { fields?: unknown } };
  if (fields !== undefined) return fields;
  return (to?.fields as Schema.Struct.Fields | undefined) ?? undefined;
}

function kindOf(field: Schema.Constraint): KeyKind {
  const ast = Schema.toEncoded(field).ast;
  switch (ast._tag) {
    case "String":
      return "string";
    case "Number":
      return "integer";
    case "Boolean":
      return "boolean";
    case "Arrays":
      return "list";
    default:
      throw new Error(`a configuration value is written as ${ast._tag}, which no file can hold`);
  }
}
