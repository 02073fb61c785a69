import { readFileSync } from "node:fs";

/**
 * What the command line says about itself: the usage of each command and
 * the version. `main` prints these for `--help`/`-h` (after a command, that
 * command's text) and `--version`.
 */

export const USAGE = `usage: presence-notify <command> [options]

commands:
  start --config FILE [--pretty] [--inspect[=HOST:PORT]]
                                   run the daemon in the foreground (JSON logs on stdout)
  check-config --config FILE       print the effective configuration and where each value came from
  export-machines --out DIR        write every state machine as XState JSON, with a guide to view them
  inspect-tail [--url WS-URL]      print a running daemon's --inspect stream as text
  demo [--users N] [--duration S]  run a local Prosody with simulated users and show the notifications

  presence-notify <command> --help  that command's options and signals
  presence-notify --version         the version

exit codes: 0 ok, 64 usage, 69 inspect-tail cannot connect, 70 internal failure,
            73 export-machines cannot write DIR,
            75 state file locked by another daemon (or the --inspect or admin.listen
               port in use),
            78 configuration error`;

export const COMMAND_USAGE: Readonly<Record<string, string>> = {
  start: `usage: presence-notify start --config FILE [--pretty] [--inspect[=HOST:PORT]]

Runs the daemon in the foreground, logging to stdout.

options:
  -c, --config FILE  the TOML configuration file (every key: config/presence-notify.example.toml)
      --pretty       human-readable, coloured logs for a terminal (pino-pretty); the
                     default is one JSON object a line, for journald and log shippers
      --inspect[=HOST:PORT]
                     stream live actor and session events to the Stately Inspector over
                     WebSocket, loopback only (default 127.0.0.1:8088; README, Inspecting)
  -h, --help         this text

signals:
  SIGTERM, SIGINT    drain queued notifications (at most shutdown.drain_timeout), exit 0
  SIGHUP             re-read FILE: filters, server user, rates, flap window, batch,
                     mailbox.max_age, reconnect, liveness and log level apply at once;
                     other keys are logged as needing a restart; an invalid file is
                     refused, logged, and the running configuration kept

exit codes: 0 stopped by a signal, 64 usage, 70 internal failure, 75 state file locked
            by another daemon or the --inspect or admin.listen port in use,
            78 configuration error
            (one sentence on stderr)`,
  "check-config": `usage: presence-notify check-config --config FILE

Validates FILE with the environment's overrides, as start would, and prints every
effective value with where it came from (file, env NAME, default, secret_file PATH).
The secret is always [redacted].

options:
  -c, --config FILE  the TOML configuration file
  -h, --help         this text

exit codes: 0 valid, 64 usage, 78 invalid (one sentence on stderr naming the key)`,
  demo: `usage: presence-notify demo [--users N] [--duration SECONDS]

Starts a local Prosody (needs prosody and prosody-modules) on free loopback ports,
a server user and N simulated users, and prints every notification it receives.
Ctrl-C stops everything.

options:
  --users N           simulated users, 1 to 100 (default 4)
  --duration SECONDS  stop by itself after this long (default: run until Ctrl-C)
  -h, --help          this text`,
};

/** The package's version: package.json sits one level above both src/ and dist/. */
export function version(): string {
  const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}
