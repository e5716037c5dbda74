/**
 * The platform's Vault as the SSO gate's OpenID Connect issuer (`sso: { provider: "vault" }`):
 * userpass sign-in, the claim scopes, and per environment a key, the allowed identity groups, an
 * assignment to them, a confidential client with the gate's callback, and the provider. Planned
 * field by field beside the rest of Vault's configuration; the client's generated id and secret
 * are never part of a plan (the sso component's KV secret reads them at apply).
 */
import { clusterHost } from "../../catalog/cluster.js";
import { gateSettings } from "../../catalog/components/sso.js";
import { OIDC_DESCRIPTION, OIDC_SCOPES, oidcName, USERPASS_PATH } from "../../catalog/vault-oidc.js";
import { UserError } from "../../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import type { ChangeAction, FieldDiff, ProviderContext } from "../types.js";
import type { VaultClient } from "./client.js";
import type { VaultChange, VaultOidcSpec, VaultResource } from "./spec.js";

/** Signing keys rotate daily; a token signed by the previous key stays verifiable as long again. */
const KEY_ROTATION = 24 * 3600;
/** As long as OAuth2-Proxy's refresh period (--cookie-refresh=1h): the dashboard calls the API with it. */
const ID_TOKEN_TTL = 3600;
const ACCESS_TOKEN_TTL = 3600;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const sorted = (xs: readonly string[] | undefined | null) => [...(xs ?? [])].sort();

/** Whether this environment's gate uses its own Vault as the issuer. */
export function usesVaultIssuer(env: ResolvedEnvironment): boolean {
  return env.components.sso?.enabled === true && env.sso?.provider === "vault";
}

/**
 * The browser-facing address of Vault, which Vault puts in the issuer: `https://<vault host>`,
 * or the one given (a test's loopback OpenBao).
 */
export function oidcIssuerBase(env: ResolvedEnvironment, override?: string): string {
  if (override) return override.replace(/\/+$/, "");
  const host = clusterHost(env, "vault");
  if (!host) {
    throw new UserError({
      severity: "error",
      path: `environments.${env.name}.sso.provider`,
      message: "is vault, and Vault has no host in this cluster for browsers to sign in at",
      fix: "give Vault a host (hosts.vault), or use provider github or oidc",
    });
  }
  return `https://${host}`;
}

/** What the environment wants in Vault for its gate, in the order it must be made. */
export function oidcResources(env: ResolvedEnvironment, issuerBase?: string): VaultResource[] {
  if (!usesVaultIssuer(env) || env.sso?.provider !== "vault") return [];
  const name = oidcName(env.name);
  const r = (spec: VaultOidcSpec): VaultResource => ({
    provider: "vault",
    id: `vault:${spec.kind}:${"path" in spec ? spec.path : spec.name}`,
    component: "sso",
    spec,
  });
  return [
    r({ kind: "userpass", path: USERPASS_PATH, description: `${OIDC_DESCRIPTION}: people sign in here` }),
    ...Object.entries(OIDC_SCOPES).map(([scope, template]) =>
      r({ kind: "oidc-scope", name: scope, template, description: OIDC_DESCRIPTION }),
    ),
    ...env.sso.allowedGroups.map((group) => r({ kind: "identity-group", name: group })),
    r({
      kind: "oidc-key",
      name,
      rotationPeriodSeconds: KEY_ROTATION,
      verificationTtlSeconds: KEY_ROTATION,
    }),
    r({ kind: "oidc-assignment", name, groups: [...env.sso.allowedGroups] }),
    r({
      kind: "oidc-client",
      name,
      key: name,
      redirectUris: [gateSettings(env).redirectUrl],
      assignments: [name],
      idTokenTtlSeconds: ID_TOKEN_TTL,
      accessTokenTtlSeconds: ACCESS_TOKEN_TTL,
    }),
    r({
      kind: "oidc-provider",
      name,
      issuer: oidcIssuerBase(env, issuerBase),
      clients: [name],
      scopes: Object.keys(OIDC_SCOPES),
    }),
  ];
}

type Data<T> = { data: T } | undefined;

