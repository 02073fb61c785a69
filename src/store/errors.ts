import { Data } from "effect";
import { resultCodeName } from "./result-codes.js";

/**
 * Why the durable store could not be opened. `message` is a sentence an
 * operator can act on: it names the file, what is wrong and what to do.
 *
 * - `unwritable`: the file or its directory cannot be created or opened.
 * - `not_a_database`: the file exists but is not SQLite.
 * - `locked`: another process (a second daemon) holds the file.
 * - `schema_too_new`: written by a newer presence-notify; this one must not guess.
 * - `unsupported_node`: this Node.js has no usable node:sqlite (src/store/node-sqlite.ts).
 */
export type StoreErrorReason =
  | "unwritable"
  | "not_a_database"
  | "locked"
  | "schema_too_new"
  | "unsupported_node";

export class StoreError extends Data.TaggedError("StoreError")<{
  readonly reason: StoreErrorReason;
  readonly path: string;
  readonly message: string;
}> {}

export function isStoreError(u: unknown): u is StoreError {
  return u instanceof StoreError;
}

/**
 * The SQLite result code of an error, by name ("SQLITE_FULL"), if any:
 * node:sqlite's errors carry it as a number (`errcode`; their `code` is
 * always "ERR_SQLITE_ERROR"); an error made elsewhere (the store's test
 * fault hook) may carry the name as `code`.
 */
export function sqliteCode(err: unknown): string | undefined {
  const { errcode, code } = (err ?? {}) as { errcode?: unknown; code?: unknown };
  if (typeof errcode === "number") return resultCodeName(errcode);
  return typeof code === "string" ? code : undefined;
}
