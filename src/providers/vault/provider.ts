import type { SecretSpec } from "../../catalog/types.js";
import { auditDeviceHcl } from "../../catalog/vault-hcl.js";
import { MANAGED_BY, ownedPrefix, secretEntries, type VaultLayout } from "../../catalog/vault-layout.js";
import { UserError } from "../../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import { fillSecret, templateSources } from "../../secrets/generate.js";
import { mapLimit } from "../../util/pool.js";
import type { ChangeAction, FieldDiff, Provider, ProviderContext } from "../types.js";
import { VaultApiError, type VaultClient } from "./client.js";
import { CONNECTION_VERSION } from "./database.js";
import { planDatabase, pruneDatabase } from "./database-plan.js";
import { readMetadata, readSecret, writeMetadata, writeSecret } from "./kv.js";
import { applyOidc, planOidc, pruneOidc } from "./oidc.js";
import type { VaultChange, VaultOidcSpec, VaultResource, VaultSpec } from "./spec.js";

export type { VaultChange } from "./spec.js";

/** A Kubernetes Secret's decoded values, or undefined when it does not exist. */
export type KubeSecretReader = (
  namespace: string,
  name: string,
) => Promise<Record<string, string> | undefined>;

export interface VaultProviderOptions {
  client: VaultClient;
  env: ResolvedEnvironment;
  layout: VaultLayout;
  /**
   * The token Vault presents to the TokenReview API when it does not run in the cluster (a
   * credential: passed here at apply time, never part of a plan).
   */
  reviewerJwt?: string;
  kubeSecret?: KubeSecretReader;
}

export type Mounts = Record<
  string,
  { type: string; description?: string; options?: Record<string, string> | null }
>;

const KIND: Record<VaultSpec["kind"], string> = {
  mount: "VaultMount",
  audit: "VaultAudit",
  auth: "VaultAuth",
  policy: "VaultPolicy",
  role: "VaultRole",
  kv: "VaultSecret",
  "db-connection": "VaultDatabaseConnection",
  "db-role": "VaultDatabaseRole",
  userpass: "VaultAuth",
  "oidc-scope": "VaultOidcScope",
  "oidc-key": "VaultOidcKey",
  "identity-group": "VaultGroup",
  "oidc-assignment": "VaultOidcAssignment",
  "oidc-client": "VaultOidcClient",
  "oidc-provider": "VaultOidcProvider",
};

const OIDC_KINDS: ReadonlySet<string> = new Set<VaultOidcSpec["kind"]>([
  "userpass",
  "oidc-scope",
  "oidc-key",
  "identity-group",
  "oidc-assignment",
  "oidc-client",
  "oidc-provider",
]);
const isOidc = (spec: VaultSpec): spec is VaultOidcSpec => OIDC_KINDS.has(spec.kind);

function nameOf(spec: VaultSpec): string {
  switch (spec.kind) {
    case "policy":
      return spec.name;
    case "role":
      return `${spec.authPath}/${spec.name}`;
    case "kv":
      return `${spec.mount}/${spec.path}`;
    case "db-connection":
      return `${spec.mount}/config/${spec.name}`;
    case "db-role":
      return `${spec.mount}/roles/${spec.name}`;
    case "oidc-scope":
    case "oidc-key":
    case "oidc-assignment":
    case "oidc-client":
    case "oidc-provider":
      return `identity/${spec.kind.replace("-", "/")}/${spec.name}`;
    case "identity-group":
      return `identity/group/name/${spec.name}`;
    default:
      return spec.path;
  }
}

