/**
 * What `plinth restore-drill` hands its checks: the unseal file's key shares and tokens (read with
 * PLINTH_VAULT_PASSPHRASE, as plinth wrote it), VAULT_TOKEN first, the canary's hash from state;
 * no Vault check for an environment without Vault. A real unseal file in a temp folder, no test bed.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CANARY_OUTPUT } from "../../src/apply/drill-vault.js";
import { backedUpDatabases } from "../../src/catalog/backup-targets.js";
import { drillChecks } from "../../src/cli/drill-checks.js";
import type { Session } from "../../src/cli/session.js";
import { resolve } from "../../src/model/resolve.js";
import { unsealFilePath, writeUnsealFile } from "../../src/providers/vault/unseal-file.js";
import { exampleWith, tempDir } from "../helpers/config.js";
import { backupsSettings } from "./config.js";

const env = resolve(
  exampleWith((raw) => {
    raw.defaults = { ...raw.defaults, backups: backupsSettings() };
    for (const name of ["dev", "ci"]) {
      const e = raw.environments[name];
      if (e) e.backups = { enabled: false } as never;
    }
  }),
  "staging",
);
const databases = backedUpDatabases(env);
const ctx = (vars: Record<string, string>) => ({ env: vars }) as never;

describe("the restore drill's check material", () => {
  it("keys and tokens from the unseal file, VAULT_TOKEN first, the canary hash from state", async () => {
    const dir = tempDir();
    const session = { env, loaded: { file: join(dir, "plinth.config.ts") } } as unknown as Session;
    const passphrase = randomBytes(16).toString("hex");
    await writeUnsealFile(
      unsealFilePath(dir, env.cluster.name),
      { keys: ["k1", "k2", "k3"], threshold: 2, shares: 3, rootToken: "root-t", token: "own-t" },
      { passphrase, cluster: env.cluster.name, address: "https://vault.example.org" },
    );
    expect(databases.map((d) => d.component)).toContain("platform-postgres");
    const checks = await drillChecks(
      session,
      ctx({ PLINTH_VAULT_PASSPHRASE: passphrase, VAULT_TOKEN: "env-t" }),
      databases,
      { [CANARY_OUTPUT]: "sha256:abc" },
      60_000,
    );
    expect(checks).toEqual({
      counts: true,
      timeoutMs: 60_000,
      vault: { tokens: ["env-t", "own-t", "root-t"], keys: ["k1", "k2", "k3"], expectedHash: "sha256:abc" },
    });
    // Without the passphrase: no keys, only VAULT_TOKEN; the check then says what to set.
    const bare = await drillChecks(session, ctx({ VAULT_TOKEN: "env-t" }), databases, undefined, 1_000);
    expect(bare.vault).toEqual({ tokens: ["env-t"] });
  });

  it("no Vault check where the environment has no Vault or its platform database is not drilled", async () => {
    const session = { env, loaded: { file: join(tempDir(), "plinth.config.ts") } } as unknown as Session;
    const business = databases.filter((d) => d.component === "postgres");
    expect(await drillChecks(session, ctx({}), business, undefined, 1_000)).toEqual({
      counts: true,
      timeoutMs: 1_000,
    });
  });
});
