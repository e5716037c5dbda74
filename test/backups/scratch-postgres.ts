/**
 * A throw-away PostgreSQL cluster from Debian's server binaries, for the backup tests: its own
 * data directory and socket in a temp folder, no TCP, trust auth on the socket. As root it runs
 * as Debian's `postgres` user (PostgreSQL refuses root), and so do the Barman commands that read
 * its files.
 */
import { execFile, execFileSync } from "node:child_process";
import { appendFileSync, chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export function pgBin(): string {
  const base = "/usr/lib/postgresql";
  const majors = existsSync(base) ? readdirSync(base).filter((v) => /^\d+$/.test(v)) : [];
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest)
    throw new Error("no PostgreSQL server under /usr/lib/postgresql (Debian's postgresql package)");
  return join(base, newest, "bin");
}

/** uid/gid to run PostgreSQL and Barman as: the `postgres` user when we are root, else ourselves. */
export function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

export function ownedDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const as = runAs();
  if (as) chownSync(path, as.uid, as.gid);
  return path;
}

/** A free loopback port number (the socket file is named after it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Runs a command as the PostgreSQL user with the given environment (PATH kept). */
export async function runAsPostgres(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 300_000,
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(command, args, {
      ...runAs(),
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", ...env },
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as Error & { stderr?: string; stdout?: string };
    throw new Error(`${command} ${args.join(" ")} failed: ${e.message}\n${e.stderr ?? ""}${e.stdout ?? ""}`);
  }
}

export class ScratchPostgres {
  readonly socketDir: string;
  readonly log: string;
  constructor(
    readonly dataDir: string,
    readonly port: number,
    socketDir: string,
    /** The server's environment: what archive_command and restore_command see. */
    readonly env: Record<string, string>,
  ) {
    this.socketDir = socketDir;
    this.log = `${dataDir}.log`;
  }

  /** initdb into an empty folder. */
  static async init(
    dataDir: string,
    port: number,
    socketDir: string,
    env: Record<string, string>,
  ): Promise<ScratchPostgres> {
    ownedDir(dataDir);
    await runAsPostgres(join(pgBin(), "initdb"), [
      "-D",
      dataDir,
      "-U",
      "postgres",
      "--auth=trust",
      "-E",
      "UTF8",
    ]);
    return new ScratchPostgres(dataDir, port, socketDir, env);
  }

  /** Settings appended to postgresql.auto.conf-like postgresql.conf (last one wins). */
  configure(settings: Record<string, string | number>): void {
    const lines = Object.entries(settings).map(([k, v]) => `${k} = ${typeof v === "number" ? v : quote(v)}`);
    appendFileSync(join(this.dataDir, "postgresql.conf"), `\n${lines.join("\n")}\n`);
  }

  signal(name: "recovery.signal"): void {
    writeFileSync(join(this.dataDir, name), "");
    const as = runAs();
    if (as) chownSync(join(this.dataDir, name), as.uid, as.gid);
  }

  /** `listen`: also on TCP at that address (a client that cannot use the socket, e.g. OpenBao). */
  async start(o: { listen?: string } = {}): Promise<void> {
    this.configure({
      port: this.port,
      listen_addresses: o.listen ?? "",
      unix_socket_directories: this.socketDir,
    });
    const as = runAs();
    if (!existsSync(this.log)) writeFileSync(this.log, "");
    if (as) chownSync(this.log, as.uid, as.gid);
    await runAsPostgres(
      join(pgBin(), "pg_ctl"),
      ["-D", this.dataDir, "-l", this.log, "-w", "-t", "300", "start"],
      this.env,
    );
  }

  async stop(): Promise<void> {
    if (!existsSync(join(this.dataDir, "postmaster.pid"))) return;
    await runAsPostgres(join(pgBin(), "pg_ctl"), ["-D", this.dataDir, "-m", "fast", "-w", "stop"]);
  }

  async sql(statement: string): Promise<string> {
    const { stdout } = await runAsPostgres(join(pgBin(), "psql"), [
      ...["-h", this.socketDir, "-p", String(this.port), "-U", "postgres", "-d", "postgres"],
      ...["-v", "ON_ERROR_STOP=1", "-X", "-Atc", statement],
    ]);
    return stdout.trim();
  }
}

/** A postgresql.conf string literal. */
export function quote(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/** A shell word for archive_command/restore_command, which PostgreSQL runs through `sh -c`. */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}
