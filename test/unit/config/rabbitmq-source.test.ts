import { describe, expect, it } from "vitest";
import { describeConfig } from "../../../src/config/describe.js";
import { type ConfigError, isConfigError } from "../../../src/config/errors.js";
import { resolveConfig } from "../../../src/config/load.js";
import { redactUrl } from "../../../src/config/url.js";

// [source.rabbitmq]: the first nested table of the file (MongooseIM route, issue #9).

const PATH = "/etc/presence-notify/presence-notify.toml";
const SECRET = '[component]\nsecret = "s3cret"\n';

function resolve(text: string, env: Record<string, string> = {}) {
  return resolveConfig({
    text: SECRET + text,
    path: PATH,
    env,
    readFile: () => {
      throw new Error("no files");
    },
  });
}

function failure(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    resolve(text, env);
  } catch (err) {
    if (isConfigError(err)) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("[source.rabbitmq]", () => {
  it("is off without the section, with MongooseIM's defaults for the rest", () => {
    const { config, sources } = resolve("");
    expect(config.source.rabbitmq).toEqual({
      url: undefined,
      exchange: "presence",
      exchangeDurable: false,
      queue: "presence-notify",
      singleActiveConsumer: false,
      prefetch: 100,
      graphqlUrl: undefined,
    });
    expect(sources["source.rabbitmq.url"]).toBe("default");
  });

  it("reads the nested table, and the password never shows in check-config", () => {
    const loaded = resolve(
      '[source.rabbitmq]\nurl = "amqp://pn:hunter2@mq.internal:5672/xmpp"\nqueue = "pn-1"\nprefetch = 5\n',
    );
    expect(loaded.config.source.rabbitmq.url?.value()).toBe(
      "amqp://pn:hunter2@mq.internal:5672/xmpp",
    );
    expect(loaded.config.source.rabbitmq.queue).toBe("pn-1");
    const text = describeConfig(loaded);
    expect(text).toContain('"amqp://pn:[redacted]@mq.internal:5672/xmpp"');
    expect(text).not.toContain("hunter2");
    expect(JSON.stringify(loaded.config)).not.toContain("hunter2");
  });

  it("takes PRESENCE_NOTIFY_SOURCE_RABBITMQ_* over the file", () => {
    const { config, sources } = resolve('[source.rabbitmq]\nexchange = "a"\n', {
      PRESENCE_NOTIFY_SOURCE_RABBITMQ_EXCHANGE: "b",
      PRESENCE_NOTIFY_SOURCE_RABBITMQ_EXCHANGE_DURABLE: "true",
    });
    expect(config.source.rabbitmq.exchange).toBe("b");
    expect(config.source.rabbitmq.exchangeDurable).toBe(true);
    expect(sources["source.rabbitmq.exchange"]).toBe(
      "env PRESENCE_NOTIFY_SOURCE_RABBITMQ_EXCHANGE",
    );
  });

  it.each([
    ['url = "http://x/"', /source\.rabbitmq\.url .*must be an amqp:\/\/ or amqps:\/\/ URL/],
    ['url = "not a url with pw"', /source\.rabbitmq\.url .*is not a URL/],
    ['exchange = ""', /source\.rabbitmq\.exchange .*is empty/],
    ['queue = "amq.gen"', /source\.rabbitmq\.queue .*reserves/],
    ['queue = "a b"', /source\.rabbitmq\.queue .*may hold only/],
    ["prefetch = 0", /source\.rabbitmq\.prefetch .*from 1 to 65535/],
    ['exchange_durable = "yes"', /source\.rabbitmq\.exchange_durable .*true or false/],
  ])("refuses %s with a sentence naming the key", (line, message) => {
    const err = failure(`[source.rabbitmq]\n${line}\n`);
    expect(err.key).toMatch(/^source\.rabbitmq\./);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain("pw");
  });

  it("takes a GraphQL admin URL for reconciliation, shown without its password", () => {
    const loaded = resolve(
      '[source.rabbitmq]\ngraphql_url = "http://admin:s3cr3t@127.0.0.1:5551/api/graphql"\n',
    );
    expect(loaded.config.source.rabbitmq.graphqlUrl?.value()).toContain("s3cr3t");
    const text = describeConfig(loaded);
    expect(text).toContain('"http://admin:[redacted]@127.0.0.1:5551/api/graphql"');
    expect(text).not.toContain("s3cr3t");
  });

  it("refuses two session lists at once", () => {
    const err = failure(
      '[resync]\nejabberd_api = "http://127.0.0.1:1/api"\n[source.rabbitmq]\ngraphql_url = "http://127.0.0.1:2/g"\n',
    );
    expect(err.key).toBe("source.rabbitmq.graphql_url");
    expect(err.message).toMatch(/both set/);
  });

  it("names an unknown key of the nested table, with a suggestion", () => {
    const err = failure('[source.rabbitmq]\nexchnage = "x"\n');
    expect(err.message).toMatch(
      /unknown key "source\.rabbitmq\.exchnage".*did you mean source\.rabbitmq\.exchange\?/,
    );
  });

  it("says which tables [source] holds, and suggests [source.rabbitmq] for a misspelt one", () => {
    expect(failure("[source]\nfoo = 1\n").message).toMatch(
      /unknown key "source\.foo".*\[source\] holds only the tables \[source\.rabbitmq\]/,
    );
    expect(failure('[sorce.rabbitmq]\nurl = ""\n').message).toMatch(
      /did you mean \[source\.rabbitmq\]\?/,
    );
  });

  it("refuses an unknown source", () => {
    const err = failure('[source.kafka]\nurl = "x"\n');
    expect(err.message).toMatch(/unknown key "source\.kafka"/);
  });
});

describe("redactUrl", () => {
  it("hides only the password", () => {
    expect(redactUrl("amqp://u:p%40ss@h:1/v")).toBe("amqp://u:[redacted]@h:1/v");
    expect(redactUrl("amqp://h/")).toBe("amqp://h/");
    expect(redactUrl("amqp://u@h/")).toBe("amqp://u@h/");
    expect(redactUrl("::nope p@ss")).toBe("[unparsable URL]");
  });
});