/** One piece against what Vault holds: create, update (with the fields that differ) or no-op. */
export async function planOidc(
  client: VaultClient,
  spec: VaultOidcSpec,
): Promise<{ action: ChangeAction; diff: FieldDiff[] }> {
  const diff: FieldDiff[] = [];
  const cmp = (path: string, before: unknown, after: unknown) => {
    if (!same(before, after)) diff.push({ path, before, after });
  };
  const created = (fields: Record<string, unknown>) => ({
    action: "create" as const,
    diff: Object.entries(fields).map(([path, after]) => ({ path, after })),
  });
  const result = (adopt = false) => ({
    action: (adopt ? "adopt" : diff.length ? "update" : "no-op") as ChangeAction,
    diff,
  });
  switch (spec.kind) {
    case "userpass": {
      const auths = await client.call<{ data?: Record<string, { type: string; description?: string }> }>(
        "GET",
        "sys/auth",
      );
      const live = (auths.data ?? (auths as Record<string, { type: string; description?: string }>))[
        `${spec.path}/`
      ];
      if (!live) return created({ type: "userpass" });
      if (live.type !== "userpass") {
        throw new UserError({
          severity: "error",
          path: `${client.address} auth/${spec.path}/`,
          message: `is a ${live.type} auth method, not userpass`,
          fix: "move that auth method: plinth's SSO sign-in uses userpass at this path",
        });
      }
      // Someone's own userpass mount is used as it is (its users sign in to the gate).
      return result();
    }
    case "oidc-scope": {
      const live: Data<{ template?: string; description?: string }> = await client.read(
        `identity/oidc/scope/${spec.name}`,
      );
      if (!live) return created({ template: spec.template });
      cmp("template", live.data.template, spec.template);
      return result(live.data.description !== spec.description);
    }
    case "identity-group": {
      const live: Data<{ id: string }> = await client.read(
        `identity/group/name/${encodeURIComponent(spec.name)}`,
      );
      return live ? result() : created({ type: "internal", members: "(none: add them in Vault)" });
    }
    case "oidc-key": {
      const live: Data<{
        rotation_period?: number;
        verification_ttl?: number;
        allowed_client_ids?: string[];
      }> = await client.read(`identity/oidc/key/${spec.name}`);
      if (!live) return created({ rotation_period: spec.rotationPeriodSeconds });
      cmp("rotation_period", live.data.rotation_period, spec.rotationPeriodSeconds);
      cmp("verification_ttl", live.data.verification_ttl, spec.verificationTtlSeconds);
      cmp("allowed_client_ids", sorted(live.data.allowed_client_ids), ["*"]);
      return result();
    }
    case "oidc-assignment": {
      const live: Data<{ group_ids?: string[]; entity_ids?: string[] }> = await client.read(
        `identity/oidc/assignment/${spec.name}`,
      );
      if (!live) return created({ groups: spec.groups });
      const names = await Promise.all(
        sorted(live.data.group_ids).map(async (id) => {
          const g: Data<{ name: string }> = await client.read(`identity/group/id/${id}`);
          return g?.data.name ?? id;
        }),
      );
      cmp("groups", names.sort(), sorted(spec.groups));
      cmp("entity_ids", sorted(live.data.entity_ids), []);
      return result();
    }
    case "oidc-client": {
      const live: Data<{
        key?: string;
        redirect_uris?: string[];
        assignments?: string[];
        client_type?: string;
        id_token_ttl?: number;
        access_token_ttl?: number;
      }> = await client.read(`identity/oidc/client/${spec.name}`);
      if (!live) {
        return {
          action: "create",
          diff: [
            { path: "redirect_uris", after: spec.redirectUris },
            { path: "client_type", after: "confidential" },
            { path: "client_id", after: "(issued by Vault)" },
            { path: "client_secret", after: "(issued by Vault)", secret: true },
          ],
        };
      }
      const l = live.data;
      if (l.client_type && l.client_type !== "confidential") {
        // A client's type cannot change in Vault: it would have to be made again (a new id and secret).
        throw new UserError({
          severity: "error",
          path: `${client.address} identity/oidc/client/${spec.name}`,
          message: `is a ${l.client_type} client; the gate needs a confidential one`,
          fix: `delete it (bao delete identity/oidc/client/${spec.name}) and apply again`,
        });
      }
      cmp("key", l.key, spec.key);
      cmp("redirect_uris", sorted(l.redirect_uris), sorted(spec.redirectUris));
      cmp("assignments", sorted(l.assignments), sorted(spec.assignments));
      cmp("id_token_ttl", l.id_token_ttl, spec.idTokenTtlSeconds);
      cmp("access_token_ttl", l.access_token_ttl, spec.accessTokenTtlSeconds);
      return result();
    }
    case "oidc-provider": {
      const live: Data<{ issuer?: string; allowed_client_ids?: string[]; scopes_supported?: string[] }> =
        await client.read(`identity/oidc/provider/${spec.name}`);
      if (!live) return created({ issuer: spec.issuer, scopes_supported: spec.scopes });
      // Vault answers with the whole issuer URL (`<issuer>/v1/identity/oidc/provider/<name>`).
      cmp("issuer", (live.data.issuer ?? "").replace(/\/v1\/identity\/oidc\/provider\/.*$/, ""), spec.issuer);
      cmp("scopes_supported", sorted(live.data.scopes_supported), sorted(spec.scopes));
      const ids = await clientIds(client, spec.clients);
      if (ids.some((id) => id === undefined)) {
        diff.push({ path: "allowed_client_ids", after: spec.clients.map((c) => `(${c}'s id)`) });
      } else {
        cmp("allowed_client_ids", sorted(live.data.allowed_client_ids), sorted(ids as string[]));
      }
      return result();
    }
  }
}

