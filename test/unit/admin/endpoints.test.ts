import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startAdmin } from "../../../src/admin/app.js";
import { isAdminListenError } from "../../../src/admin/server.js";
import { logSink } from "../../support/log-sink.js";
import { settle } from "../../support/memory-link.js";
import { ADVERTISEMENT, adminScene, ROSTER_ONLY } from "./setup.js";

// The admin listener's HTTP surface, over real HTTP on 127.0.0.1 port 0.

type Scene = Awaited<ReturnType<typeof adminScene>>;
let scene: Scene | undefined;
afterEach(async () => {
  await scene?.stop();
  scene = undefined;
});

async function reason(s: Scene): Promise<string> {
  return ((await (await s.get("/readyz")).json()) as { reason: string }).reason;
}

describe("the listener", () => {
  it("logs the address it bound, port 0 resolved", async () => {
    scene = await adminScene();
    const line = scene.records.find((r) => r.msg === "admin listening");
    expect(line?.url).toBe(scene.admin.url);
    expect(scene.admin.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9][0-9]*$/);
  });

  it("refuses a port in use with a clear error", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const failure = await startAdmin({
        settings: { listen: { host: "127.0.0.1", port }, token: undefined, pseudonymise: false },
        logger: logSink().logger,
      }).catch((err: unknown) => err);
      expect(isAdminListenError(failure)).toBe(true);
      expect((failure as Error).message).toBe(
        `admin.listen http://127.0.0.1:${port}: the port is already in use by another process; choose another port, or stop that process`,
      );
    } finally {
      taken.close();
    }
  });

  it("answers 404 for an unknown path and 405 for another method", async () => {
    scene = await adminScene();
    const missing = await scene.get("/nope");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "no such endpoint: /nope" });
    const post = await scene.get("/metrics", {}, "POST");
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("stops listening on close", async () => {
    scene = await adminScene();
    const { url } = scene.admin;
    await scene.stop();
    scene = undefined;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});

describe("/healthz and /readyz", () => {
  it("is alive at once, and ready only once connected with presence=managed_entity", async () => {
    scene = await adminScene();
    expect((await scene.get("/healthz")).status).toBe(200);

    const down = await scene.get("/readyz");
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({
      ready: false,
      connected: false,
      presencePrivilege: false,
      reason: "not connected to the XMPP server",
    });

    scene.server.connect();
    expect(await reason(scene)).toMatch(/has not advertised/);

    scene.server.deliver(ADVERTISEMENT);
    const up = await scene.get("/readyz");
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ ready: true, connected: true, presencePrivilege: true });
  });

  it("is not ready when the server grants roster access only", async () => {
    scene = await adminScene();
    scene.server.connect();
    scene.server.deliver(ROSTER_ONLY);
    expect((await scene.get("/readyz")).status).toBe(503);
    expect(await reason(scene)).toMatch(/did not grant presence=managed_entity/);
  });

  it("after a reconnect, waits for the new connection's grant", async () => {
    scene = await adminScene();
    scene.server.connect();
    scene.server.deliver(ADVERTISEMENT);
    expect((await scene.get("/readyz")).status).toBe(200);
    scene.server.drop();
    expect((await scene.get("/readyz")).status).toBe(503);
    scene.server.connect();
    expect((await scene.get("/readyz")).status).toBe(503);
    scene.server.deliver(ADVERTISEMENT);
    expect((await scene.get("/readyz")).status).toBe(200);
    expect(scene.service.counters.get("reconnects")).toBe(1);
  });
});

describe("/tree", () => {
  it("is the live supervision tree, restarts included", async () => {
    scene = await adminScene();
    scene.supervisor.send("flaky", { type: "crash" });
    await settle();
    const tree = await (await scene.get("/tree")).json();
    expect(tree).toMatchObject({
      id: "presence-notify",
      type: "supervisor",
      status: "running",
      children: [
        { id: "flaky", type: "worker", restarts: 1 },
        { id: "notifier", type: "worker", status: "running", restarts: 0 },
      ],
    });
  });
});

describe("admin.token", () => {
  const TOKEN = "s3cret-admin-token";

  it("is demanded by every endpoint but /healthz", async () => {
    scene = await adminScene({ token: TOKEN });
    expect((await scene.get("/healthz")).status).toBe(200);
    for (const path of ["/metrics", "/readyz", "/tree", "/status", "/", "/events"]) {
      const res = await scene.get(path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get("www-authenticate"), path).toMatch(/^Basic realm=.*, Bearer$/);
      const wrong = await scene.get(path, { authorization: `Bearer ${TOKEN}x` });
      expect(wrong.status, path).toBe(401);
    }
  });

  it("is accepted as a bearer token, or as the password of HTTP Basic (browsers)", async () => {
    scene = await adminScene({ token: TOKEN });
    const bearer = await scene.get("/tree", { authorization: `Bearer ${TOKEN}` });
    expect(bearer.status).toBe(200);
    const basic = Buffer.from(`anyone:${TOKEN}`).toString("base64");
    expect((await scene.get("/tree", { authorization: `Basic ${basic}` })).status).toBe(200);
  });

  it("is never logged", async () => {
    scene = await adminScene({ token: TOKEN });
    await scene.get("/metrics", { authorization: `Bearer ${TOKEN}` });
    expect(JSON.stringify(scene.records)).not.toContain(TOKEN);
    expect(scene.records.find((r) => r.msg === "admin listening")?.auth).toBe("bearer token");
  });
});
