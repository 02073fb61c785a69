import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AnyStateMachine } from "xstate";
import { connectionMachine } from "../machines/connection.js";
import { notifierMachine } from "../machines/notifier.js";
import { resyncMachine } from "../machines/resync.js";
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
  {
    file: "resync",
    machine: resyncMachine,
    about: "reconciles the sessions after a reconnect (the replay, then a list, drops or pings)",
  },
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

## In Stately's editor (https://stately.ai)

1. Sign in at https://stately.ai, open a project and create a **New machine**.
2. **Import** (the Code panel's button, or Machine > Import); paste \`createMachine(\`, the contents of one JSON
   file, then \`)\`. Stately's importer reads a \`createMachine({...})\` call.
3. The editor draws the statechart; **Simulate** steps through it by event.

In VS Code, Stately's "Stately Editor" extension opens a JSON or XState file
next to the code; it hosts the same editor and may ask you to sign in to
Stately, so it needs access to stately.ai too.

## Without access to stately.ai

- **Read it**: \`states\` nest as in the diagram; \`on\` maps an event to its
  target(s) (\`#session.available.show.chat\` is an id from the root, a bare
  name is a sibling); \`type: "parallel"\` regions are active together;
  \`after\` is a timer, \`always\` an eventless transition, \`invoke\` an actor
  the state runs (\`onDone\` / \`onError\` when it ends).
- **Walk it**, with Node and the \`xstate\` package only: the file is a
  config, so \`createMachine(JSON.parse(fs.readFileSync("session.json", "utf8")))\`
  works, and its \`root\` state node lists every state (\`.states\`) and
  transition (\`.transitions\`, \`.always\`) with resolved targets. To step
  through it (\`transition\`, \`xstate/graph\`), first \`.provide()\` the named
  guards, as \`src/actors/\` does.
- **Watch it live**: \`presence-notify inspect-tail\` prints what a daemon
  started with \`--inspect\` streams, one line per state change.

## Live: the machines running in a daemon

\`presence-notify start --config FILE --inspect\` streams every actor's events
to \`ws://127.0.0.1:8088\`; open \`http://127.0.0.1:8088/\` in a browser on the
same machine for the Stately Inspector, run \`presence-notify inspect-tail\`
for text, or read the JSON frames with any WebSocket client (presence-notify's
README.md, "Inspecting the machines").
`;
