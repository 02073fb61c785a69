/**
 * Node's built-in SQLite (`node:sqlite`), loaded on first use rather than by
 * an import, for two reasons:
 *
 * - Node 22 (and 24 before 24.15) prints "ExperimentalWarning: SQLite is an
 *   experimental feature and might change at any time" when the module first
 *   loads. An operator would read that line at every start of a durable
 *   daemon and wonder; the store relies only on what 22.16 and 24 share and
 *   both lines' tests cover. So exactly that warning, and only while this
 *   module loads it, is not printed; every other warning is.
 * - On a Node without `node:sqlite` (20) or without
 *   `DatabaseSync.isTransaction` (before 22.16; 23), durable mode says so in
 *   a sentence instead of failing on an undefined property; memory mode
 *   does not need the module at all.
 */
type NodeSqlite = typeof import("node:sqlite");

let loaded: NodeSqlite | undefined;

/** The module, or throws an Error whose message says which Node to run. */
export function nodeSqlite(): NodeSqlite {
  if (loaded !== undefined) return loaded;
  // getBuiltinModule is in Node 20.16 and later; older ones have no node:sqlite either.
  const mod = withoutSqliteWarning(() => process.getBuiltinModule?.("node:sqlite"));
  const unsupported = unsupportedRuntime(mod, process.version);
  if (unsupported !== undefined) throw new Error(unsupported);
  loaded = mod;
  return mod as NodeSqlite;
}

/** Why `mod` cannot back the store, or undefined when it can. */
export function unsupportedRuntime(
  mod: NodeSqlite | undefined,
  version: string,
): string | undefined {
  if (mod !== undefined) {
    // An accessor of each instance, not of the prototype: ask one.
    const probe = new mod.DatabaseSync(":memory:");
    const transactional = "isTransaction" in probe;
    probe.close();
    if (transactional) return undefined;
  }
  return (
    `durable mode needs Node.js 22.16 or later on the 22 line, or 24 or later ` +
    `(node:sqlite with DatabaseSync.isTransaction); this is Node.js ${version}. ` +
    `Run presence-notify with Node.js 22 or 24 (README, "Installing").`
  );
}

/** True for the one warning Node 22 (24 before 24.15) emits when node:sqlite first loads. */
export function isSqliteExperimentalWarning(warning: unknown, type: unknown): boolean {
  const text = warning instanceof Error ? warning.message : warning;
  const name = warning instanceof Error ? warning.name : type;
  return (
    name === "ExperimentalWarning" &&
    typeof text === "string" &&
    text.startsWith("SQLite is an experimental feature")
  );
}

function withoutSqliteWarning<T>(load: () => T): T {
  const emit = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    if (isSqliteExperimentalWarning(warning, rest[0])) return;
    Reflect.apply(emit, process, [warning, ...rest]);
  } as typeof process.emitWarning;
  try {
    return load();
  } finally {
    process.emitWarning = emit;
  }
}
