import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AnyStateMachine } from "xstate";
import { connectionMachine } from "../machines/connection.js";
import { notifierMachine } from "../machines/notifier.js";
import { sessionMachine } from "../machines/session.js";

/**
 * `presence-notify export-machines --out DIR`: every machine of
 * `src/machines` as the JSON config `createMachine()` takes, so it can be
 * drawn by Stately's editor or any tool that reads XState configs, without
 * this repository or a running daemon.
 */

/** Every machine in `src/machines`, by file. `session-table.ts` is derived from `session`. */
export const MACHINES: readonly { file: string; machine: AnyStateMachine; about: string }[] = [
  {
    file: "session",
    machine: sessionMachine,
    about: "one session's presence (held as a table code per full JID; see ARCHITECTURE.md)",
  },
  { file: "connection", machine: connectionMachine, about: "the XEP-0114 link and its backoff" },
  { file: "notifier", machine: notifierMachine, about: "drains the mailbox to the server users" },
];

/**
 * The machine's config as JSON. Implementations are code and stay in the
 * source: a named guard, action or actor is a reference already; an inline
 * one becomes `{ "type": "inline:<name>" }` (a built-in such as `assign`
 * keeps its own type, e.g. `xstate.assign`); `context`, a function of the
 * actor's input here, is left out.
 */
export function machineConfigJson(machine: AnyStateMachine): string {
  return JSON.stringify(
    machine.config,
    function (key: string, value: unknown) {
      if (typeof value !== "function") return value;
      if (key === "context" && this === machine.config) return undefined;
      const builtin: unknown = Reflect.get(value, "type");
      return {
        type: typeof builtin === "string" ? builtin : `inline:${value.name || "anonymous"}`,
      };
    },
    2,
  );
}

export class ExportFailed extends Error {
  readonly _tag = "ExportFailed";
  constructor(
    readonly dir: string,
    cause: Error,
  ) {
    super(`cannot write the machines to ${dir}: ${cause.message}`);
    this.name = "ExportFailed";
  }
}

/** Writes `<id>.json` per machine and `README.md`; returns the files written. */
export function exportMachines(dir: string): string[] {
  const written: string[] = [];
  try {
    mkdirSync(dir, { recursive: true });
    for (const { file, machine } of MACHINES) {
      const path = join(dir, `${file}.json`);
      writeFileSync(path, `${machineConfigJson(machine)}\n`);
      written.push(path);
    }
    const guide = join(dir, "README.md");
    writeFileSync(guide, GUIDE);
    written.push(guide);
  } catch (err) {
    throw new ExportFailed(dir, err as Error);
  }
  return written;
}

const GUIDE = `# presence-notify's state machines

Written by \`presence-notify export-machines\`. Each \`*.json\` file is one
XState v5 machine config, exactly what \`createMachine()\` takes:

${MACHINES.map(({ file, machine, about }) => `- \`${file}.json\` (machine \`${machine.id}\`): ${about}`).join("\n")}

Guards, actions and actors are references by name (\`"showIs"\`, \`"connect"\`);
their code is in \`src/machines/\` and \`src/actors/\`. Inline ones appear as
\`{ "type": "inline:<name>" }\`; \`context\` (computed from the actor's input) is
left out.

## In Stately's editor (stately.ai, needs an account for saving)

1. Open https://stately.ai/registry/new (or a project's machine list: New machine).
2. Code panel, **Import**; paste \`createMachine(\`, the contents of one JSON
   file, then \`)\`. Stately's importer reads a \`createMachine({...})\` call.
3. The editor draws the statechart; **Simulate** steps through it by event.

## Without access to stately.ai

- **VS Code**: the "XState VSCode" extension (statelyai.stately-vscode) opens
  the editor for a \`createMachine\` call in a local \`.js\`/\`.ts\` file: save
  \`createMachine(<JSON>)\` as e.g. \`session.machine.ts\`, import
  \`createMachine\` from \`xstate\`, and use "Open visual editor" above it.
  (Or open the repository's own \`src/machines/*.ts\`.)
- **Plain Node**, no network: the JSON is a config, so
  \`createMachine(require("./session.json"))\` runs; XState's
  \`getShortestPaths\` / \`getSimplePaths\` (\`xstate/graph\`) list the paths
  through it, and the presence-notify test suite walks them the same way.
- **Read it**: \`states\` nest as in the diagram; \`on\` maps an event to its
  target(s) (\`#session.available.show.chat\`, ids from the root); \`type:
  "parallel"\` regions are active together; \`after\` is a timer, \`always\`
  an eventless transition.

## Live: the machines running in a daemon

\`presence-notify start --config FILE --inspect\` streams every actor's events
to \`ws://127.0.0.1:8088\`; open \`http://127.0.0.1:8088/\` in a browser for
the Stately Inspector, or read the JSON frames with any WebSocket client
(README.md of presence-notify, "Inspecting the machines").
`;
