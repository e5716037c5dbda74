import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { validateConfig } from "../../src/config/validate-config.js";
import { type Diagnostic, formatDiagnostic, UserError } from "../../src/diagnostics/diagnostic.js";
import { tempDir } from "../helpers/config.js";

type Raw = { [key: string]: unknown };

/** A small valid config (one VPS, one environment) in its raw, user-written form. */
function raw(): Raw {
  return {
    project: "acme",
    defaults: { baseDomain: "example.com", internalDomain: "example.org", acmeEmail: "ops@example.com" },
    clusters: {
      one: {
        type: "k3s-vps",
        vps: { host: "203.0.113.10", sshKey: { fromEnv: "SSH_KEY" }, memory: "16Gi", cores: 8 },
        k3s: { channel: "stable", version: "v1.33.5+k3s1" },
      },
    },
    environments: { staging: { cluster: "one" } },
  };
}

/** Sets (or, with `undefined`, removes) the value at each dotted path, making objects on the way. */
function changed(changes: Record<string, unknown>): Raw {
  const config = raw();
  for (const [path, value] of Object.entries(changes)) {
    const keys = path.split(".");
    const last = keys.pop() as string;
    let at = config;
    for (const k of keys) {
      at[k] ??= {};
      at = at[k] as Raw;
    }
    if (value === undefined) delete at[last];
    else at[last] = value;
  }
  return config;
}

/** Every line the config's check prints for the changes, as `file: path: message (fix)`. */
function lines(changes: Record<string, unknown>): string[] {
  const config = changed(changes);
  try {
    validateConfig(config, "plinth.config.ts");
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as UserError).diagnostics.map((d: Diagnostic) => formatDiagnostic(d));
  }
  throw new Error("the config was accepted");
}

const PEM = [
  "-----BEGIN OPENSSH PRIVATE KEY-----",
  "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
  "-----END OPENSSH PRIVATE KEY-----",
].join("\n");
const REF = 'secret.env("NAME") for an environment variable, or secret.file("path") for a file';