async function clientIds(client: VaultClient, names: readonly string[]): Promise<(string | undefined)[]> {
  return Promise.all(
    names.map(async (n) => {
      const c: Data<{ client_id?: string }> = await client.read(`identity/oidc/client/${n}`);
      return c?.data.client_id;
    }),
  );
}

/** Carries out one planned piece (create, update or adopt: each write is the whole object). */
export async function applyOidc(
  client: VaultClient,
  spec: VaultOidcSpec,
  action: ChangeAction,
): Promise<void> {
  switch (spec.kind) {
    case "userpass":
      if (action === "create") {
        await client.call("POST", `sys/auth/${spec.path}`, {
          type: "userpass",
          description: spec.description,
        });
      }
      return;
    case "oidc-scope":
      await client.call("POST", `identity/oidc/scope/${spec.name}`, {
        template: spec.template,
        description: spec.description,
      });
      return;
    case "identity-group":
      // Only made when missing: a group's members and policies are Vault's business, not plinth's.
      if (action === "create") {
        await client.call("POST", "identity/group", {
          name: spec.name,
          type: "internal",
          metadata: { "managed-by": "plinth" },
        });
      }
      return;
    case "oidc-key":
      await client.call("POST", `identity/oidc/key/${spec.name}`, {
        rotation_period: spec.rotationPeriodSeconds,
        verification_ttl: spec.verificationTtlSeconds,
        // Only this environment's client signs with it; its id is issued after the key exists.
        allowed_client_ids: ["*"],
        algorithm: "RS256",
      });
      return;
    case "oidc-assignment": {
      const ids = await Promise.all(
        spec.groups.map(async (group) => {
          const g: Data<{ id: string }> = await client.read(
            `identity/group/name/${encodeURIComponent(group)}`,
          );
          if (!g)
            throw new Error(
              `vault: identity group ${group} does not exist (it is made before the assignment)`,
            );
          return g.data.id;
        }),
      );
      await client.call("POST", `identity/oidc/assignment/${spec.name}`, { group_ids: ids, entity_ids: [] });
      return;
    }
    case "oidc-client":
      await client.call("POST", `identity/oidc/client/${spec.name}`, {
        key: spec.key,
        redirect_uris: spec.redirectUris,
        assignments: spec.assignments,
        client_type: "confidential",
        id_token_ttl: spec.idTokenTtlSeconds,
        access_token_ttl: spec.accessTokenTtlSeconds,
      });
      return;
    case "oidc-provider": {
      const ids = await clientIds(client, spec.clients);
      if (ids.some((id) => id === undefined)) {
        throw new Error(
          `vault: OIDC client ${spec.clients.join(", ")} does not exist (it is made before the provider)`,
        );
      }
      await client.call("POST", `identity/oidc/provider/${spec.name}`, {
        issuer: spec.issuer,
        allowed_client_ids: ids,
        scopes_supported: spec.scopes,
      });
      return;
    }
  }
}

/**
 * This environment's gate pieces no longer wanted (the sso component off, another provider):
 * provider first, then the client, assignment and key it held. Groups, scopes and userpass stay:
 * people and other environments use them.
 */
export async function pruneOidc(
  client: VaultClient,
  desired: readonly VaultResource[],
  ctx: ProviderContext,
  kindOf: (kind: VaultOidcSpec["kind"]) => string,
): Promise<VaultChange[]> {
  const name = oidcName(ctx.env);
  const wanted = new Set(desired.map((d) => d.id));
  const out: VaultChange[] = [];
  for (const [kind, path] of [
    ["oidc-provider", "identity/oidc/provider"],
    ["oidc-client", "identity/oidc/client"],
    ["oidc-assignment", "identity/oidc/assignment"],
    ["oidc-key", "identity/oidc/key"],
  ] as const) {
    const id = `vault:${kind}:${name}`;
    if (wanted.has(id) || !(await client.list(path)).includes(name)) continue;
    out.push({
      provider: "vault",
      id,
      component: "sso",
      action: "delete",
      kind: kindOf(kind),
      name: `${path}/${name}`,
      diff: [],
    });
  }
  return out;
}
