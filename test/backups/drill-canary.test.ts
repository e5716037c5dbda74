/**
 * The restore drill's canary as apply writes it, on a real (non-dev) OpenBao from the test bed's
 * binary, initialized by plinth's own lifecycle (the unseal file holds the root token): written
 * once (32 CSPRNG bytes, hex), only its sha256 handed back for state, the same on every later run.
 */
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CANARY, drillCanaryHash } from "../../src/apply/drill-vault.js";
import { VaultClient } from "../../src/providers/vault/client.js";
import { readSecret } from "../../src/providers/vault/kv.js";
import { ensureVaultReady } from "../../src/providers/vault/lifecycle.js";
import { tempDir } from "../helpers/config.js";
import { type BaoServer, startBao } from "../vault/server.js";

let bao: BaoServer | undefined;

afterAll(async () => {
  await bao?.stop();
});

describe("the drill canary at apply", () => {
  it("is written once, and only its hash leaves", async () => {
    bao = await startBao();
    const lifecycle = {
      cluster: "canary",
      unsealFile: join(tempDir(), "canary.unseal.enc"),
      passphrase: randomBytes(16).toString("hex"),
    };
    const client = new VaultClient({ address: bao.address });
    const ready = await ensureVaultReady(client, lifecycle);
    const root = client.withToken(ready.rootToken ?? "");
    await root.call("POST", "sys/mounts/secret", { type: "kv", options: { version: "2" } });
    let hash = "";
    for (let i = 0; !hash; i++) {
      // A new KV v2 mount answers 400 ("Upgrading ...") for a moment.
      hash = await drillCanaryHash({ client, lifecycle }).catch(async (e: Error) => {
        if (i > 100 || !e.message.includes("Upgrading")) throw e;
        await new Promise((r) => setTimeout(r, 300));
        return "";
      });
    }
    const stored = await readSecret(root, CANARY.mount, CANARY.path);
    const value = stored?.data[CANARY.key] ?? "";
    expect(value).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(`sha256:${createHash("sha256").update(value).digest("hex")}`);
    expect(hash).not.toContain(value);
    expect(await drillCanaryHash({ client, lifecycle })).toBe(hash);
    expect((await readSecret(root, CANARY.mount, CANARY.path))?.version).toBe(1);
  }, 120_000);
});
