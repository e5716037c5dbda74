import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, join, resolve } from "node:path";
import { promisify } from "node:util";
import type { TestbedContext } from "./service.js";

const run = promisify(execFile);

export interface GoBuildOptions {
  /** Directory of one of our Go modules, e.g. `testbed/go/versitygw` (relative to the root). */
  moduleDir: string;
  /** Import paths to build (main packages), e.g. `github.com/versity/versitygw/cmd/versitygw`. */
  packages: string[];
  ldflags?: string;
  /** Where binaries go; defaults to `.testbed/bin/<module>-<key>`. */
  outDir?: string;
}

let goVersionCache: string | undefined;

/** `go version`, or a clear message when there is no Go toolchain. */
export async function goVersion(): Promise<string> {
  if (goVersionCache) return goVersionCache;
  try {
    const { stdout } = await run("go", ["version"]);
    goVersionCache = stdout.trim();
    return goVersionCache;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no `go` on PATH" : (error as Error).message;
    throw new Error(
      `Go toolchain not found (${why}): the test bed builds its servers from Go modules; install Go 1.25 or newer and put it on PATH`,
    );
  }
}

function fileOrEmpty(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

/** Where a build's binaries go: a directory named by the hash of everything that makes them. */
async function buildPlace(
  ctx: TestbedContext,
  options: GoBuildOptions,
): Promise<{ moduleDir: string; binDir: string; version: string }> {
  const moduleDir = resolve(ctx.root, options.moduleDir);
  const goMod = join(moduleDir, "go.mod");
  if (!existsSync(goMod)) throw new Error(`goBuild: no go.mod in ${moduleDir}`);
  const version = await goVersion();
  const key = createHash("sha256")
    .update(readFileSync(goMod))
    .update("\0")
    .update(fileOrEmpty(join(moduleDir, "go.sum")))
    .update("\0")
    .update(version)
    .update("\0")
    .update(options.ldflags ?? "")
    .update("\0")
    .update(options.packages.join("\n"))
    .digest("hex")
    .slice(0, 16);
  const binDir = options.outDir ?? join(ctx.stateDir, "bin", `${basename(moduleDir)}-${key}`);
  return { moduleDir, binDir, version };
}

/**
 * The directory `goBuild` leaves the binaries in, if they are built, without building: for a
 * `running` or `status` check, which must not start a minutes-long build.
 */
export async function goBuilt(ctx: TestbedContext, options: GoBuildOptions): Promise<string | undefined> {
  const { binDir } = await buildPlace(ctx, options);
  return existsSync(join(binDir, ".complete")) ? binDir : undefined;
}

/**
 * Builds `packages` of the module once per (go.mod, go.sum, Go version, ldflags, packages) and
 * caches the binaries, so later calls cost one `go version`. The module sums pin every line of
 * upstream code, which is why they, and not timestamps, make the key.
 */
export async function goBuild(ctx: TestbedContext, options: GoBuildOptions): Promise<string> {
  const { moduleDir, binDir, version } = await buildPlace(ctx, options);
  const name = basename(moduleDir);
  const marker = join(binDir, ".complete");
  if (existsSync(marker)) return binDir;

  mkdirSync(join(ctx.stateDir, "logs"), { recursive: true });
  const log = join(ctx.stateDir, "logs", `build-${name}.log`);
  const tmpDir = `${binDir}.tmp-${process.pid}`;
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true });
  const args = ["build", "-trimpath"];
  if (options.ldflags) args.push("-ldflags", options.ldflags);
  args.push("-o", `${tmpDir}/`, ...options.packages);

  ctx.log(`${name}: building ${options.packages.length} Go package(s) (${version}); log ${log}`);
  const started = Date.now();
  const fd = openSync(log, "w");
  writeFileSync(fd, `# cd ${moduleDir} && CGO_ENABLED=0 go ${args.join(" ")}\n`);
  const ticker = setInterval(() => {
    ctx.log(`${name}: still building (${Math.round((Date.now() - started) / 1000)}s)`);
  }, 30_000);
  try {
    const code = await new Promise<number>((resolvePromise, reject) => {
      const child = spawn("go", args, {
        cwd: moduleDir,
        env: {
          ...process.env,
          CGO_ENABLED: "0",
          GOFLAGS: `${process.env.GOFLAGS ?? ""} -mod=readonly`.trim(),
        },
        stdio: ["ignore", fd, fd],
      });
      child.once("error", reject);
      child.once("exit", (exitCode) => resolvePromise(exitCode ?? 1));
    });
    if (code !== 0) {
      rmSync(tmpDir, { recursive: true, force: true });
      const tail = readFileSync(log, "utf8").trimEnd().split("\n").slice(-15).join("\n    ");
      throw new Error(`${name}: go build failed (exit ${code}); full log: ${log}\n    ${tail}`);
    }
  } finally {
    clearInterval(ticker);
    closeSync(fd);
  }
  writeFileSync(join(tmpDir, ".complete"), `${options.packages.join("\n")}\n`);
  rmSync(binDir, { recursive: true, force: true });
  renameSync(tmpDir, binDir);
  ctx.log(`${name}: built in ${Math.round((Date.now() - started) / 1000)}s -> ${binDir}`);
  return binDir;
}
