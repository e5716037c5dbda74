/**
 * The scratch-Vault check of a restore drill, and the canary it reads. At apply plinth makes sure
 * a canary secret exists in Vault (a CSPRNG value, written once) and records only its sha256 in
 * state. A drill starts a throw-away Vault on the restored platform database
 * (catalog/drill-checks.ts), unseals it with the environment's own material (the unseal file's
 * key shares; OpenBao's static seal unseals itself from the same key Secret), reads the canary and
 * compares its hash with the recorded one. The value passes through memory only.
 */
import { createHash, randomBytes } from "node:crypto";
import { DEFAULT_LAYOUT } from "../catalog/vault-layout.js";
import type { KubeApi } from "../providers/kubernetes/api.js";
import { proxyPath } from "../providers/kubernetes/health.js";
import type { VaultAccess } from "../providers/vault/access.js";
import type { VaultClient } from "../providers/vault/client.js";
import { readSecret, writeSecret } from "../providers/vault/kv.js";
import { authenticate } from "../providers/vault/token.js";
import { sleep } from "./side-objects.js";

/** Where the canary lives: KV v2 `secret/plinth/drill-canary`, key `value`. */
export const CANARY = { mount: DEFAULT_LAYOUT.mount, path: "plinth/drill-canary", key: "value" } as const;
/** Its hash's key in state outputs. */
export const CANARY_OUTPUT = "vault.drill-canary";

export const canaryHash = (value: string): string =>
  `sha256:${createHash("sha256").update(value, "utf8").digest("hex")}`;

/**
 * The canary's hash, writing the canary first when Vault has none (check-and-set 0: a concurrent
 * apply's write wins and is then read). It never changes afterwards, so every backup taken after
 * the first apply holds it.
 */
export async function ensureDrillCanary(client: VaultClient): Promise<string> {
  const existing = await readSecret(client, CANARY.mount, CANARY.path);
  const value = existing?.data[CANARY.key];
  if (value) return canaryHash(value);
  try {
    await writeSecret(
      client,
      CANARY.mount,
      CANARY.path,
      { [CANARY.key]: randomBytes(32).toString("hex") },
      0,
    );
  } catch (e) {
    if (!(await readSecret(client, CANARY.mount, CANARY.path))) throw e;
  }
  const written = (await readSecret(client, CANARY.mount, CANARY.path))?.data[CANARY.key];
  if (!written) throw new Error(`${CANARY.mount}/${CANARY.path} was written but reads back empty`);
  return canaryHash(written);
}

/**
 * At apply, once Vault is converged: the canary's hash, with the token plinth works with
 * (VAULT_TOKEN, else its own from the unseal file, else the file's root token).
 */
export async function drillCanaryHash(access: Pick<VaultAccess, "client" | "lifecycle">): Promise<string> {
  const { client } = await authenticate(access.client, {
    lifecycle: access.lifecycle,
    layout: DEFAULT_LAYOUT,
    write: false,
  });
  return ensureDrillCanary(client);
}

/** One HTTP exchange with a Vault; resolves for every status. */
export type VaultCall = (
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  token?: string,
) => Promise<{ status: number; body: Record<string, unknown> }>;

/** A Vault behind the API server's service proxy (the scratch Vault in the cluster). */
export function proxiedVault(
  api: Pick<KubeApi, "exchange">,
  namespace: string,
  service: string,
  port: number,
): VaultCall {
  return async (method, path, body, token) => {
    const answer = await api.exchange(
      method,
      proxyPath(namespace, service, port, `v1/${path}`),
      body === undefined ? undefined : JSON.stringify(body),
      token ? { "X-Vault-Token": token } : {},
    );
    let parsed: Record<string, unknown> = {};
    try {
      parsed = answer.body ? (JSON.parse(answer.body) as Record<string, unknown>) : {};
    } catch {
      parsed = {};
    }
    return { status: answer.code, body: parsed };
  };
}

/** A Vault reached directly (a port-forward, the test's local server), through plinth's client. */
export function directVault(client: VaultClient): VaultCall {
  return async (method, path, body, token) => {
    const c = token ? client.withToken(token) : client;
    const r = await c.request<Record<string, unknown>>(method, path, body);
    return { status: r.status, body: r.body ?? {} };
  };
}

