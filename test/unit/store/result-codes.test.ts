import { describe, expect, it } from "vitest";
import { sqliteCode } from "../../../src/store/errors.js";
import { primaryCodeName, resultCodeName } from "../../../src/store/result-codes.js";
import { rawDatabase } from "./temp-store.js";

describe("SQLite result codes by name", () => {
  it("names primary and extended codes as sqlite3.h does", () => {
    expect(resultCodeName(13)).toBe("SQLITE_FULL");
    expect(resultCodeName(5)).toBe("SQLITE_BUSY");
    expect(resultCodeName(8)).toBe("SQLITE_READONLY");
    expect(resultCodeName(26)).toBe("SQLITE_NOTADB");
    expect(resultCodeName(10 | (3 << 8))).toBe("SQLITE_IOERR_WRITE");
    expect(resultCodeName(19 | (8 << 8))).toBe("SQLITE_CONSTRAINT_UNIQUE");
    expect(resultCodeName(4 | (2 << 8))).toBe("SQLITE_ABORT_ROLLBACK");
  });

  it("names an extended code it does not know by its primary code", () => {
    expect(resultCodeName(13 | (7 << 8))).toBe("SQLITE_FULL");
    expect(resultCodeName(99)).toBe("SQLITE_UNKNOWN_99");
    expect(primaryCodeName("SQLITE_BUSY_TIMEOUT")).toBe("SQLITE_BUSY");
    expect(primaryCodeName("SQLITE_NOTADB")).toBe("SQLITE_NOTADB");
  });

  it("reads the code of a real node:sqlite error, and of an error that names it", () => {
    const db = rawDatabase(":memory:");
    db.exec("CREATE TABLE t (k TEXT PRIMARY KEY) STRICT");
    db.exec("INSERT INTO t VALUES ('a')");
    let err: unknown;
    try {
      db.exec("INSERT INTO t VALUES ('a')");
    } catch (e) {
      err = e;
    }
    db.close();
    expect(err).toMatchObject({ code: "ERR_SQLITE_ERROR" });
    expect(sqliteCode(err)).toBe("SQLITE_CONSTRAINT_PRIMARYKEY");
    expect(sqliteCode(Object.assign(new Error("full"), { code: "SQLITE_FULL" }))).toBe(
      "SQLITE_FULL",
    );
    expect(sqliteCode(new Error("plain"))).toBeUndefined();
  });
});
