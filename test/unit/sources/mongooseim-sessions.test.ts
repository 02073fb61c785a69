import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  LIST_SESSIONS_QUERY,
  mongooseimSessionList,
} from "../../../src/sources/mongooseim-sessions.js";

// An in-process HTTP server answering the shape MongooseIM's GraphQL admin
// schema documents (session.listSessions -> [Session!], Session.user: the
// full JID). No live MongooseIM: this proves the client against the schema,
// not against the server.

interface Seen {
  method: string | undefined;
  url: string | undefined;
  authorization: string | undefined;
  body: unknown;
}

let server: Server | undefined;

async function serve(answer: (seen: Seen) => { status: number; body: string }) {
  const seen: Seen[] = [];
  server = createServer(async (req: IncomingMessage, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const request = {
      method: req.method,
      url: req.url,
      authorization: req.headers.authorization,
      body: JSON.parse(text || "null"),
    };
    seen.push(request);
    const { status, body } = answer(request);
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body);
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { port, seen };
}

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

describe("MongooseIM's session list (GraphQL admin API)", () => {
  it("asks session.listSessions with the admin's Basic credentials and reads the full JIDs", async () => {
    const { port, seen } = await serve(() => ({
      status: 200,
      body: JSON.stringify({
        data: {
          session: {
            listSessions: [
              { user: "alice@localhost/res1", node: "mongooseim@localhost", uptime: 3 },
              { user: "bob@localhost/phone", connection: "c2s", priority: 0 },
              { user: 42 },
              null,
            ],
          },
        },
      }),
    }));
    const list = mongooseimSessionList(`http://admin:p%40ss@127.0.0.1:${port}/api/graphql`, 2_000);
    expect(await list()).toEqual([
      { jid: "alice@localhost/res1", show: undefined },
      { jid: "bob@localhost/phone", show: undefined },
    ]);
    expect(seen[0]).toEqual({
      method: "POST",
      url: "/api/graphql",
      authorization: `Basic ${Buffer.from("admin:p@ss").toString("base64")}`,
      body: { query: LIST_SESSIONS_QUERY },
    });
  });

  it("sends no Authorization without credentials in the URL", async () => {
    const { port, seen } = await serve(() => ({
      status: 200,
      body: '{"data":{"session":{"listSessions":[]}}}',
    }));
    expect(await mongooseimSessionList(`http://127.0.0.1:${port}/g`, 2_000)()).toEqual([]);
    expect(seen[0]?.authorization).toBeUndefined();
  });

  it.each([
    [401, '{"errors":[{"message":"no_permissions"}]}', /HTTP 401/],
    [
      200,
      '{"errors":[{"message":"no_permissions","extensions":{}}]}',
      /GraphQL error: no_permissions/,
    ],
    [200, '{"data":{"session":null}}', /no session\.listSessions list/],
    [200, "not json", /did not answer JSON/],
  ])("fails (so the daemon falls back to pings) on HTTP %i %s", async (status, body, message) => {
    const { port } = await serve(() => ({ status, body }));
    const list = mongooseimSessionList(`http://admin:secret@127.0.0.1:${port}/g`, 2_000);
    const failure = await list().then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(failure).toMatch(message);
    // The admin password never travels into the error (which is logged).
    expect(failure).not.toContain("secret");
  });
});
