import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { assertPortFree, isRunning, portFromEnv, spawnDaemon, stopDaemon, waitFor } from "../lib/proc.js";
import { redisCommands } from "../lib/resp.js";
import { secret } from "../lib/secrets.js";
import type { Service, TestbedContext } from "../lib/service.js";

const portEnv = "TESTBED_REDIS_PORT";
const port = () => portFromEnv(portEnv, 16379);
const redisServer = "/usr/bin/redis-server";

function env(ctx: TestbedContext): Record<string, string> {
  return { REDIS_URL: `redis://default:${secret(ctx, "redis", "password")}@127.0.0.1:${port()}/0` };
}

async function answers(ctx: TestbedContext): Promise<boolean> {
  const [auth, pong] = await redisCommands(port(), [["AUTH", secret(ctx, "redis", "password")], ["PING"]]);
  return auth === "+OK" && pong === "+PONG";
}

/** Debian's redis-server as our own instance: loopback, generated password, no persistence. */
const redis: Service = {
  name: "redis",
  async build() {
    // Nothing to build: the binary comes from Debian's redis-server package.
  },
  async running(ctx) {
    return isRunning(ctx, "redis") && (await answers(ctx).catch(() => false));
  },
  async start(ctx) {
    await assertPortFree(port(), "redis", portEnv);
    const dir = join(ctx.stateDir, "redis");
    mkdirSync(dir, { recursive: true });
    // The password goes in a 0600 config file, not argv, where `ps` would show it.
    const config = join(dir, "redis.conf");
    writeFileSync(
      config,
      [
        `port ${port()}`,
        "bind 127.0.0.1",
        "protected-mode yes",
        "daemonize no",
        `dir ${dir}`,
        'save ""',
        "appendonly no",
        `requirepass ${secret(ctx, "redis", "password")}`,
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    await spawnDaemon(ctx, { name: "redis", command: redisServer, args: [config] });
    await waitFor("redis", () => answers(ctx), { timeoutMs: 20_000, logName: "redis", ctx });
    return env(ctx);
  },
  async env(ctx) {
    return env(ctx);
  },
  async stop(ctx) {
    await stopDaemon(ctx, "redis");
  },
};

export default redis;
