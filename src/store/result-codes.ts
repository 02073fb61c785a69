/**
 * SQLite's result codes by name. node:sqlite throws errors with the extended
 * code as a number (`errcode`, 13 for a full disk, 2067 for a UNIQUE
 * violation); the logs, `/readyz` and the store's own checks speak of
 * "SQLITE_FULL", as SQLite's documentation does
 * (https://sqlite.org/rescode.html).
 */

const PRIMARY: Record<number, string> = {
  0: "OK",
  1: "ERROR",
  2: "INTERNAL",
  3: "PERM",
  4: "ABORT",
  5: "BUSY",
  6: "LOCKED",
  7: "NOMEM",
  8: "READONLY",
  9: "INTERRUPT",
  10: "IOERR",
  11: "CORRUPT",
  12: "NOTFOUND",
  13: "FULL",
  14: "CANTOPEN",
  15: "PROTOCOL",
  16: "EMPTY",
  17: "SCHEMA",
  18: "TOOBIG",
  19: "CONSTRAINT",
  20: "MISMATCH",
  21: "MISUSE",
  22: "NOLFS",
  23: "AUTH",
  24: "FORMAT",
  25: "RANGE",
  26: "NOTADB",
  27: "NOTICE",
  28: "WARNING",
  100: "ROW",
  101: "DONE",
};

/** Extended codes are `primary | (n << 8)`: entry n - 1 of the primary code's list. */
const EXTENDED: Record<number, readonly string[]> = {
  0: ["LOAD_PERMANENTLY", "SYMLINK"],
  1: ["MISSING_COLLSEQ", "RETRY", "SNAPSHOT", "RESERVESIZE", "KEY", "UNABLE"],
  4: ["", "ROLLBACK"],
  5: ["RECOVERY", "SNAPSHOT", "TIMEOUT"],
  6: ["SHAREDCACHE", "VTAB"],
  8: ["RECOVERY", "CANTLOCK", "ROLLBACK", "DBMOVED", "CANTINIT", "DIRECTORY"],
  10: [
    ...["READ", "SHORT_READ", "WRITE", "FSYNC", "DIR_FSYNC", "TRUNCATE", "FSTAT", "UNLOCK"],
    ...["RDLOCK", "DELETE", "BLOCKED", "NOMEM", "ACCESS", "CHECKRESERVEDLOCK", "LOCK"],
    ...["CLOSE", "DIR_CLOSE", "SHMOPEN", "SHMSIZE", "SHMLOCK", "SHMMAP", "SEEK"],
    ...["DELETE_NOENT", "MMAP", "GETTEMPPATH", "CONVPATH", "VNODE", "AUTH", "BEGIN_ATOMIC"],
    ...["COMMIT_ATOMIC", "ROLLBACK_ATOMIC", "DATA", "CORRUPTFS", "IN_PAGE", "BADKEY", "CODEC"],
  ],
  11: ["VTAB", "SEQUENCE", "INDEX"],
  14: ["NOTEMPDIR", "ISDIR", "FULLPATH", "CONVPATH", "DIRTYWAL", "SYMLINK"],
  19: [
    ...["CHECK", "COMMITHOOK", "FOREIGNKEY", "FUNCTION", "NOTNULL", "PRIMARYKEY"],
    ...["TRIGGER", "UNIQUE", "VTAB", "ROWID", "PINNED", "DATATYPE"],
  ],
  23: ["USER"],
  27: ["RECOVER_WAL", "RECOVER_ROLLBACK", "RBU"],
  28: ["AUTOINDEX"],
};

/**
 * "SQLITE_FULL" for 13, "SQLITE_CONSTRAINT_UNIQUE" for 2067. An extended
 * code this table does not know (a newer SQLite's) is named by its primary
 * code, so a check on the primary name still holds.
 */
export function resultCodeName(code: number): string {
  const primary = code & 0xff;
  const name = PRIMARY[primary];
  if (name === undefined) return `SQLITE_UNKNOWN_${code}`;
  const extended = EXTENDED[primary]?.[(code >> 8) - 1];
  return extended ? `SQLITE_${name}_${extended}` : `SQLITE_${name}`;
}

/** The primary code's name: "SQLITE_BUSY" for SQLITE_BUSY_TIMEOUT too. */
export function primaryCodeName(name: string): string {
  const [, primary] = /^(SQLITE_[A-Z]+)/.exec(name) ?? [];
  return primary ?? name;
}
