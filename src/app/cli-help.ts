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
  watch --service URL --jid JID --component JID --password-file FILE
                                   log in as a server user and print who is online as JSON lines

  presence-notify <command> --help  that command's options and signals
  presence-notify --version         the version

exit codes: 0 ok, 64 usage, 69 inspect-tail cannot connect, 70 internal failure,
            73 export-machines cannot write DIR, 77 watch's password refused,
            75 state file locked by another daemon (or the --inspect or admin.listen
               port in use),
            78 configuration error`;

export const WATCH_USAGE = `usage: presence-notify watch --service URL --jid JID --component JID
                             (--password-file FILE | env PRESENCE_NOTIFY_WATCH_PASSWORD)
                             [--resource NAME] [--from component|user] [--page-size N]
                             [--signing-key-file FILE [--signing-key-id ID]] [--sasl MECH]
                             [--durable-seq]

Logs in as a server user with presence-notify/client and writes JSON lines to stdout:
a snapshot line, then one line per change, and a new snapshot line whenever the client
takes a new snapshot (a reconnect, the daemon's resync signal). The current view is the
last snapshot line's sessions plus the change lines after it (README, "presence-notify
watch"). Against a daemon without the snapshot feature, the first line says
"complete":false: sessions online before the command started are not in it.

options:
  --service URL            the XMPP server's client port, xmpp://host:5222 (xmpps://, wss://)
                           (or env PRESENCE_NOTIFY_WATCH_SERVICE)
  --jid JID                the server user's bare JID, world@example.com
                           (or env PRESENCE_NOTIFY_WATCH_JID)
  --component JID          the daemon's component JID, presence.example.com; notifications
                           from anyone else are refused (or env PRESENCE_NOTIFY_WATCH_COMPONENT)
  --password-file FILE     the server user's password, one trailing line break removed
                           (or env PRESENCE_NOTIFY_WATCH_PASSWORD)
  --resource NAME          default presence-client-<random>
  --from component|user    user: the daemon runs with notify.from = "user" (XEP-0356)
  --page-size N            sessions per snapshot page (default 500)
  --signing-key-file FILE  the daemon's [signing] key: unsigned notifications are refused
                           (or env PRESENCE_NOTIFY_SIGNING_KEY)
  --signing-key-id ID      its key_id (default k1, or env PRESENCE_NOTIFY_SIGNING_KEY_ID)
  --sasl MECH              force a SASL mechanism (PLAIN over plaintext loopback)
  --durable-seq            the daemon is in durable mode: a lower seq is always stale
  -h, --help               this text

signals: SIGINT, SIGTERM  log out, exit 0

exit codes: 0 stopped, 64 usage, 77 the server refused the password,
            78 a password or key file that cannot be read or is empty
            (one sentence on stderr)`;

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
  watch: WATCH_USAGE,
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
