import type { SchemaIssue } from "effect";
import { ConfigError } from "./errors.js";
import { FILE_SECTIONS } from "./schema.js";
import { sourcePhrase, type ValueSource } from "./sources.js";
import { closest } from "./suggest.js";

/**
 * Turns the first issue Effect Schema reports into one ConfigError sentence:
 * "<key> from <source> <what is wrong>; <what is expected>".
 */
export function issueToConfigError(
  issue: SchemaIssue.Issue,
  context: {
    readonly path: string;
    readonly sources: Readonly<Record<string, ValueSource>>;
    readonly layered: unknown;
  },
): ConfigError {
  const { at, leaf, message } = firstLeaf(issue, []);
  // The dotted key: the names up to a list index ("notify.include" for notify.include[2]).
  const index = at.findIndex((part) => typeof part === "number");
  const names = index === -1 ? at : at.slice(0, index);
  const key = names.length === 0 ? undefined : names.map(String).join(".");
  const shown = at.reduce<string>(
    (text, part, i) =>
      i === 0
        ? String(part)
        : typeof part === "number"
          ? `${text}[${part}]`
          : `${text}.${String(part)}`,
    "",
  );
  if (leaf._tag === "UnexpectedKey") {
    return new ConfigError({ key, message: unknownKeyMessage(at.map(String), context.path) });
  }
  const from = `from ${sourcePhrase(key === undefined ? undefined : context.sources[key], context.path)}`;
  let what: string;
  if (message !== undefined) {
    what = message;
  } else if (leaf._tag === "InvalidType") {
    what = `must be ${expected(leaf.ast._tag)}, not ${actual(valueAt(context.layered, at))}`;
  } else if (leaf._tag === "MissingKey") {
    what = "is missing";
  } else {
    what = "is not valid";
  }
  return new ConfigError({ key, message: `${shown || "the configuration"} ${from} ${what}` });
}

type Found = { at: PropertyKey[]; leaf: SchemaIssue.Issue; message: string | undefined };

function firstLeaf(issue: SchemaIssue.Issue, at: PropertyKey[]): Found {
  switch (issue._tag) {
    case "Composite":
      return firstLeaf(issue.issues[0], at);
    case "Pointer":
      return firstLeaf(issue.issue, [...at, ...issue.path]);
    case "Encoding":
      return firstLeaf(issue.issue, at);
    case "Filter": {
      const inner = firstLeaf(issue.issue, at);
      const fromFilter = issue.filter.annotations?.message;
      return {
        ...inner,
        message: inner.message ?? (typeof fromFilter === "string" ? fromFilter : undefined),
      };
    }
    case "InvalidValue": {
      const message = issue.annotations?.message;
      return { at, leaf: issue, message: typeof message === "string" ? message : undefined };
    }
    default:
      return { at, leaf: issue, message: undefined };
  }
}

function unknownKeyMessage(parts: readonly string[], path: string): string {
  const sections = [...FILE_SECTIONS.keys()];
  // A nested section ([source.rabbitmq]) reads as one name.
  const nested = sections.find(
    (s) => s.includes(".") && parts.join(".").startsWith(`${s}.`) && parts.length > 1,
  );
  const at = nested !== undefined ? [nested, ...parts.slice(nested.split(".").length)] : [...parts];
  const [first = "", second] = at;
  if (second === undefined) {
    // A top-level name: a misspelt section, or a key written outside its section.
    // "[sorce.rabbitmq]" arrives as the table "sorce": compare with "source" too.
    const outer = [...new Set(sections.map((s) => s.split(".")[0] ?? s))];
    const nearOuter = closest(first, outer);
    const asSection =
      closest(first, sections) ??
      (nearOuter === undefined ? undefined : sections.find((s) => s.startsWith(`${nearOuter}.`)));
    const owner = sections.find((s) => FILE_SECTIONS.get(s)?.includes(first));
    const hint =
      asSection !== undefined
        ? `; did you mean [${asSection}]?`
        : owner !== undefined
          ? `; did you mean ${owner}.${first}, written under [${owner}]?`
          : ".";
    return `unknown section or key "${first}" in file ${path}${hint} The sections are ${sections.map((s) => `[${s}]`).join(", ")}.`;
  }
  const known = FILE_SECTIONS.get(first) ?? [];
  const inner = sections.filter((s) => s.startsWith(`${first}.`));
  if (known.length === 0 && inner.length > 0) {
    // [source] itself holds no keys, only tables such as [source.rabbitmq].
    return `unknown key "${first}.${second}" in file ${path}. [${first}] holds only the tables ${inner.map((s) => `[${s}]`).join(", ")}.`;
  }
  const near = closest(second, known);
  let hint = ".";
  if (near !== undefined) {
    hint = `; did you mean ${first}.${near}?`;
  } else {
    const elsewhere = sections.find((s) => s !== first && FILE_SECTIONS.get(s)?.includes(second));
    if (elsewhere !== undefined)
      hint = `; did you mean ${elsewhere}.${second}, under [${elsewhere}]?`;
  }
  return `unknown key "${first}.${second}" in file ${path}${hint} The keys of [${first}] are ${known.join(", ")}.`;
}

function expected(astTag: string): string {
  switch (astTag) {
    case "String":
      return "a string";
    case "Number":
      return "a number";
    case "Boolean":
      return "true or false";
    case "Arrays":
      return 'a list of strings, such as ["*"]';
    case "Objects":
      return "a table";
    default:
      return "something else";
  }
}

function actual(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return "a date";
  if (value === null || value === undefined) return "nothing";
  if (typeof value === "object") return "a table";
  if (typeof value === "number" || typeof value === "bigint") return "a number";
  if (typeof value === "boolean") return "a boolean";
  return `a ${typeof value}`;
}

function valueAt(root: unknown, at: readonly PropertyKey[]): unknown {
  let value = root;
  for (const part of at) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}