export interface ScratchVaultOptions {
  /** Key shares from the unseal file (Shamir); absent for a Vault that unseals itself. */
  keys?: readonly string[];
  /** Tokens to read the canary with, in order (plinth's, then root): the restore holds both. */
  tokens: readonly string[];
  /** The canary hash recorded in state at apply; absent: nothing to compare (reported). */
  expectedHash?: string;
  timeoutMs: number;
  pollMs?: number;
}

export interface ScratchVaultResult {
  /** Answered on the restored storage at all. */
  started: boolean;
  unsealed: boolean;
  canary: "matched" | "differs" | "missing" | "unreadable" | "not-recorded" | "not-checked";
  ok: boolean;
  failure?: string;
}

/**
 * Waits for the scratch Vault to answer, unseals it, reads the canary. OK when it unsealed and the
 * canary's hash is the recorded one (or none was recorded yet: then only the unseal is proven,
 * which the result says).
 */
export async function checkScratchVault(
  call: VaultCall,
  o: ScratchVaultOptions,
): Promise<ScratchVaultResult> {
  const result: ScratchVaultResult = { started: false, unsealed: false, canary: "not-checked", ok: false };
  const deadline = Date.now() + o.timeoutMs;
  let health: { status: number; body: Record<string, unknown> } | undefined;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    try {
      health = await call("GET", "sys/seal-status");
      if (health.status === 200 && typeof health.body.sealed === "boolean") break;
      last = `seal-status answered ${health.status}`;
    } catch (e) {
      last = (e as Error).message.split("\n")[0] ?? "unreachable";
    }
    health = undefined;
    await sleep(o.pollMs ?? 2_000);
  }
  if (!health)
    return { ...result, failure: `the scratch Vault did not answer within ${o.timeoutMs / 1000} s: ${last}` };
  result.started = true;
  if (health.body.initialized === false) {
    return {
      ...result,
      failure: "the scratch Vault sees an uninitialized storage: the restore lacks Vault's data",
    };
  }
  if (health.body.sealed === true) {
    if (health.body.type !== "shamir") {
      return {
        ...result,
        failure: `the scratch Vault (seal "${String(health.body.type)}") did not unseal itself: the seal key does not open the restored data`,
      };
    }
    if (!o.keys?.length) {
      return {
        ...result,
        failure:
          "the scratch Vault is sealed and no unseal keys were given (set PLINTH_VAULT_PASSPHRASE for the unseal file's)",
      };
    }
    await call("POST", "sys/unseal", { reset: true });
    for (const key of o.keys) {
      const r = await call("POST", "sys/unseal", { key });
      if (r.status >= 400)
        return { ...result, failure: `the restored Vault refused an unseal key (${r.status})` };
      if (r.body.sealed === false) break;
    }
    const after = await call("GET", "sys/seal-status");
    if (after.body.sealed !== false) {
      return { ...result, failure: "the restored Vault is still sealed after every key of the unseal file" };
    }
  }
  result.unsealed = true;
  if (o.tokens.length === 0) {
    return {
      ...result,
      canary: "unreadable",
      failure:
        "no token to read the canary with (set VAULT_TOKEN, or PLINTH_VAULT_PASSPHRASE for the unseal file's)",
    };
  }
  // Active once unsealed (a moment after, on a slow disk): reads before that answer 503.
  let value: string | undefined;
  let status = 0;
  for (const token of o.tokens) {
    while (Date.now() < deadline) {
      const r = await call("GET", `${CANARY.mount}/data/${CANARY.path}`, undefined, token);
      status = r.status;
      if (r.status !== 503) {
        const data = (r.body.data as { data?: Record<string, string> } | undefined)?.data;
        value = data?.[CANARY.key];
        break;
      }
      await sleep(o.pollMs ?? 2_000);
    }
    if (status === 200 || status === 404) break;
  }
  if (status === 404)
    return { ...result, canary: "missing", failure: "the canary is not in the restored Vault" };
  if (status !== 200 || !value) {
    return {
      ...result,
      canary: "unreadable",
      failure: `the canary could not be read (${status}) with any token given`,
    };
  }
  if (!o.expectedHash) {
    return { ...result, canary: "not-recorded", ok: true };
  }
  if (canaryHash(value) !== o.expectedHash) {
    return { ...result, canary: "differs", failure: "the restored canary is not the one recorded at apply" };
  }
  return { ...result, canary: "matched", ok: true };
}
