import type { SessionList } from "../xmpp/session-list.js";

/**
 * Who is online, from MongooseIM's GraphQL admin API: the session list the
 * daemon reconciles with on every component (re)connect, as with ejabberd's
 * `connected_users_info` (ARCHITECTURE.md, "The connection and
 * reconnection"). Written against MongooseIM's published schema
 * (priv/graphql/schemas/admin/session.gql and global/session.gql):
 *
 *   type SessionAdminQuery { listSessions(domain: String): [Session!] }
 *   type Session { user: JID!  # the full JID
 *                  connection: String, ip: String, port: Int, priority: Int,
 *                  node: String!, uptime: Int! }
 *
 * reached as `query { session { listSessions { user } } }`, POSTed as JSON
 * to the admin endpoint (e.g. http://127.0.0.1:5551/api/graphql), answered
 * `{"data": {"session": {"listSessions": [{"user": "alice@localhost/res1"}]}}}`
 * or with `{"errors": [{"message": ...}]}`. The admin's credentials, if the
 * URL carries them (`http://admin:secret@...`), go in a Basic Authorization
 * header, as MongooseIM's admin API expects; `fetch` refuses them in a URL.
 *
 * The list has no presence `show`: every listed session counts as available.
 * Only tested against an in-process server answering that shape, never a
 * live MongooseIM.
 */
export const LIST_SESSIONS_QUERY = "query { session { listSessions { user } } }";

export function mongooseimSessionList(graphqlUrl: string, timeoutMs: number): SessionList {
  const url = new URL(graphqlUrl);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json",
  };
  if (url.username !== "" || url.password !== "") {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    url.username = "";
    url.password = "";
  }
  const endpoint = url.toString();
  return async () => {
    const response = await fetch(endpoint, {
      method: "POST",
      headers,
      body: JSON.stringify({ query: LIST_SESSIONS_QUERY }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`${endpoint} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${endpoint} did not answer JSON`);
    }
    const { data, errors } = (body ?? {}) as { data?: unknown; errors?: unknown };
    if (Array.isArray(errors) && errors.length > 0) {
      const first = (errors[0] as { message?: unknown })?.message;
      throw new Error(`${endpoint} answered a GraphQL error: ${String(first).slice(0, 200)}`);
    }
    const list = (data as { session?: { listSessions?: unknown } } | null)?.session?.listSessions;
    if (!Array.isArray(list)) throw new Error(`${endpoint} answered no session.listSessions list`);
    const sessions = [];
    for (const entry of list) {
      const user = (entry as { user?: unknown } | null)?.user;
      // The Resync admits each through the same JID checks and filters as a presence.
      if (typeof user === "string") sessions.push({ jid: user, show: undefined });
    }
    return sessions;
  };
}
