/**
 * What the warning test runs in a process of its own (a warning is printed
 * once per process): `store DB_PATH` opens and closes a state file as the
 * daemon does, `plain` loads node:sqlite with no filter; both then emit an
 * unrelated ExperimentalWarning, which must still be printed.
 */
import { openStore } from "../../../src/store/open.js";

const [mode, path] = process.argv.slice(2);
if (mode === "store" && path !== undefined) openStore(path).close();
else if (mode === "plain") process.getBuiltinModule("node:sqlite");
else throw new Error("usage: warning-child.ts store DB_PATH | plain");
process.emitWarning("another feature is experimental", "ExperimentalWarning");
