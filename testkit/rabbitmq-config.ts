/**
 * The files and environment of a throwaway RabbitMQ 3.10 node (Debian's
 * `rabbitmq-server`), everything in one temp dir and on loopback.
 * Facts: /work/shared/SERVERS.md ("RabbitMQ 3.10 ... as a throwaway test broker").
 */

export interface RabbitMqLayout {
  dir: string;
  amqpPort: number;
  distPort: number;
  epmdPort: number;
  node: string;
  user: string;
  password: string;
}

/** rabbitmq.conf (the new-style sysctl format). */
export function renderRabbitMqConf(
  layout: Pick<RabbitMqLayout, "amqpPort" | "user" | "password">,
): string {
  return [
    "# Generated for one test run; loopback only.",
    `listeners.tcp.1 = 127.0.0.1:${layout.amqpPort}`,
    "listeners.ssl = none",
    // Our own user instead of guest; guest stays loopback-only as shipped.
    `default_user = ${layout.user}`,
    `default_pass = ${layout.password}`,
    "log.console = false",
    "log.file.level = info",
    // A test box's disk may be nearly full; the default 50 MB alarm would block publishers.
    "disk_free_limit.absolute = 1MB",
    "",
  ].join("\n");
}

/** The environment `rabbitmq-server` reads: no path outside `dir`, no port off loopback. */
export function rabbitMqEnv(layout: RabbitMqLayout): Record<string, string> {
  const { dir } = layout;
  return {
    HOME: dir,
    RABBITMQ_NODENAME: layout.node,
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_NODE_PORT: String(layout.amqpPort),
    RABBITMQ_DIST_PORT: String(layout.distPort),
    RABBITMQ_CONFIG_FILE: `${dir}/rabbitmq.conf`,
    RABBITMQ_ADVANCED_CONFIG_FILE: `${dir}/advanced.config`,
    RABBITMQ_CONF_ENV_FILE: `${dir}/rabbitmq-env.conf`,
    RABBITMQ_ENABLED_PLUGINS_FILE: `${dir}/enabled_plugins`,
    RABBITMQ_ENABLED_PLUGINS: "",
    RABBITMQ_MNESIA_BASE: `${dir}/mnesia`,
    RABBITMQ_LOG_BASE: `${dir}/log`,
    RABBITMQ_PID_FILE: `${dir}/rabbitmq.pid`,
    RABBITMQ_FEATURE_FLAGS_FILE: `${dir}/feature_flags`,
    // The Erlang distribution listens on 0.0.0.0 unless told otherwise.
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1}",
    // A private epmd on loopback (RabbitMQ needs one; never the system's on 4369).
    ERL_EPMD_ADDRESS: "127.0.0.1",
    ERL_EPMD_PORT: String(layout.epmdPort),
  };
}