/** How a desired Vault resource is named in a plan (`VaultPolicy plinth-staging-redis`). */
export function vaultTitle(spec: VaultSpec): { kind: string; name: string } {
  return { kind: KIND[spec.kind], name: nameOf(spec) };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const sorted = (xs: string[] | undefined) => [...(xs ?? [])].sort();
const owned = (description: string | undefined) => Boolean(description?.startsWith(MANAGED_BY));

/**
 * Vault configuration and generated secrets as plannable resources: the KV v2 mount, the audit
 * device, the kubernetes auth method, one policy and one role per environment and component, and
 * each component's KV secrets. Ownership marks: descriptions and policies start with
 * `managed-by=plinth`, policies and roles are named `plinth-<env>-…`, KV secrets carry custom
 * metadata `managed-by=plinth, env=<env>`. Prune removes this environment's policies and roles
 * that are no longer desired; KV secrets are never pruned (like volumes, they outlive a component
 * being switched off, so turning it back on finds the same passwords).
 */
export class VaultProvider implements Provider<VaultSpec> {
  readonly name = "vault";
  private readonly client: VaultClient;
  private readonly env: ResolvedEnvironment;
  private readonly layout: VaultLayout;
  private readonly reviewerJwt: string | undefined;
  private readonly kubeSecret: KubeSecretReader | undefined;

  constructor(o: VaultProviderOptions) {
    this.client = o.client;
    this.env = o.env;
    this.layout = o.layout;
    this.reviewerJwt = o.reviewerJwt;
    this.kubeSecret = o.kubeSecret;
  }

  async plan(desired: VaultResource[], ctx: ProviderContext): Promise<VaultChange[]> {
    // Reads only, each independent of the others: side by side, in the desired order.
    const [planned, oidc, prunable, database] = await Promise.all([
      mapLimit(desired, 8, (d) => this.planOne(d, ctx)),
      pruneOidc(this.client, desired, ctx, (kind) => KIND[kind]),
      this.prunable(desired, ctx),
      pruneDatabase(this.client, this.layout, desired, ctx),
    ]);
    return [...oidc, ...planned, ...prunable, ...database];
  }

  async apply(change: VaultChange, ctx: ProviderContext): Promise<void> {
    if (change.action === "no-op") return;
    if (change.action === "delete") return this.remove(change);
    const spec = change.spec;
    if (!spec) throw new Error(`vault change ${change.id} has no spec`);
    if (isOidc(spec)) return applyOidc(this.client, spec, change.action);
    switch (spec.kind) {
      case "mount":
        return this.applyMount(spec, change.action);
      case "audit":
        return this.applyAudit(spec, change.action);
      case "auth":
        return this.applyAuth(spec, change.action);
      case "policy":
        await this.client.call("PUT", `sys/policies/acl/${spec.name}`, { policy: spec.policy });
        return;
      case "role":
        await this.client.call("POST", `auth/${spec.authPath}/role/${spec.name}`, {
          bound_service_account_names: spec.serviceAccounts,
          bound_service_account_namespaces: spec.namespaces,
          token_policies: spec.policies,
          token_ttl: spec.ttlSeconds,
        });
        return;
      case "kv":
        return this.applySecret(spec, change, ctx);
      case "db-connection": {
        const from = spec.passwordFrom;
        const source = await readSecret(this.client, from.mount, from.path);
        const password = source?.data[from.key];
        if (!source || password === undefined) {
          throw new UserError({
            severity: "error",
            path: `${from.mount}/${from.path}`,
            message: `has no ${from.key} yet: the database connection logs in with it`,
            fix: `run plinth apply ${ctx.env} (it writes the secret before the connection)`,
          });
        }
        await this.client.call("POST", `${spec.mount}/config/${spec.name}`, {
          plugin_name: spec.plugin,
          connection_url: spec.connectionUrl,
          username: spec.username,
          password,
          allowed_roles: spec.allowedRoles,
          password_authentication: "scram-sha-256",
          // Configured in phase 0, while the business PostgreSQL (phase 1) does not exist yet; and
          // after a rotation, possibly before CloudNativePG has changed the role's password.
          verify_connection: false,
        });
        await writeMetadata(this.client, from.mount, from.path, {
          [CONNECTION_VERSION]: String(source.version),
        });
        return;
      }
      case "db-role":
        await this.client.call("POST", `${spec.mount}/roles/${spec.name}`, {
          db_name: spec.dbName,
          creation_statements: spec.creationStatements,
          revocation_statements: spec.revocationStatements,
          default_ttl: spec.defaultTtlSeconds,
          max_ttl: spec.maxTtlSeconds,
        });
        return;
    }
  }

  private change(
    d: VaultResource,
    action: ChangeAction,
    diff: FieldDiff[],
    liveVersion?: string,
  ): VaultChange {
    return {
      provider: this.name,
      id: d.id,
      component: d.component,
      action,
      kind: KIND[d.spec.kind],
      name: nameOf(d.spec),
      diff,
      spec: d.spec,
      ...(liveVersion ? { liveVersion } : {}),
    };
  }

  private async planOne(d: VaultResource, ctx: ProviderContext): Promise<VaultChange> {
    const spec = d.spec;
    if (isOidc(spec)) {
      const { action, diff } = await planOidc(this.client, spec);
      return this.change(d, action, diff);
    }
    switch (spec.kind) {
      case "mount": {
        const live = (await this.mounts("sys/mounts"))[`${spec.path}/`];
        if (spec.type === "database") {
          if (!live) return this.change(d, "create", [{ path: "type", after: "database" }]);
          if (live.type !== "database") {
            throw new UserError({
              severity: "error",
              path: `${this.client.address} ${spec.path}/`,
              message: `is a ${live.type} mount, not a database secrets engine`,
              fix: "move that mount: plinth keeps each environment's database engine at this path",
            });
          }
          return this.change(d, owned(live.description) ? "no-op" : "adopt", []);
        }
        if (!live) return this.change(d, "create", [{ path: "type", after: "kv-v2" }]);
        const version = live.options?.version ?? "1";
        if (live.type !== "kv" || version !== "2") {
          throw new UserError({
            severity: "error",
            path: `${this.client.address} ${spec.path}/`,
            message: `is a ${live.type} mount (version ${version}), not KV version 2`,
            fix:
              live.type === "kv"
                ? `upgrade it: bao kv enable-versioning ${spec.path}/ (or vault kv enable-versioning)`
                : "move that mount, or give plinth another KV mount path",
          });
        }
        if (!owned(live.description))
          return this.change(d, "adopt", [
            { path: "description", before: live.description, after: spec.description },
          ]);
        return this.change(d, "no-op", []);
      }
      case "audit": {
        const live = (await this.mounts("sys/audit"))[`${spec.path}/`];
        // Declared in the server config: present once the server runs with it; nothing to call.
        if (spec.declared) return this.change(d, "no-op", []);
        if (!live) return this.change(d, "create", [{ path: "options.file_path", after: spec.filePath }]);
        // An audit device cannot be retuned; one of type file at this path is what is wanted.
        return this.change(d, owned(live.description) ? "no-op" : "adopt", []);
      }
      case "auth":
        return this.planAuth(d, spec);
      case "policy": {
        const live = await this.client.read<{ data: { policy: string } }>(`sys/policies/acl/${spec.name}`);
        if (!live) return this.change(d, "create", [{ path: "policy", after: spec.policy }]);
        if (live.data.policy === spec.policy) return this.change(d, "no-op", []);
        return this.change(d, owned(live.data.policy.replace(/^# /, "")) ? "update" : "adopt", [
          { path: "policy", before: live.data.policy, after: spec.policy },
        ]);
      }
      case "role":
        return this.planRole(d, spec);
      case "kv":
        return this.planSecret(d, spec, ctx);
      case "db-connection":
      case "db-role": {
        const { action, diff } = await planDatabase(this.client, spec);
        return this.change(d, action, diff);
      }
    }
  }

  private async mounts(path: string): Promise<Mounts> {
    const body = await this.client.call<{ data?: Mounts } & Mounts>("GET", path);
    return (body.data ?? body) as Mounts;
  }

  private async planAuth(d: VaultResource, spec: Extract<VaultSpec, { kind: "auth" }>): Promise<VaultChange> {
    const live = (await this.mounts("sys/auth"))[`${spec.path}/`];
    const wantJwt = Boolean(this.reviewerJwt);
    if (!live) {
      return this.change(d, "create", [
        { path: "type", after: spec.type },
        { path: "config.kubernetes_host", after: spec.host },
        ...(wantJwt ? [{ path: "config.token_reviewer_jwt", after: "(set)", secret: true }] : []),
      ]);
    }
    if (live.type !== spec.type) {
      throw new UserError({
        severity: "error",
        path: `${this.client.address} auth/${spec.path}/`,
        message: `is a ${live.type} auth method, not kubernetes`,
        fix: "move that auth method, or give plinth another kubernetes auth path",
      });
    }
    const config =
      (
        await this.client.read<{
          data: {
            kubernetes_host?: string;
            kubernetes_ca_cert?: string;
            disable_local_ca_jwt?: boolean;
            token_reviewer_jwt_set?: boolean;
          };
        }>(`auth/${spec.path}/config`)
      )?.data ?? {};
    const diff: FieldDiff[] = [];
    if (config.kubernetes_host !== spec.host)
      diff.push({ path: "config.kubernetes_host", before: config.kubernetes_host, after: spec.host });
    if ((config.kubernetes_ca_cert ?? "") !== (spec.caCert ?? ""))
      diff.push({
        path: "config.kubernetes_ca_cert",
        before: "(other)",
        after: spec.caCert ? "(pem)" : "(pod's own)",
      });
    if (Boolean(config.disable_local_ca_jwt) !== !spec.useLocalToken)
      diff.push({
        path: "config.disable_local_ca_jwt",
        before: config.disable_local_ca_jwt,
        after: !spec.useLocalToken,
      });
    if (wantJwt && !config.token_reviewer_jwt_set)
      diff.push({ path: "config.token_reviewer_jwt", after: "(set)", secret: true });
    if (!owned(live.description))
      return this.change(d, "adopt", [{ path: "description", after: spec.description }, ...diff]);
    return this.change(d, diff.length ? "update" : "no-op", diff);
  }

  private async planRole(d: VaultResource, spec: Extract<VaultSpec, { kind: "role" }>): Promise<VaultChange> {
    const live = await this.client.read<{
      data: {
        bound_service_account_names?: string[];
        bound_service_account_namespaces?: string[];
        token_policies?: string[];
        token_ttl?: number;
      };
    }>(`auth/${spec.authPath}/role/${spec.name}`);
    if (!live) {
      return this.change(d, "create", [
        { path: "bound_service_account_namespaces", after: spec.namespaces },
        { path: "bound_service_account_names", after: spec.serviceAccounts },
        { path: "token_policies", after: spec.policies },
      ]);
    }
    const l = live.data;
    const diff: FieldDiff[] = [];
    const cmp = (path: string, before: unknown, after: unknown) => {
      if (!same(before, after)) diff.push({ path, before, after });
    };
    cmp("bound_service_account_names", sorted(l.bound_service_account_names), sorted(spec.serviceAccounts));
    cmp(
      "bound_service_account_namespaces",
      sorted(l.bound_service_account_namespaces),
      sorted(spec.namespaces),
    );
    cmp("token_policies", sorted(l.token_policies), sorted(spec.policies));
    cmp("token_ttl", l.token_ttl, spec.ttlSeconds);
    return this.change(d, diff.length ? "update" : "no-op", diff);
  }

  private async planSecret(
    d: VaultResource,
    spec: Extract<VaultSpec, { kind: "kv" }>,
    ctx: ProviderContext,
  ): Promise<VaultChange> {
    // The current version comes with its custom metadata: one read where the secret is there (a
    // converged plan); the metadata alone only where it is not (never written, or deleted).
    const live = await readSecret(this.client, spec.mount, spec.path);
    const meta = live
      ? { currentVersion: live.version, custom: live.custom }
      : await readMetadata(this.client, spec.mount, spec.path);
    const version = meta ? String(meta.currentVersion) : undefined;
    if (meta && meta.custom["managed-by"] === "plinth" && meta.custom.env && meta.custom.env !== ctx.env) {
      throw new UserError({
        severity: "error",
        path: `${this.client.address} ${spec.mount}/${spec.path}`,
        message: `belongs to environment "${meta.custom.env}", not "${ctx.env}"`,
        fix: "environments never share a secret path: check the environment names in the config",
      });
    }
    const issued = await this.issued(spec.secret);
    const missing = Object.keys(spec.secret.keys)
      .filter((k) => live?.data[k] === undefined || (k in issued && issued[k] !== live.data[k]))
      .sort();
    const origin = (k: string) => {
      const from = spec.secret.keys[k]?.fromVault;
      if (from) return `(issued by Vault: ${from.path} ${from.field})`;
      return !live && spec.copyFrom
        ? `(copied from Secret ${spec.copyFrom.namespace}/${spec.copyFrom.name})`
        : "(generated)";
    };
    const diff: FieldDiff[] = missing.map((k) => ({ path: `data.${k}`, after: origin(k), secret: true }));
    if (!live) return this.change(d, "create", diff, version);
    if (meta?.custom["managed-by"] !== "plinth") {
      return this.change(
        d,
        "adopt",
        [{ path: "custom_metadata.managed-by", after: "plinth" }, ...diff],
        version,
      );
    }
    return this.change(d, missing.length ? "update" : "no-op", diff, version);
  }

  /** This environment's policies and roles that exist, carry plinth's mark and are no longer desired. */
  private async prunable(desired: VaultResource[], ctx: ProviderContext): Promise<VaultChange[]> {
    const prefix = ownedPrefix(ctx.env);
    const wanted = new Set(desired.map((d) => d.id));
    const out: VaultChange[] = [];
    const base = { provider: this.name, component: "vault" as const, action: "delete" as const, diff: [] };
    for (const name of (await this.client.list("sys/policies/acl")).sort()) {
      if (!name.startsWith(prefix) || wanted.has(`vault:policy:${name}`)) continue;
      const live = await this.client.read<{ data: { policy: string } }>(`sys/policies/acl/${name}`);
      if (!live?.data.policy.startsWith(`# ${MANAGED_BY} env=${ctx.env} `)) continue;
      out.push({ ...base, id: `vault:policy:${name}`, kind: KIND.policy, name });
    }
    const auth = (await this.mounts("sys/auth"))[`${this.layout.authPath}/`];
    if (auth && owned(auth.description)) {
      for (const name of (await this.client.list(`auth/${this.layout.authPath}/role`)).sort()) {
        const id = `vault:role:${this.layout.authPath}/${name}`;
        if (!name.startsWith(prefix) || wanted.has(id)) continue;
        out.push({ ...base, id, kind: KIND.role, name: `${this.layout.authPath}/${name}` });
      }
    }
    return out;
  }

  private async remove(change: VaultChange): Promise<void> {
    const [, kind, ...rest] = change.id.split(":");
    const name = rest.join(":");
    if (kind === "policy") await this.client.call("DELETE", `sys/policies/acl/${name}`);
    else if (kind === "role") await this.client.call("DELETE", `auth/${name.replace("/", "/role/")}`);
    else if (kind === "db-role") await this.client.call("DELETE", change.name);
    else if (kind === "mount") await this.client.call("DELETE", `sys/mounts/${name}`);
    else if (kind?.startsWith("oidc-")) await this.client.call("DELETE", change.name);
    else throw new Error(`vault: plinth never deletes ${change.id}`);
  }

  private async applyMount(spec: Extract<VaultSpec, { kind: "mount" }>, action: ChangeAction): Promise<void> {
    if (action === "create") {
      await this.client.call("POST", `sys/mounts/${spec.path}`, {
        type: spec.type,
        description: spec.description,
        ...(spec.type === "kv" ? { options: { version: spec.version } } : {}),
      });
    } else {
      await this.client.call("POST", `sys/mounts/${spec.path}/tune`, { description: spec.description });
    }
  }

  private async applyAudit(spec: Extract<VaultSpec, { kind: "audit" }>, action: ChangeAction): Promise<void> {
    if (action !== "create" || spec.declared) return;
    try {
      await this.client.call("PUT", `sys/audit/${spec.path}`, {
        type: spec.type,
        description: spec.description,
        options: { file_path: spec.filePath },
      });
    } catch (e) {
      if (!(e instanceof VaultApiError) || !e.errors.some((m) => /declarative|config-based/.test(m))) throw e;
      // OpenBao 2.x refuses audit devices through the API: they are declared in the server config.
      throw new UserError({
        severity: "error",
        path: `${this.client.address} sys/audit/${spec.path}`,
        message: "this server only accepts audit devices declared in its configuration file",
        fix: `add to the server config: ${auditDeviceHcl(spec.path, spec.filePath)}`,
      });
    }
  }

  private async applyAuth(spec: Extract<VaultSpec, { kind: "auth" }>, action: ChangeAction): Promise<void> {
    if (action === "create") {
      await this.client.call("POST", `sys/auth/${spec.path}`, {
        type: spec.type,
        description: spec.description,
      });
    } else if (action === "adopt") {
      await this.client.call("POST", `sys/auth/${spec.path}/tune`, { description: spec.description });
    }
    await this.client.call("POST", `auth/${spec.path}/config`, {
      kubernetes_host: spec.host,
      kubernetes_ca_cert: spec.caCert ?? "",
      disable_local_ca_jwt: !spec.useLocalToken,
      ...(this.reviewerJwt ? { token_reviewer_jwt: this.reviewerJwt } : {}),
    });
  }

  /**
   * Reads what is there, keeps every existing value, generates the missing keys (CSPRNG, the
   * consumer's rules), fills templates from this environment's other secrets, writes one new
   * version with check-and-set against the version the plan saw, then marks ownership.
   */
  private async applySecret(
    spec: Extract<VaultSpec, { kind: "kv" }>,
    change: VaultChange,
    ctx: ProviderContext,
  ): Promise<void> {
    const live = await readSecret(this.client, spec.mount, spec.path);
    const meta = await readMetadata(this.client, spec.mount, spec.path);
    const current = meta?.currentVersion ?? 0;
    if (change.liveVersion !== undefined && String(current) !== change.liveVersion) {
      throw new UserError({
        severity: "error",
        path: `${spec.mount}/${spec.path}`,
        message: `moved to version ${current} since it was planned (version ${change.liveVersion})`,
        fix: "plan again",
      });
    }
    const issued = await this.issued(spec.secret);
    for (const [key, value] of Object.entries(issued)) {
      if (value === undefined) {
        throw new UserError({
          severity: "error",
          path: `${spec.mount}/${spec.path}`,
          message: `has no ${key} to copy: Vault has not issued ${spec.secret.keys[key]?.fromVault?.path} yet`,
          fix: `run plinth apply ${ctx.env} again (it makes the client before this secret)`,
        });
      }
    }
    const base = live?.data ?? (await this.copied(spec, ctx));
    const values = await this.fill(spec.secret, { ...base, ...(issued as Record<string, string>) });
    const changed = !live || Object.keys(values).some((k) => live.data[k] !== values[k]);
    if (changed) await writeSecret(this.client, spec.mount, spec.path, values, current);
    const marks = this.marks(change.component, spec.secret, ctx);
    await writeMetadata(this.client, spec.mount, spec.path, marks, meta?.custom ?? {});
  }

  /**
   * A phase-0 secret's values from the Kubernetes Secret its consumers already use (the platform
   * PostgreSQL was initialized with that password before Vault existed); nothing for the others.
   */
  private async copied(
    spec: Extract<VaultSpec, { kind: "kv" }>,
    ctx: ProviderContext,
  ): Promise<Record<string, string>> {
    if (!spec.copyFrom) return {};
    const where = `Secret ${spec.copyFrom.namespace}/${spec.copyFrom.name}`;
    if (!this.kubeSecret) {
      throw new UserError({
        severity: "error",
        path: `${spec.mount}/${spec.path}`,
        message: `is copied from the Kubernetes ${where}, and this run has no cluster connection to read it`,
        fix: `run plinth apply ${ctx.env}, which reads the cluster`,
      });
    }
    const values = await this.kubeSecret(spec.copyFrom.namespace, spec.copyFrom.name);
    if (!values) {
      throw new UserError({
        severity: "error",
        path: `${spec.mount}/${spec.path}`,
        message: `is copied from the Kubernetes ${where}, which does not exist`,
        fix: `apply phase 0 first (plinth apply ${ctx.env} --phase 0); its secrets are generated there`,
      });
    }
    return Object.fromEntries(Object.entries(values).filter(([k]) => k in spec.secret.keys));
  }

  /**
   * The keys Vault itself issues (the SSO gate's OIDC client id and secret), read now: undefined
   * where the issuer has not made them yet. Read at plan only to compare; never in the plan.
   */
  private async issued(spec: SecretSpec): Promise<Record<string, string | undefined>> {
    const out: Record<string, string | undefined> = {};
    const answers = new Map<string, Promise<{ data: Record<string, unknown> } | undefined>>();
    for (const [key, rule] of Object.entries(spec.keys)) {
      const from = rule.fromVault;
      if (!from) continue;
      if (!answers.has(from.path)) answers.set(from.path, this.client.read(from.path));
      const value = (await answers.get(from.path))?.data[from.field];
      out[key] = typeof value === "string" && value !== "" ? value : undefined;
    }
    return out;
  }

  marks(component: string, secret: SecretSpec, ctx: ProviderContext): Record<string, string> {
    return {
      "managed-by": "plinth",
      env: ctx.env,
      component,
      secret: secret.name,
      namespace: secret.namespace,
      tooling: ctx.tooling,
    };
  }

  /** `fillSecret` with templates looked up in this environment's other secrets, read live. */
  async fill(spec: SecretSpec, existing: Record<string, string>): Promise<Record<string, string>> {
    const entries = secretEntries(this.env);
    const needed = new Set(
      Object.values(spec.keys).flatMap((k) =>
        k.template ? templateSources(k.template).map((s) => s.secret) : [],
      ),
    );
    const sources = new Map<string, Record<string, string>>();
    for (const name of needed) {
      if (name === spec.name) continue;
      const entry = entries.find((e) => e.spec.name === name);
      const live = entry ? await readSecret(this.client, this.layout.mount, entry.path) : undefined;
      if (live) sources.set(name, live.data);
    }
    return fillSecret(spec, existing, (secret, key) => sources.get(secret)?.[key]);
  }
}

export { auditDeviceHcl } from "../../catalog/vault-hcl.js";
