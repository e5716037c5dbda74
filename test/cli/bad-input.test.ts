import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, EXAMPLE_PATH, projectWithConfig, tempDir } from "../helpers/config.js";

const EXAMPLE = readFileSync(EXAMPLE_PATH, "utf8");

/** A project whose config is the example with one textual change. */
function projectWith(from: string | RegExp, to: string): string {
  const source = EXAMPLE.replace(from, to);
  expect(source).not.toBe(EXAMPLE);
  return projectWithConfig(source);
}

/**
 * GIVEN a bad input, WHEN any command runs, THEN it exits 2 with `file: path: what (fix)`,
 * prints no stack trace, and writes nothing (render's --out folder is never created).
 */
async function expectUserError(cwd: string, argv: string[], ...expected: (string | RegExp)[]) {
  const out = join(cwd, "out");
  for (const args of [argv, ["render", argv[1] ?? "staging", "--out", out]]) {
    const r = await cli(args, cwd);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    for (const e of expected) expect(r.stderr).toMatch(e);
    expect(existsSync(out)).toBe(false);
  }
}

describe("bad input gets a clear error, exit 2, nothing written", () => {
  it("unknown environment", async () => {
    const dir = projectWithConfig(EXAMPLE);
    await expectUserError(
      dir,
      ["plan", "preview", "--offline"],
      'unknown environment "preview"',
      "dev, ci, test, staging, prod",
    );
  });

  it("unknown component id", async () => {
    const dir = projectWith(
      "features: { observability: true } },\n    prod",
      "features: { observability: true }, components: { mongo: { enabled: true } } },\n    prod",
    );
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      "plinth.config.ts: environments.staging.components: unknown component mongo",
      "component ids are k3s, traefik",
    );
  });

  it("missing config file", async () => {
    const dir = tempDir();
    await expectUserError(dir, ["plan", "staging", "--offline"], "no plinth config found", "--config PATH");
    const r = await cli(["validate", "--config", "nope.ts"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("config file nope.ts does not exist");
  });

  it("a TypeScript syntax error names the file, line and column", async () => {
    const dir = projectWith('project: "acme",', 'project: "acme",,');
    await expectUserError(dir, ["plan", "staging", "--offline"], /plinth\.config\.ts:\d+:\d+: /);
  });

  it("a host deeper than one label below its zone (prefix a.b)", async () => {
    const dir = projectWith('domainPrefix: "x-staging"', 'domainPrefix: "a.b"');
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      "plinth.config.ts: environments.staging.domainPrefix: gives host a.b.example.com, more than one label below zone example.com",
      '"a-b"',
    );
  });

  it("duplicate hosts across services", async () => {
    const dir = projectWith(
      'domainPrefix: "x-staging",',
      'domainPrefix: "x-staging", hosts: { backend: "x-staging.example.com" },',
    );
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      "host x-staging.example.com is claimed by both frontend and backend",
    );
  });

  it("a literal secret", async () => {
    const dir = projectWith('user: "root",', 'user: "root", password: "hunter2hunter2",');
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      "clusters.staging.vps.password: is a literal secret",
      "secret.env",
    );
  });

  it("a change-me placeholder, wherever it is", async () => {
    const dir = projectWith(
      'acmeEmail: "ops@example.com",',
      'acmeEmail: "ops@example.com", redis_password: "change-me",',
    );
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      "defaults.redis_password: is a placeholder secret",
    );
  });

  it("a dependency cycle", async () => {
    const dir = projectWith(
      "features: { observability: true } },\n    prod",
      'features: { observability: true }, components: { redis: { dependsOn: ["clickhouse"] }, clickhouse: { dependsOn: ["redis"] } } },\n    prod',
    );
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      /dependency cycle: (clickhouse → redis → clickhouse|redis → clickhouse → redis)/,
    );
  });

  it("a component placed on a cluster that does not exist", async () => {
    const dir = projectWith(
      "features: { observability: true } },\n    prod",
      'features: { observability: true }, components: { signoz: { placement: { cluster: "observability" } } } },\n    prod',
    );
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      'environments.staging.components.signoz.placement.cluster: cluster "observability" does not exist',
    );
  });

  it("a storage size that is not a Kubernetes quantity", async () => {
    const dir = projectWith(
      'domainPrefix: "x-staging",',
      'domainPrefix: "x-staging", storage: { postgres: "50 gigs" },',
    );
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      "environments.staging.storage.postgres: is not a Kubernetes quantity",
    );
  });

  it("a VPS too small for what is placed on it (SigNoz alone needs 8 GB)", async () => {
    const dir = projectWith(
      /memory: "16Gi",\n {8}cores: 8,\n {6}},\n {6}k3s: \{ channel: "stable", version: "v1.33.5\+k3s1" \},\n {4}},\n {4}prod/,
      'memory: "4Gi",\n        cores: 8,\n      },\n      k3s: { channel: "stable", version: "v1.33.5+k3s1" },\n    },\n    prod',
    );
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      "clusters.staging.vps.memory: cluster staging has 4Gi of memory",
      "signoz 8Gi",
      "move signoz elsewhere",
    );
  });

  it("an unknown command or flag", async () => {
    const dir = projectWithConfig(EXAMPLE);
    const cmd = await cli(["deploy", "staging"], dir);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain('unknown command "deploy"');
    const flag = await cli(["plan", "staging", "--offline", "--colour"], dir);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--colour");
  });

  it("a flag value that is not what the flag takes: named, before any SSH, plan or change", async () => {
    const dir = projectWithConfig(EXAMPLE);
    for (const [argv, expected] of [
      [["apply", "staging", "--yes", "--timeout", "soon"], '--timeout: is not a duration: "soon"'],
      [["bootstrap", "staging", "--yes", "--timeout", "1h30"], '--timeout: is not a duration: "1h30"'],
      [
        ["apply", "staging", "--yes", "--concurrency", "0"],
        '--concurrency: must be a whole number of at least 1, not "0"',
      ],
      [
        ["plan", "staging", "--concurrency", "four"],
        '--concurrency: must be a whole number of at least 1, not "four"',
      ],
    ] as const) {
      const r = await cli([...argv], dir);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(expected);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      // The example's staging is a VPS nobody has: getting past the flags would be an SSH error.
      expect(r.stderr).not.toMatch(/ssh|connect/i);
    }
  });

  it("validate reports every error at once and exits 2", async () => {
    const dir = projectWith('domainPrefix: "x-staging",', 'domainPrefix: "a.b", storage: { redis: "lots" },');
    writeFileSync(join(dir, "keep.txt"), "x");
    const r = await cli(["validate"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("environments.staging.storage.redis");
  });
});