describe("the config's messages say what was given, what is expected and the fix", () => {
  it("the base config is valid (every case below is one change from it)", () => {
    expect(validateConfig(raw(), "plinth.config.ts").environments.staging?.cluster).toBe("one");
  });

  it("a number written as a string", () => {
    expect(lines({ "clusters.one.vps.cores": "8" })).toEqual([
      'plinth.config.ts: clusters.one.vps.cores: is the string "8", expected a number (write the number without quotes: cores: 8)',
    ]);
  });

  it("a boolean written as a string", () => {
    expect(lines({ "environments.staging.features.observability": "yes" })).toEqual([
      'plinth.config.ts: environments.staging.features.observability: is the string "yes", expected true or false (write observability: true or observability: false, without quotes)',
    ]);
  });

  it("a string written as a number", () => {
    expect(lines({ "environments.staging.cluster": 42 })).toEqual([
      'plinth.config.ts: environments.staging.cluster: is the number 42, expected a string (write it in quotes: cluster: "42")',
    ]);
  });

  it("a missing field is required, and only then", () => {
    expect(lines({ "clusters.one.vps.cores": undefined })).toEqual([
      "plinth.config.ts: clusters.one.vps.cores: is required (add cores, a number)",
    ]);
  });

  it("an unknown kind lists the allowed kinds", () => {
    expect(lines({ "environments.staging.kind": "preprod" })).toEqual([
      'plinth.config.ts: environments.staging.kind: is the string "preprod", not one of "dev", "ci", "test", "staging", "prod" (use one of those)',
    ]);
  });

  it("an unknown state backend lists the backends", () => {
    expect(lines({ state: { backend: "s4" } })).toEqual([
      'plinth.config.ts: state.backend: is the string "s4", not one of "local", "s3" (use one of those)',
    ]);
  });

  it("a placement in a known form with a wrong field names that field", () => {
    expect(lines({ "environments.staging.components.signoz.placement": { cluster: 7 } })).toEqual([
      'plinth.config.ts: environments.staging.components.signoz.placement.cluster: is the number 7, expected a string (write it in quotes: cluster: "7")',
    ]);
  });

  it("a placement in no known form lists the forms", () => {
    expect(lines({ "environments.staging.components.signoz.placement": "locall" })).toEqual([
      'plinth.config.ts: environments.staging.components.signoz.placement: is the string "locall", which is none of the allowed forms (write "local", { cluster: "name" } or { external: { url: secret.env("NAME") } })',
    ]);
  });

  it("a plain string where a secret reference goes is not quoted back", () => {
    expect(lines({ "clusters.one.vps.sshKey": "~/.ssh/id_ed25519" })).toEqual([
      `plinth.config.ts: clusters.one.vps.sshKey: is a string, which is none of the allowed forms (write ${REF})`,
    ]);
  });

  it("a pasted private key, wherever it is, is refused without being quoted", () => {
    for (const put of [
      { "clusters.one.vps.sshKey": PEM },
      { "clusters.one.vps.sshKey": { fromFile: PEM } },
    ]) {
      const out = lines(put);
      expect(out).toHaveLength(1);
      expect(out[0]).toMatch(
        /^plinth\.config\.ts: clusters\.one\.vps\.sshKey(\.fromFile)?: looks like a PEM private key; secrets never live in config \(keep it outside the config and refer to it: secret\.env\("NAME"\) for an environment variable, or secret\.file\("path"\) for a file\)$/,
      );
    }
    // The body of an OpenSSH key without its header is one too; and none is ever echoed.
    const body = PEM.split("\n")[1] as string;
    const bare = lines({ "environments.staging.hosts.backend": body });
    expect(bare).toEqual([
      `plinth.config.ts: environments.staging.hosts.backend: looks like an OpenSSH private key; secrets never live in config (keep it outside the config and refer to it: ${REF})`,
    ]);
    expect(bare.join("\n")).not.toContain(body.slice(0, 20));
  });

  it("a URL with credentials is refused with the secret reference fix, the password never shown", () => {
    const out = lines({
      "environments.staging.components.postgres.placement": {
        external: { url: "postgres://app:hunter2@db.example.com/app" },
      },
    });
    expect(out).toEqual([
      `plinth.config.ts: environments.staging.components.postgres.placement.external.url: looks like a URL with a password; secrets never live in config (keep it outside the config and refer to it: ${REF})`,
    ]);
    expect(out.join("\n")).not.toContain("hunter2");
  });

  it("a placeholder in a field that is not a secret gets advice that fits it", () => {
    expect(
      lines({ "defaults.acmeEmail": "change-me", "environments.staging.domainPrefix": "<prefix>" }),
    ).toEqual([
      "plinth.config.ts: defaults.acmeEmail: is a placeholder, not a value (write the real acmeEmail, or remove it to take the default)",
      "plinth.config.ts: environments.staging.domainPrefix: is a placeholder, not a value (write the real domainPrefix, or remove it to take the default)",
    ]);
  });

  it("a placeholder where a secret goes: generated secrets say so, references say where to point", () => {
    expect(lines({ "defaults.redisPassword": "change-me", "clusters.one.vps.sshKey": "change-me" })).toEqual([
      "plinth.config.ts: defaults.redisPassword: is a placeholder secret; plinth generates every credential and keeps it in a secret store (delete it (plinth generates it), or reference one with secret.env('NAME') or secret.file('path'))",
      `plinth.config.ts: clusters.one.vps.sshKey: is a placeholder where a secret reference goes (refer to the real one: ${REF})`,
    ]);
  });

  it("words that are placeholders only for secrets are ordinary values elsewhere", () => {
    const config = changed({
      "environments.staging.domainPrefix": "secret",
      "environments.todo": { cluster: "one", kind: "test" },
    });
    expect(Object.keys(validateConfig(config, "plinth.config.ts").environments)).toEqual(["staging", "todo"]);
  });

  it("a malformed email and a too-short value say what was given and what would do", () => {
    expect(lines({ "defaults.acmeEmail": "ops", "environments.staging.hosts.backend": "" })).toEqual([
      'plinth.config.ts: defaults.acmeEmail: is the string "ops", not an email address (write one such as ops@example.com)',
      'plinth.config.ts: environments.staging.hosts.backend: is the string "", expected at least 1 character (write a value, or remove the field)',
    ]);
  });

  it("a list that is too short counts items", () => {
    expect(lines({ "github.apply": { staging: [] } })).toEqual([
      "plinth.config.ts: github.apply.staging: is a list, expected at least 1 item (write at least 1 item)",
    ]);
  });

  it("an empty environments is an error with the fix", () => {
    expect(lines({ environments: {} })).toEqual([
      'plinth.config.ts: environments: has no environment; every command works on one (add one, such as environments: { staging: { cluster: "staging" } })',
    ]);
  });

  it("a syntax error at the end of the file points at what is still open, not at an empty line", async () => {
    const dir = tempDir("plinth-messages-");
    writeFileSync(join(dir, "plinth.config.ts"), 'export default {\n  project: "acme",\n');
    const e = await loadConfig({ cwd: dir }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).message).toBe(
      'plinth.config.ts:3:1: Expected identifier but found end of file (the file ends before the code does: close every {, [, ( and string still open above (a defineConfig({ ... }) config ends with "});"))',
    );
  });
});
