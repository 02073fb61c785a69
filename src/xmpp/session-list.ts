import type { Show } from "../protocol/presence.js";

/**
 * Who is online, from the server's own admin interface, for servers that do
 * not replay presences to a (re)connecting component. ejabberd's
 * `connected_users_info` (mod_http_api + mod_admin_extra) answers a POST of
 * `{}` with one object per session: `{"jid": "alice@localhost/phone",
 * "status": "away", "priority": 0, ...}`.
 */
export interface ListedSession {
  jid: string;
  /** undefined: available without <show/>. */
  show: Show | undefined;
}

export type SessionList = () => Promise<ListedSession[]>;

const SHOWS: ReadonlySet<string> = new Set(["chat", "away", "xa", "dnd"]);

/**
 * `resync.ejabberd_api` may carry the admin's credentials
 * (`http://admin:secret@127.0.0.1:5281/api`): they go in a Basic
 * Authorization header (mod_http_api's admin access). `fetch` refuses a URL
 * with credentials, and its error quoted the URL, password and all, into the
 * log; the URL used and quoted here has none.
 */
export function ejabberdSessionList(baseUrl: string, timeoutMs: number): SessionList {
  const parsed = new URL(`${baseUrl.replace(/\/+$/, "")}/connected_users_info`);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (parsed.username !== "" || parsed.password !== "") {
    const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString("base64")}`;
    parsed.username = "";
    parsed.password = "";
  }
  const url = parsed.toString();
  return async () => {
    const response = await fetch(url, {
      method: "POST",
      headers,
      body: "{}",
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) {
      throw new Error(
        `${url} answered HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`,
      );
    }
    const body: unknown = await response.json();
    if (!Array.isArray(body)) throw new Error(`${url} did not answer a JSON array`);
    const sessions: ListedSession[] = [];
    for (const entry of body) {
      if (typeof entry !== "object" || entry === null) continue;
      const { jid, status } = entry as { jid?: unknown; status?: unknown };
      if (typeof jid !== "string") continue;
      // "available" (no <show/>) or a show value; anything else is not online.
      if (status === "available") sessions.push({ jid, show: undefined });
      else if (typeof status === "string" && SHOWS.has(status))
        sessions.push({ jid, show: status as Show });
    }
    return sessions;
  };
}
