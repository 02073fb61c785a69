import { parseArgs } from "node:util";
import { ExportFailed, exportMachines } from "./machine-export.js";

export const EXPORT_USAGE = `usage: presence-notify export-machines --out DIR

Writes every state machine of presence-notify (session, connection, notifier)
to DIR as XState JSON configs, one file per machine, with a README.md on how
to draw them in Stately's editor or without access to stately.ai.
DIR is created if needed; existing files of the same names are replaced.

exit codes: 0 written, 64 usage, 73 DIR cannot be written`;

/** sysexits.h EX_CANTCREAT: "a (user specified) output file cannot be created". */
const CANT_CREATE = 73;

export function exportMachinesCommand(args: string[]): number {
  let values: { out?: string; help?: boolean };
  try {
    values = parseArgs({
      args,
      options: { out: { type: "string", short: "o" }, help: { type: "boolean", short: "h" } },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${EXPORT_USAGE}\n`);
    return 64;
  }
  if (values.help) {
    process.stdout.write(`${EXPORT_USAGE}\n`);
    return 0;
  }
  if (values.out === undefined || values.out === "") {
    process.stderr.write(`--out DIR is required\n${EXPORT_USAGE}\n`);
    return 64;
  }
  try {
    for (const path of exportMachines(values.out)) process.stdout.write(`${path}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ExportFailed)) throw err;
    process.stderr.write(`presence-notify: ${err.message}\n`);
    return CANT_CREATE;
  }
}
