import { createHash } from "node:crypto";
import { MANAGED_BY, type VaultLayout } from "../../catalog/vault-layout.js";
import { OIDC_SCOPES, USERPASS_PATH } from "../../catalog/vault-oidc.js";
import { UserError } from "../../diagnostics/diagnostic.js";
import type { VaultClient } from "./client.js";
import type { LifecycleOptions } from "./lifecycle.js";
import { readUnsealFile, writeUnsealFile } from "./unseal-file.js";

/**
 * plinth's own token. After bootstrap plinth works with a periodic token whose policy covers only
 * what plinth converges. The root token stays in the encrypted unseal file, beside the keys and
 * as well protected, and is used only to (re)make that token: OpenBao 2.5.3+ switched the
 * unauthenticated generate-root endpoints off and their replacement needs a valid token, so
 * revoking root would turn a lost or expired plinth token into a lockout (see README).
 */
export const MANAGER_POLICY = "plinth-manager";
/** Renewed on every run; a Vault left alone longer than this needs root once (automatic, above). */
const PERIOD = "768h";

/** Paths and capabilities plinth needs to converge a Vault; nothing else (no sys/raw, seal, other mounts). */
export function managerPolicy(layout: VaultLayout): string {
  const rule = (path: string, caps: string[]) =>
    `path "${path}" {\n  capabilities = [${caps.map((c) => `"${c}"`).join(", ")}]\n}`;
  const crud = ["create", "read", "update", "delete", "list"];
  return `${[
    `# ${MANAGED_BY}: plinth's own token`,
    rule("sys/mounts", ["read"]),
    rule(`sys/mounts/${layout.mount}`, ["create", "read", "update"]),
    rule(`sys/mounts/${layout.mount}/tune`, ["create", "read", "update"]),
    rule(`sys/mounts/${layout.database}/+`, crud),
    rule(`sys/mounts/${layout.database}/+/tune`, ["create", "read", "update"]),
    rule("sys/auth", ["read"]),
    rule(`sys/auth/${layout.authPath}`, ["create", "read", "update", "sudo"]),
    rule(`sys/auth/${layout.authPath}/tune`, ["create", "read", "update", "sudo"]),
    rule("sys/audit", ["read", "sudo"]),
    rule(`sys/audit/${layout.auditPath}`, ["create", "update", "sudo"]),
    rule("sys/policies/acl", ["list"]),
    rule("sys/policies/acl/plinth-*", crud),
    // Its own policy is not its to widen.
    rule(`sys/policies/acl/${MANAGER_POLICY}`, ["deny"]),
    rule(`auth/${layout.authPath}/config`, ["create", "read", "update"]),
    rule(`auth/${layout.authPath}/role`, ["list"]),
    rule(`auth/${layout.authPath}/role/plinth-*`, crud),
    rule(`${layout.mount}/data/*`, ["create", "read", "update"]),
    rule(`${layout.mount}/metadata/*`, ["create", "read", "update", "list"]),
    rule(`${layout.database}/+/config/*`, crud),
    rule(`${layout.database}/+/roles/*`, crud),
    rule(`${layout.database}/+/config`, ["list"]),
    rule(`${layout.database}/+/roles`, ["list"]),
    // The SSO gate's OIDC provider (sso: { provider: "vault" }): its sign-in method, the shared
    // scopes, the allowed groups (made when missing, read by name), and plinth-* key, assignment,
    // client and provider.
    rule(`sys/auth/${USERPASS_PATH}`, ["create", "read", "update", "sudo"]),
    ...Object.keys(OIDC_SCOPES).map((scope) =>
      rule(`identity/oidc/scope/${scope}`, ["create", "read", "update"]),
    ),
    rule("identity/group", ["create", "update"]),
    rule("identity/group/name/*", ["read"]),
    rule("identity/group/id/*", ["read"]),
    ...["key", "assignment", "client", "provider"].flatMap((kind) => [
      rule(`identity/oidc/${kind}`, ["list"]),
      rule(`identity/oidc/${kind}/plinth-*`, crud),
    ]),
  ].join("\n")}\n`;
}

const hashOf = (policy: string) => createHash("sha256").update(policy).digest("hex");

export interface TokenOptions {
  lifecycle: LifecycleOptions;
  layout: VaultLayout;
  /** The root token Vault handed out at init in this run. */
  rootToken?: string;
  /** false: plan only; nothing is created, renewed or revoked. */
  write: boolean;
}

export interface Authenticated {
  client: VaultClient;
  /** What plinth did or (plan) would do about its own token; undefined when nothing. */
  tokenChange?: "create" | "update";
}

/**
 * A client carrying the token plinth should use: VAULT_TOKEN when set (the operator's choice),
 * else plinth's own token from the unseal file (renewed), else one made now with root.
 */
export async function authenticate(client: VaultClient, o: TokenOptions): Promise<Authenticated> {
  if (client.hasToken()) return { client };
  const file = { passphrase: o.lifecycle.passphrase, cluster: o.lifecycle.cluster, address: client.address };
  const material = await readUnsealFile(o.lifecycle.unsealFile, { ...file, why: "needs a token" });
  const policy = managerPolicy(o.layout);
  if (material.token && material.policyHash === hashOf(policy)) {
    const own = client.withToken(material.token);
    const look = await own.request("GET", "auth/token/lookup-self");
    if (look.status === 200) {
      if (o.write) await own.call("PUT", "auth/token/renew-self", {});
      return { client: own };
    }
  }
  const tokenChange = material.token ? "update" : "create";
  if (!o.write) {
    // A plan can still read with a root token an older plinth left in the file.
    if (material.rootToken) return { client: client.withToken(material.rootToken), tokenChange };
    throw new UserError({
      severity: "error",
      path: o.lifecycle.unsealFile,
      message: `plinth's own token for Vault at ${client.address} is missing, expired or too narrow for this plinth version`,
      fix: "run plinth apply (or plinth secrets sync): it makes a new one from the unseal keys in this file",
    });
  }
  const root = o.rootToken ?? material.rootToken;
  if (!root) {
    throw new UserError({
      severity: "error",
      path: o.lifecycle.unsealFile,
      message: `holds no root token, and plinth's own token for Vault at ${client.address} is missing, expired or too narrow`,
      fix: "make a root token (bao operator generate-root-token / vault operator generate-root with a quorum of the keys in this file) and run once with VAULT_TOKEN set to it",
    });
  }
  const asRoot = client.withToken(root);
  await asRoot.call("PUT", `sys/policies/acl/${MANAGER_POLICY}`, { policy });
  const created = await asRoot.call<{ auth: { client_token: string } }>("POST", "auth/token/create-orphan", {
    policies: [MANAGER_POLICY],
    period: PERIOD,
    renewable: true,
    display_name: "plinth",
    meta: { "managed-by": "plinth" },
  });
  if (material.token) await asRoot.request("POST", "auth/token/revoke-orphan", { token: material.token });
  await writeUnsealFile(
    o.lifecycle.unsealFile,
    { ...material, rootToken: root, token: created.auth.client_token, policyHash: hashOf(policy) },
    { ...file, passphrase: o.lifecycle.passphrase as string, replace: true },
  );
  return { client: client.withToken(created.auth.client_token), tokenChange };
}
