import { execFile } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Service, TestbedContext } from "../lib/service.js";

const run = promisify(execFile);

/**
 * Barman's cloud commands (`barman-cloud-backup`, `-wal-archive`, `-restore`, `-wal-restore`), the
 * tool CloudNativePG's Barman Cloud plugin runs in its sidecar, from PyPI into a venv: every wheel
 * pinned by version and sha256 (`--require-hashes`, `--no-deps`, so nothing unpinned comes in).
 * 3.19.1 is the newest Barman for Python 3.11 (Debian 12's); plugin v0.15.0 ships 3.20.0, whose
 * changes (Python 3.12+, restore hooks) touch none of the options plinth renders. psycopg2-binary
 * stands in for psycopg2 (same module, no compiler or libpq headers needed): wheels for CPython
 * 3.11 to 3.13. No daemon: the service is the venv, `BARMAN_BIN` its bin folder.
 */
const WHEELS: readonly [requirement: string, ...sha256: string[]][] = [
  ["barman==3.19.1", "0a6a9e1babf97687732d8b2a3eb79ea95d55246a5257b9433865cb6e755221c0"],
  ["boto3==1.44.8", "099caf21553bbbfef118904aa02fadb8776a534704cf00bede0ed9f29a4da88e"],
  ["botocore==1.44.8", "76342a76c338701db80dcb8afe1c9bd079283d6fffbb9d881442abb02a215043"],
  ["s3transfer==0.19.3", "24eb7535804306355e31c952a90022bf5b2f9d760f9a11062c7493a217c08553"],
  ["jmespath==1.1.0", "a5663118de4908c91729bea0acadca56526eb2698e83de10cd116ae0f4e97c64"],
  ["python-dateutil==2.9.0.post0", "a8b2bc7bffae282281c8140a97d3aa9c14da0b136dfe83f850eea9a5f7470427"],
  ["six==1.17.0", "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"],
  ["urllib3==2.8.0", "0cf3cae568d36aa9576b28dfb35f11328f1cb974ca7647d9475ebb86c75ac6e3"],
  [
    "psycopg2-binary==2.9.13",
    "930e7e58b33a4f9c39e7532d7a40147925cf3372baed4229cbebe0cf3ba9ce6b", // cp311
    "e3861eba31f8ea8663fd876166b032fd89179e42aa63764d6feb281f13f9eb60", // cp312
    "f04ada42bcd537adbaf8b7f3140237a204e452a88d0c1831cfce69f7d2e59f4e", // cp313
  ],
];

const BARMAN_VERSION = "3.19.1";

/** The venv's folder carries the version, so a new pin installs beside the old one. */
const venvDir = (ctx: TestbedContext) => join(ctx.stateDir, "barman", `venv-${BARMAN_VERSION}`);
const binDir = (ctx: TestbedContext) => join(venvDir(ctx), "bin");
const COMMANDS = [
  "barman-cloud-backup",
  "barman-cloud-wal-archive",
  "barman-cloud-restore",
  "barman-cloud-wal-restore",
];

/**
 * Debian's own python3 where there is one: PostgreSQL runs archive_command as the `postgres` user,
 * who cannot reach a Python under root's home (pyenv), which a venv links to.
 */
const python = () => (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

/** Written last: a venv without it is an interrupted install, redone from scratch. */
const marker = (ctx: TestbedContext) => join(venvDir(ctx), "plinth-installed");
const installed = (ctx: TestbedContext) =>
  existsSync(marker(ctx)) && COMMANDS.every((c) => existsSync(join(binDir(ctx), c)));

async function install(ctx: TestbedContext): Promise<void> {
  // In place: a venv's scripts name its python by absolute path, so it cannot be moved afterwards.
  const dir = venvDir(ctx);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(ctx.stateDir, "barman"), { recursive: true });
  const started = Date.now();
  const fail = (step: string, error: unknown): never => {
    const e = error as Error & { code?: string; stderr?: string };
    const why = e.code === "ENOENT" ? "python3 is not installed" : (e.stderr || e.message).trim();
    throw new Error(`barman: ${step} failed: ${why}`);
  };
  ctx.log(`barman: installing barman[cloud] ${BARMAN_VERSION} (pinned wheels, about 20 MB) into a venv`);
  await run(python(), ["-m", "venv", dir]).catch((e: unknown) => fail("python3 -m venv", e));
  const requirements = join(dir, "requirements.txt");
  writeFileSync(
    requirements,
    `${WHEELS.map(([req, ...hashes]) => [req, ...hashes.map((h) => `--hash=sha256:${h}`)].join(" ")).join("\n")}\n`,
  );
  const pip = [
    "-m",
    "pip",
    "install",
    "-q",
    "--disable-pip-version-check",
    "--no-deps",
    "--only-binary=:all:",
  ];
  await run(join(dir, "bin", "python"), [...pip, "--require-hashes", "-r", requirements], {
    maxBuffer: 16 * 1024 * 1024,
  }).catch((e: unknown) => fail("pip install", e));
  const { stdout } = await run(join(dir, "bin", "barman-cloud-backup"), ["--version"]).catch((e: unknown) =>
    fail("barman-cloud-backup --version", e),
  );
  if (!stdout.includes(BARMAN_VERSION))
    throw new Error(`barman: installed ${stdout.trim()}, not ${BARMAN_VERSION}`);
  writeFileSync(marker(ctx), `${stdout.trim()}\n`);
  ctx.log(`barman: ${stdout.trim()} ready in ${Math.round((Date.now() - started) / 1000)}s`);
}

function env(ctx: TestbedContext): Record<string, string> {
  return { BARMAN_BIN: binDir(ctx) };
}

const barman: Service = {
  name: "barman",
  async build(ctx) {
    if (!installed(ctx)) await install(ctx);
  },
  async running(ctx) {
    return installed(ctx);
  },
  async start(ctx) {
    if (!installed(ctx)) await install(ctx);
    return env(ctx);
  },
  async env(ctx) {
    return env(ctx);
  },
  async stop() {
    // Nothing runs: the venv stays, as other services' binaries do.
  },
};

export default barman;
