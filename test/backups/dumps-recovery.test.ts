/**
 * plinth's own recovery material into the backup bucket (cli/recovery-copy.ts, run after every
 * apply with Vault), against the test bed's S3 server: the unseal file's encrypted bytes copied
 * as they are, once; OpenBao's static seal key encrypted with PLINTH_VAULT_PASSPHRASE before it
 * leaves, never in plaintext, and decryptable by plinth's own reader.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommandContext } from "../../src/cli/command.js";
import {
  copyRecoveryMaterial,
  copyVaultRecovery,
  staticKeyCopyKey,
  unsealCopyKey,
} from "../../src/cli/recovery-copy.js";
import { openSession } from "../../src/cli/session.js";
import { sessionVaultAccess } from "../../src/cli/vault-access.js";
import { resolve } from "../../src/model/resolve.js";
import type { ResolvedEnvironment } from "../../src/model/types.js";
import { readUnsealFile, unsealFilePath, writeUnsealFile } from "../../src/providers/vault/unseal-file.js";
import { exampleWith, projectWithConfig } from "../helpers/config.js";
import { testbedEnv } from "../testbed/env.js";
import { backupsSettings } from "./config.js";

const run = `rc${process.pid}${randomBytes(2).toString("hex")}`;
const PASSPHRASE = `correct horse ${randomBytes(8).toString("hex")}`;
const ADDRESS = "https://vault.example.com";

let dir: string;
let s3: S3Client;
const variables = () => ({
  BACKUP_S3_KEY_ID: testbedEnv("AWS_ACCESS_KEY_ID"),
  BACKUP_S3_SECRET: testbedEnv("AWS_SECRET_ACCESS_KEY"),
});

function environment(vault?: { engine: "openbao"; unseal: "static" }): ResolvedEnvironment {
  return resolve(
    exampleWith((raw) => {
      const b = backupsSettings();
      raw.defaults = {
        ...raw.defaults,
        backups: {
          ...b,
          destination: {
            ...b.destination,
            bucket: testbedEnv("S3_BUCKET"),
            endpoint: testbedEnv("S3_ENDPOINT"),
            region: testbedEnv("AWS_REGION"),
            path: `recovery-test/${run}`,
          },
        },
      };
      const prod = raw.environments.prod;
      if (prod && vault) prod.vault = { ...prod.vault, ...vault };
    }),
    "prod",
  );
}

async function object(key: string): Promise<Buffer | undefined> {
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: testbedEnv("S3_BUCKET"), Key: key }));
    return Buffer.from((await got.Body?.transformToByteArray()) ?? []);
  } catch {
    return undefined;
  }
}

async function listed(prefix: string): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: testbedEnv("S3_BUCKET"), Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key ?? "");
}

describe("Vault's recovery material in the backup bucket", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "plinth-recovery-"));
    s3 = new S3Client({
      endpoint: testbedEnv("S3_ENDPOINT"),
      region: testbedEnv("AWS_REGION"),
      forcePathStyle: true,
      credentials: {
        accessKeyId: testbedEnv("AWS_ACCESS_KEY_ID"),
        secretAccessKey: testbedEnv("AWS_SECRET_ACCESS_KEY"),
      },
    });
  });
  afterAll(() => {
    s3?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("copies the unseal file byte for byte to <path>/<primary env>/vault/, once, and again when it changes", async () => {
    const env = environment();
    const file = join(dir, `${env.cluster.name}.unseal.enc`);
    const material = {
      keys: [randomBytes(32).toString("base64"), randomBytes(32).toString("base64")],
      threshold: 2,
      shares: 2,
      rootToken: `hvs.${randomBytes(12).toString("hex")}`,
    };
    await writeUnsealFile(file, material, {
      passphrase: PASSPHRASE,
      cluster: env.cluster.name,
      address: ADDRESS,
    });
    const key = `recovery-test/${run}/prod/${unsealCopyKey(env.cluster.name)}`;

    const first = await copyRecoveryMaterial({
      env,
      unsealFile: file,
      variables: variables(),
      address: ADDRESS,
    });
    expect(first).toEqual([`unseal file ${file} → s3://${testbedEnv("S3_BUCKET")}/${key}: created`]);
    const stored = await object(key);
    expect(stored?.equals(readFileSync(file))).toBe(true);
    // Encrypted as it was: none of the keys, nor the root token, in the stored bytes.
    const text = stored?.toString("utf8") ?? "";
    for (const secret of [...material.keys, material.rootToken]) expect(text).not.toContain(secret);

    const again = await copyRecoveryMaterial({
      env,
      unsealFile: file,
      variables: variables(),
      address: ADDRESS,
    });
    expect(again[0]).toMatch(/: unchanged$/);

    await writeUnsealFile(
      file,
      { ...material, token: "hvs.newtoken" },
      { passphrase: PASSPHRASE, cluster: env.cluster.name, address: ADDRESS, replace: true },
    );
    const changed = await copyRecoveryMaterial({
      env,
      unsealFile: file,
      variables: variables(),
      address: ADDRESS,
    });
    expect(changed[0]).toMatch(/: updated$/);
    expect((await object(key))?.equals(readFileSync(file))).toBe(true);
  });

  it("copies OpenBao's static seal key only encrypted, readable back with the passphrase, once per key", async () => {
    const env = environment({ engine: "openbao", unseal: "static" });
    const sealKey = randomBytes(32).toString("hex");
    const missingFile = join(dir, "absent.unseal.enc");
    const base = {
      env,
      unsealFile: missingFile,
      variables: variables(),
      address: ADDRESS,
      readStaticKey: async () => sealKey,
    };
    const prefix = `recovery-test/${run}/prod/vault/`;

    // Without the passphrase nothing of the key leaves the machine.
    const refused = await copyRecoveryMaterial(base);
    expect(refused).toContain(
      "PLINTH_VAULT_PASSPHRASE is not set: OpenBao's static seal key was not copied (it is never stored unencrypted)",
    );
    expect((await listed(prefix)).filter((k) => k.includes("static-seal-key"))).toEqual([]);

    const lines = await copyRecoveryMaterial({ ...base, passphrase: PASSPHRASE });
    const key = `recovery-test/${run}/prod/${staticKeyCopyKey(env.cluster.name, sealKey)}`;
    expect(lines).toContain(
      `OpenBao's static seal key, encrypted with PLINTH_VAULT_PASSPHRASE → s3://${testbedEnv("S3_BUCKET")}/${key}: created`,
    );
    expect(lines[0]).toContain("no unseal file at");
    const stored = await object(key);
    if (!stored) throw new Error(`${key} was not stored`);
    expect(stored.toString("utf8")).not.toContain(sealKey);
    expect(stored.toString("utf8")).not.toContain(Buffer.from(sealKey).toString("base64"));
    // What a restore does with it: plinth's own reader, the passphrase, the key back.
    const back = join(dir, "static.enc");
    writeFileSync(back, stored, { mode: 0o600 });
    const opened = await readUnsealFile(back, {
      passphrase: PASSPHRASE,
      cluster: env.cluster.name,
      address: ADDRESS,
    });
    expect(opened.staticSealKey).toBe(sealKey);

    const again = await copyRecoveryMaterial({ ...base, passphrase: PASSPHRASE });
    expect(again.at(-1)).toMatch(/: unchanged$/);
    expect((await listed(prefix)).filter((k) => k.includes("static-seal-key"))).toEqual([key]);
  }, 30_000);

  it("says what was not copied when the backup token's variables are unset, and copies nothing without backups", async () => {
    const env = environment();
    const lines = await copyRecoveryMaterial({
      env,
      unsealFile: join(dir, "x.enc"),
      variables: {},
      address: ADDRESS,
    });
    expect(lines).toEqual([
      "BACKUP_S3_KEY_ID and BACKUP_S3_SECRET not set: Vault's recovery material was not copied to the backup bucket",
    ]);
    const plain = resolve(
      exampleWith(() => undefined),
      "prod",
    );
    expect(
      await copyRecoveryMaterial({ env: plain, unsealFile: "x", variables: variables(), address: ADDRESS }),
    ).toEqual([]);
  });

  it("after an apply: the session's own unseal file is copied as the CLI wires it, and a refused copy is a warning, not a failure", async () => {
    const path = `recovery-test/${run}/cli`;
    const project = projectWithConfig(`import { defineConfig, secret } from "plinth";
export default defineConfig({
  project: "acme",
  clusters: { rv: { type: "existing", kubeconfig: ${JSON.stringify(testbedEnv("KUBECONFIG"))} } },
  environments: {
    rv: {
      kind: "staging",
      cluster: "rv",
      baseDomain: "example.com",
      internalDomain: "example.org",
      acmeEmail: "ops@example.com",
      features: { vault: true, observability: false },
      backups: {
        schedule: "0 3 * * *",
        destination: { bucket: ${JSON.stringify(testbedEnv("S3_BUCKET"))}, endpoint: ${JSON.stringify(testbedEnv("S3_ENDPOINT"))}, region: ${JSON.stringify(testbedEnv("AWS_REGION"))}, path: ${JSON.stringify(path)}, credentials: { accessKeyId: secret.env("BACKUP_S3_KEY_ID"), secretAccessKey: secret.env("BACKUP_S3_SECRET") } },
      },
    },
  },
});
`);
    const file = unsealFilePath(project, "rv");
    await writeUnsealFile(
      file,
      { keys: [randomBytes(32).toString("base64")], threshold: 1, shares: 1 },
      { passphrase: PASSPHRASE, cluster: "rv", address: ADDRESS },
    );
    let stderr = "";
    const ctx = (vars: Record<string, string>): CommandContext => ({
      cwd: project,
      env: {
        PATH: process.env.PATH,
        VAULT_ADDR: "http://127.0.0.1:8200",
        PLINTH_VAULT_PASSPHRASE: PASSPHRASE,
        ...vars,
      },
      stdout: () => undefined,
      stderr: (t) => (stderr += t),
    });
    const args = { positionals: ["rv"], values: {} };
    const good = ctx(variables());
    const session = await openSession(args, good, "rv");
    const access = sessionVaultAccess(session, args, good);
    if (!access) throw new Error("rv has no Vault");
    await copyVaultRecovery(session, good, access);
    const key = `${path}/rv/${unsealCopyKey("rv")}`;
    expect(stderr).toBe(`backup: unseal file ${file} → s3://${testbedEnv("S3_BUCKET")}/${key}: created\n`);
    expect((await object(key))?.equals(readFileSync(file))).toBe(true);

    stderr = "";
    const denied = ctx({
      BACKUP_S3_KEY_ID: testbedEnv("AWS_ACCESS_KEY_ID"),
      BACKUP_S3_SECRET: "not-the-secret",
    });
    await copyVaultRecovery(session, denied, access);
    expect(stderr).toMatch(
      /^warning: Vault's recovery material was not copied to the backup bucket: .*access to bucket \S+ at \S+ was denied/,
    );
    expect(stderr).not.toContain("not-the-secret");
  }, 30_000);
});
