import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ensurePackages } from "./prereqs.js";
import { daemonPid } from "./proc.js";
import type { Service, TestbedContext } from "./service.js";

function isService(value: unknown): value is Service {
  const v = value as Partial<Service> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.name === "string" &&
    typeof v.start === "function" &&
    typeof v.running === "function"
  );
}

/** Every `testbed/services/*.ts` module's Service (its default export, or the one it exports). */
export async function discoverServices(ctx: TestbedContext): Promise<Service[]> {
  const dir = join(ctx.root, "testbed", "services");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.endsWith(".test.ts"))
    .sort();
  const services: Service[] = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;
    const found = [mod.default, ...Object.values(mod)].find(isService);
    if (!found)
      throw new Error(`testbed/services/${file} exports no Service (name, build, running, start...)`);
    services.push(found);
  }
  return orderServices(services);
}

/** Dependency order by `after`; a cycle or a missing dependency is a bug in a service file. */
export function orderServices(services: Service[]): Service[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const ordered: Service[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (service: Service, path: string[]) => {
    if (state.get(service.name) === "done") return;
    if (state.get(service.name) === "visiting") {
      throw new Error(
        `test-bed services depend on each other in a cycle: ${[...path, service.name].join(" -> ")}`,
      );
    }
    state.set(service.name, "visiting");
    for (const dep of service.after ?? []) {
      const target = byName.get(dep);
      if (!target)
        throw new Error(`service ${service.name} runs after ${dep}, but no service is named ${dep}`);
      visit(target, [...path, service.name]);
    }
    state.set(service.name, "done");
    ordered.push(service);
  };
  for (const service of services) visit(service, []);
  return ordered;
}

/** `KEY='value'` lines: `set -a; . .testbed/env; set +a` exports them in a shell. */
export function renderEnvFile(env: Record<string, string>): string {
  const quote = (value: string) => `'${value.replaceAll("'", `'"'"'`)}'`;
  const lines = Object.keys(env)
    .sort()
    .map((key) => `${key}=${quote(env[key] ?? "")}`);
  return `# Written by \`npm run testbed -- up\`; load with: set -a; . .testbed/env; set +a\n${lines.join("\n")}\n`;
}

export function writeEnv(ctx: TestbedContext, env: Record<string, string>): void {
  writeFileSync(join(ctx.stateDir, "env"), renderEnvFile(env), { mode: 0o600 });
  writeFileSync(join(ctx.stateDir, "env.json"), `${JSON.stringify(env, null, 2)}\n`, { mode: 0o600 });
}

export function readEnv(ctx: TestbedContext): Record<string, string> | undefined {
  const file = join(ctx.stateDir, "env.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, string>) : undefined;
}

/**
 * One `up` or `down` at a time: a developer's `up` and the test run's global setup would
 * otherwise both start the same daemon. A lock held by a dead process is taken over.
 */
export async function withLock<T>(ctx: TestbedContext, work: () => Promise<T>): Promise<T> {
  const file = join(ctx.stateDir, "run", "testbed.lock");
  const deadline = Date.now() + 30 * 60_000;
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(file, "wx");
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(readFileSync(file, "utf8").trim());
      if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`test bed locked by pid ${holder} (${file}) for 30 minutes`);
      if (!announced) ctx.log(`waiting for pid ${holder}, which holds the test-bed lock (${file})`);
      announced = true;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(file, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface UpResult {
  env: Record<string, string>;
  /** Services this call started (the rest were already running). */
  started: string[];
}

/**
 * Builds every service, then starts, in dependency order, those not answering. A failure does
 * not stop the others (a broken piece must not hide the state of the rest); services after a
 * failed one are skipped, and one error naming every failure is thrown at the end.
 */
export async function up(ctx: TestbedContext, only?: string[]): Promise<UpResult> {
  return withLock(ctx, async () => {
    const services = select(await discoverServices(ctx), only);
    // A missing Debian package stops the run before anything is built or started.
    await ensurePackages(
      ctx,
      services.map((s) => s.name),
    );
    const failures: string[] = [];
    const failed = new Set<string>();
    for (const service of services) {
      try {
        await service.build(ctx);
      } catch (error) {
        failures.push(prefixed(`${service.name} (build)`, error));
        failed.add(service.name);
      }
    }
    const started: string[] = [];
    for (const service of services) {
      if (failed.has(service.name)) continue;
      const blocker = (service.after ?? []).find((dep) => failed.has(dep));
      if (blocker) {
        failures.push(`${service.name}: not started because ${blocker} failed`);
        failed.add(service.name);
        continue;
      }
      try {
        let env: Record<string, string>;
        if (await service.running(ctx)) {
          env = await service.env(ctx);
          ctx.log(`${service.name}: already running`);
        } else {
          // Leftovers of a crashed run (a dead daemon's pid file, a half-started sibling) go first.
          await service.stop(ctx);
          const startedAt = Date.now();
          env = await service.start(ctx);
          started.push(service.name);
          ctx.log(`${service.name}: ready in ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);
        }
        Object.assign(ctx.env, env);
      } catch (error) {
        failures.push(prefixed(service.name, error));
        failed.add(service.name);
        // A half-started service would hold its ports and confuse the next `up`; its logs stay.
        await service.stop(ctx).catch((stopError: unknown) => {
          failures.push(prefixed(`${service.name} (cleanup)`, stopError));
        });
      }
    }
    // A partial `up` keeps what the env file says of the services it did not look at.
    const previous = only && only.length > 0 ? (readEnv(ctx) ?? {}) : {};
    writeEnv(ctx, { ...previous, ...ctx.env });
    if (failures.length > 0) {
      const error = new Error(`test bed: ${failures.length} service(s) failed\n- ${failures.join("\n- ")}`);
      Object.assign(error, { started });
      throw error;
    }
    return { env: { ...previous, ...ctx.env }, started };
  });
}

/** Stops services (all, or `only`) in reverse dependency order, each by its own pid files. */
export async function down(ctx: TestbedContext, only?: string[]): Promise<void> {
  await withLock(ctx, async () => {
    const all = await discoverServices(ctx);
    // Exactly the named services: their dependencies may have been running before the caller.
    const services = select(all, only, false).reverse();
    const failures: string[] = [];
    for (const service of services) {
      try {
        await service.stop(ctx);
      } catch (error) {
        failures.push(prefixed(service.name, error));
      }
    }
    // The env file keeps describing only what still runs (a test run stops just what it started).
    const env: Record<string, string> = {};
    if (only && only.length > 0) {
      for (const service of all) {
        if (await service.running(ctx).catch(() => false)) Object.assign(env, await service.env(ctx));
      }
    }
    if (Object.keys(env).length > 0) {
      writeEnv(ctx, env);
    } else {
      rmSync(join(ctx.stateDir, "env"), { force: true });
      rmSync(join(ctx.stateDir, "env.json"), { force: true });
    }
    if (failures.length > 0) throw new Error(`test bed: stopping failed\n- ${failures.join("\n- ")}`);
  });
}

export interface ServiceStatus {
  name: string;
  answering: boolean;
  /** Daemons by pid file (`run/<service>.pid`, `run/<service>-<part>.pid`): pid, or undefined if dead. */
  daemons: Record<string, number | undefined>;
}

export async function status(ctx: TestbedContext): Promise<ServiceStatus[]> {
  const services = await discoverServices(ctx);
  const pidFiles = readdirSync(join(ctx.stateDir, "run")).filter((f) => f.endsWith(".pid"));
  const result: ServiceStatus[] = [];
  for (const service of services) {
    const daemons: Record<string, number | undefined> = {};
    for (const file of pidFiles) {
      const name = file.slice(0, -".pid".length);
      if (name === service.name || name.startsWith(`${service.name}-`)) daemons[name] = daemonPid(ctx, name);
    }
    let answering = false;
    try {
      answering = await service.running(ctx);
    } catch {
      answering = false;
    }
    result.push({ name: service.name, answering, daemons });
  }
  return result;
}

function select(services: Service[], only?: string[], withDependencies = true): Service[] {
  if (!only || only.length === 0) return services;
  const names = new Set(services.map((s) => s.name));
  const unknown = only.filter((n) => !names.has(n));
  if (unknown.length > 0) {
    throw new Error(`no test-bed service named ${unknown.join(", ")}; known: ${[...names].join(", ")}`);
  }
  if (!withDependencies) return services.filter((s) => only.includes(s.name));
  // A selected service still needs what it runs after.
  const wanted = new Set<string>();
  const byName = new Map(services.map((s) => [s.name, s]));
  const add = (name: string) => {
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const dep of byName.get(name)?.after ?? []) add(dep);
  };
  for (const name of only) add(name);
  return services.filter((s) => wanted.has(s.name));
}

/** "name: message", without repeating a name the message already starts with. */
function prefixed(name: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.startsWith(name.split(" ")[0] ?? name) ? message : `${name}: ${message}`;
}
