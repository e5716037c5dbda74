import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { assertPortFree, isRunning, portFromEnv, spawnDaemon, stopDaemon, waitFor } from "../lib/proc.js";
import { secret } from "../lib/secrets.js";
import type { Service, TestbedContext } from "../lib/service.js";

const run = promisify(execFile);
const portEnv = "TESTBED_POSTGRES_PORT";
const port = () => portFromEnv(portEnv, 15432);
const user = "plinth";
const database = "plinth";

/** Newest server from Debian's postgresql package (/usr/lib/postgresql/<major>/bin). */
function binDir(): string {
  const base = "/usr/lib/postgresql";
  const majors = existsSync(base) ? readdirSync(base).filter((v) => /^\d+$/.test(v)) : [];
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest || !existsSync(join(base, newest, "bin", "postgres"))) {
    throw new Error(
      "postgres: no server under /usr/lib/postgresql/*/bin; install Debian's postgresql package",
    );
  }
  return join(base, newest, "bin");
}

/** PostgreSQL refuses to run as root; then it runs as Debian's `postgres` system user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch {
    throw new Error("postgres: running as root and there is no `postgres` user; install Debian's postgresql");
  }
}

const password = (ctx: TestbedContext) => secret(ctx, "postgres", "password");

function env(ctx: TestbedContext): Record<string, string> {
  return {
    DATABASE_URL: `postgres://${user}:${password(ctx)}@127.0.0.1:${port()}/${database}`,
    PGHOST: "127.0.0.1",
    PGPORT: String(port()),
  };
}

async function psql(ctx: TestbedContext, db: string, sql: string): Promise<string> {
  const { stdout } = await run(
    join(binDir(), "psql"),
    ["-h", "127.0.0.1", "-p", String(port()), "-U", user, "-d", db, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
    // The password travels in the environment, not in argv where `ps` shows it.
    { env: { ...process.env, PGPASSWORD: password(ctx), PGCONNECT_TIMEOUT: "3" } },
  );
  return stdout.trim();
}

/** Debian's PostgreSQL as our own cluster under .testbed/postgres, on a loopback port. */
const postgres: Service = {
  name: "postgres",
  async build() {
    binDir();
  },
  async running(ctx) {
    if (!isRunning(ctx, "postgres")) return false;
    return (await psql(ctx, database, "select 1").catch(() => "")) === "1";
  },
  async start(ctx) {
    await assertPortFree(port(), "postgres", portEnv);
    const bin = binDir();
    const owner = runAs();
    const home = join(ctx.stateDir, "postgres");
    const data = join(home, "data");
    const sockets = join(home, "run");
    mkdirSync(sockets, { recursive: true });
    if (!existsSync(join(data, "PG_VERSION"))) {
      rmSync(data, { recursive: true, force: true });
      mkdirSync(data, { recursive: true, mode: 0o700 });
      const pwfile = join(home, "initdb.pw");
      writeFileSync(pwfile, `${password(ctx)}\n`, { mode: 0o600 });
      if (owner) for (const p of [home, data, sockets, pwfile]) chownSync(p, owner.uid, owner.gid);
      try {
        ctx.log("postgres: initdb");
        await run(
          join(bin, "initdb"),
          ["-D", data, "-U", user, `--pwfile=${pwfile}`, "--auth=scram-sha-256", "-E", "UTF8", "--no-locale"],
          { ...(owner ?? {}), cwd: home },
        ).catch((error: Error & { stderr?: string }) => {
          const why = error.stderr || error.message;
          const hint = /permission denied/i.test(why)
            ? ` (the postgres user must be able to reach ${home}: every parent directory needs o+x)`
            : "";
          throw new Error(`postgres: initdb failed${hint}: ${why}`);
        });
      } finally {
        rmSync(pwfile, { force: true });
      }
    }
    if (owner) for (const p of [home, sockets]) chownSync(p, owner.uid, owner.gid);
    await spawnDaemon(ctx, {
      name: "postgres",
      command: join(bin, "postgres"),
      args: [
        ["-D", data],
        ["-p", String(port())],
        ["-c", "listen_addresses=127.0.0.1"],
        ["-c", `unix_socket_directories=${sockets}`],
        // A throwaway test database: durability buys nothing here and costs seconds per test.
        ["-c", "fsync=off"],
        ["-c", "synchronous_commit=off"],
        ["-c", "shared_buffers=32MB"],
      ].flat(),
      cwd: home,
      ...(owner ?? {}),
    });
    await waitFor("postgres", async () => (await psql(ctx, "postgres", "select 1")) === "1", {
      timeoutMs: 30_000,
      logName: "postgres",
      ctx,
    });
    const exists = await psql(ctx, "postgres", `select 1 from pg_database where datname = '${database}'`);
    if (exists !== "1") await psql(ctx, "postgres", `create database ${database}`);
    return env(ctx);
  },
  async env(ctx) {
    return env(ctx);
  },
  async stop(ctx) {
    // SIGINT is PostgreSQL's "fast" shutdown; SIGTERM would wait for every client to leave.
    await stopDaemon(ctx, "postgres", { signal: "SIGINT", graceMs: 20_000 });
  },
};

export default postgres;
