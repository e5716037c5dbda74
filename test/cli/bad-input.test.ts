import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
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
      "or turn signoz off (environments.staging.components.signoz.enabled: false)",
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

  it("a config that throws something that is not an Error says what it threw", async () => {
    for (const [thrown, words] of [
      ["null", "plinth.config.ts: failed while evaluating: threw null, not an Error"],
      ['"text"', 'plinth.config.ts: failed while evaluating: threw "text"'],
    ] as const) {
      const dir = projectWithConfig(`throw ${thrown};\n${EXAMPLE}`);
      await expectUserError(
        dir,
        ["plan", "staging", "--offline"],
        words,
        "fix the error in the config's code",
      );
      const r = await cli(["validate"], dir);
      expect(r.stderr).not.toContain("undefined");
    }
  });

  it("a config object that contains itself", async () => {
    const dir = projectWithConfig(
      EXAMPLE.replace("export default defineConfig({", "const config = defineConfig({").concat(
        "\n(config.defaults as Record<string, unknown>).again = config;\nexport default config;\n",
      ),
    );
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      "plinth.config.ts: defaults.again: refers back to the config itself",
      "make it a copy",
    );
  });

  it("a config that never settles stops at its time limit (PLINTH_CONFIG_TIMEOUT)", async () => {
    const dir = projectWithConfig(
      EXAMPLE.replace("export default defineConfig({", "export default new Promise(() => {}) ?? ({"),
    );
    process.env.PLINTH_CONFIG_TIMEOUT = "300ms";
    try {
      await expectUserError(
        dir,
        ["plan", "staging", "--offline"],
        "plinth.config.ts: did not finish evaluating within 0.3 s",
      );
      process.env.PLINTH_CONFIG_TIMEOUT = "soon";
      const r = await cli(["validate"], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('PLINTH_CONFIG_TIMEOUT: is not a duration: "soon"');
    } finally {
      delete process.env.PLINTH_CONFIG_TIMEOUT;
    }
    expect(readdirSync(dir).sort()).toEqual([".plinth", "plinth.config.ts"]);
  });

  it("render --out onto a file, or below one, names it and leaves it alone", async () => {
    const dir = projectWithConfig(EXAMPLE);
    writeFileSync(join(dir, "notes.txt"), "mine\n");
    for (const [out, words] of [
      ["notes.txt", "--out: notes.txt is a file, not a folder"],
      ["notes.txt/render", `--out: notes.txt/render is inside ${join(dir, "notes.txt")}, which is a file`],
    ] as const) {
      const r = await cli(["render", "staging", "--out", out], dir);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(words);
      expect(r.stderr).toContain("choose a new folder");
      expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe("mine\n");
    }
  });

  it("--config naming a folder, or a file that is not a config, is refused without quoting it", async () => {
    const dir = projectWithConfig(EXAMPLE);
    const folder = await cli(["validate", "--config", "."], dir);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain("--config . is a folder, not a config file");
    expect(folder.stderr).toContain("--config plinth.config.ts");
    expect(folder.stderr).not.toMatch(/TypeScript syntax/);

    const passwd = await cli(["validate", "--config", "/etc/passwd"], dir);
    expect(passwd.code).toBe(2);
    expect(passwd.stderr).toContain("--config /etc/passwd is not a TypeScript or JavaScript file");
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n").filter(Boolean)) {
      expect(passwd.stderr).not.toContain(line);
    }
    expect(passwd.stderr).not.toContain("root:");
  });

  it("destroy, status and refresh without an environment name their own command", async () => {
    const dir = projectWithConfig(EXAMPLE);
    for (const command of ["destroy", "status", "refresh", "unlock"]) {
      const r = await cli([command], dir);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`plinth ${command}: needs an environment name`);
      expect(r.stderr).toContain(`run plinth ${command} <env>`);
      expect(r.stderr).not.toContain("plinth apply");
    }
  });

  it("a field of the wrong type says what was given and what is expected", async () => {
    const dir = projectWith(
      'staging: { cluster: "staging", domainPrefix: "x-staging", features: { observability: true } }',
      'staging: { cluster: "staging", domainPrefix: "x-staging", features: { observability: "yes" as never } }',
    );
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      'plinth.config.ts: environments.staging.features.observability: is the string "yes", expected true or false (write observability: true or observability: false, without quotes)',
    );
  });

  it("an unknown kind lists the kinds", async () => {
    const dir = projectWith(
      'staging: { cluster: "staging",',
      'staging: { kind: "preprod" as never, cluster: "staging",',
    );
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      'plinth.config.ts: environments.staging.kind: is the string "preprod", not one of "dev", "ci", "test", "staging", "prod" (use one of those)',
    );
  });

  it("a pasted private key or a URL with a password is refused with the secret reference fix, never echoed", async () => {
    const key =
      "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA\\n-----END OPENSSH PRIVATE KEY-----";
    const dir = projectWith('sshKey: secret.env("STAGING_SSH_KEY")', `sshKey: "${key}" as never`);
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      'plinth.config.ts: clusters.staging.vps.sshKey: looks like a PEM private key; secrets never live in config (keep it outside the config and refer to it: secret.env("NAME") for an environment variable, or secret.file("path") for a file)',
    );
    const url = projectWith(
      "features: { observability: true } },\n    prod",
      'features: { observability: true }, components: { postgres: { placement: { external: { url: "postgres://app:s3cr3tpass@db.example.com/app" as never } } } } },\n    prod',
    );
    await expectUserError(
      url,
      ["plan", "staging", "--offline"],
      "environments.staging.components.postgres.placement.external.url: looks like a URL with a password",
      'secret.env("NAME")',
    );
    const r = await cli(["validate"], url);
    expect(r.stderr).not.toContain("s3cr3tpass");
  });

  it("change-me in a field that is not a secret is told as a missing value, not a generated secret", async () => {
    const dir = projectWith('acmeEmail: "ops@example.com",', 'acmeEmail: "change-me",');
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      "plinth.config.ts: defaults.acmeEmail: is a placeholder, not a value (write the real acmeEmail, or remove it to take the default)",
    );
    const r = await cli(["validate"], dir);
    expect(r.stderr).not.toContain("plinth generates it");
  });

  it("a syntax error at the end of the file gets a fix that points at what is still open", async () => {
    const dir = projectWithConfig(EXAMPLE.replace(/\}\);\s*$/, ""));
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      /plinth\.config\.ts:\d+:\d+: .*end of file \(the file ends before the code does: close every \{, \[, \( and string still open above \(a defineConfig\(\{ \.\.\. \}\) config ends with "\}\);"\)\)/,
    );
  });

  it("an empty environments is an error, and plan never offers an empty list", async () => {
    const dir = projectWithConfig(
      EXAMPLE.replace(/ {2}environments: \{[\s\S]*?\n {2}\},\n/, "  environments: {},\n"),
    );
    await expectUserError(
      dir,
      ["plan", "staging", "--offline"],
      'plinth.config.ts: environments: has no environment; every command works on one (add one, such as environments: { staging: { cluster: "staging" } })',
    );
    const r = await cli(["plan", "staging", "--offline"], dir);
    expect(r.stderr).not.toContain("use one of: ;");
  });

  it("dependsOn naming a component that is off is an error naming it", async () => {
    const dir = projectWith(
      'test: { cluster: "test" },',
      'test: { cluster: "test", components: { redis: { dependsOn: ["signoz"] } } },',
    );
    const r = await cli(["validate"], dir);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      "plinth.config.ts: environments.test.components.redis.dependsOn: redis depends on signoz, which is off in environment test (features.observability is off) (remove signoz from redis's dependsOn, or turn signoz on (environments.test.components.signoz.enabled: true))",
    );
    await expectUserError(
      dir,
      ["plan", "test", "--offline"],
      "redis depends on signoz, which is off in environment test",
    );
  });

  it("a component placed on a cluster no environment runs on is refused at validate", async () => {
    const dir = projectWith(
      /ci: \{ type: "existing"/,
      'obs: { type: "existing" },\n    ci: { type: "existing"',
    );
    const placed = join(dir, "plinth.config.ts");
    writeFileSync(
      placed,
      readFileSync(placed, "utf8").replace(
        "features: { observability: true } },\n    prod",
        'features: { observability: true }, components: { signoz: { placement: { cluster: "obs" } } } },\n    prod',
      ),
    );
    const r = await cli(["validate"], dir);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      "plinth.config.ts: environments.staging.components.signoz.placement.cluster: signoz is placed on cluster obs, which no environment runs on: nothing would set up the helm-controller, cert-manager or the Vault connection signoz's VaultAuth needs there (run signoz on this environment's cluster staging (remove the placement), or put environment staging itself on cluster obs (environments.staging.cluster: \"obs\"))",
    );
    await expectUserError(dir, ["plan", "staging", "--offline"], "signoz is placed on cluster obs");
  });

  it("validate reports every error at once and exits 2", async () => {
    const dir = projectWith('domainPrefix: "x-staging",', 'domainPrefix: "a.b", storage: { redis: "lots" },');
    writeFileSync(join(dir, "keep.txt"), "x");
    const r = await cli(["validate"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("environments.staging.storage.redis");
  });
});
