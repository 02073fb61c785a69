import { Data } from "effect";

/**
 * Why the durable store could not be opened. `message` is a sentence an
 * operator can act on: it names the file, what is wrong and what to do.
 *
 * - `unwritable`: the file or its directory cannot be created or opened.
 * - `not_a_database`: the file exists but is not SQLite.
 * - `locked`: another process (a second daemon) holds the file.
 * - `schema_too_new`: written by a newer presence-notify; this one must not guess.
 */
export type StoreErrorReason = "unwritable" | "not_a_database" | "locked" | "schema_too_new";

export class StoreError extends Data.TaggedError("StoreError")<{
  readonly reason: StoreErrorReason;
  readonly path: string;
  readonly message: string;
}> {}

export function isStoreError(u: unknown): u is StoreError {
  return u instanceof StoreError;
}

/** The SQLite result code of a better-sqlite3 error ("SQLITE_BUSY"), if any. */
export function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
