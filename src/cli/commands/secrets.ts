import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { UserError } from "../../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import type { ProviderContext } from "../../providers/types.js";
import {
  convergeVault,
  DEFAULT_LAYOUT,
  getSecretValue,
  IN_CLUSTER,
  type KubernetesAuthTarget,
  listSecrets,
  rotateSecret,
  unsealFilePath,
  usesVault,
  VaultApiError,
  VaultClient,
  VaultUnreachableError,
  vaultHealth,
} from "../../providers/vault/index.js";
import { rootTokenFromFile } from "../../providers/vault/lifecycle.js";
import type { Command, CommandContext, ParsedArgs } from "../command.js";
import { loadFromArgs, resolveChecked } from "../load.js";
import { table } from "../output.js";
import { version } from "../version.js";

const USAGE = [
  "plinth secrets list <env> [--json]",
  "plinth secrets get <env> <component> <key>",
  "plinth secrets rotate <env> <component> [key]",
  "plinth secrets sync <env> [--plan] [--shares N] [--threshold M]",
].join("\n       ");

/** Where plinth reaches Vault, and with which credentials: all read here, at the CLI's edge. */
interface VaultAccess {
  env: ResolvedEnvironment;
  client: VaultClient;
  configDir: string;
  passphrase: string | undefined;
  unsealFile: string;
}

function usage(message: string): UserError {
  return new UserError({ severity: "error", path: "plinth secrets", message, fix: `usage: ${USAGE}` });
}

async function access(args: ParsedArgs, ctx: CommandContext, envName: string): Promise<VaultAccess> {
  const loaded = await loadFromArgs(args, ctx);
  const env = resolveChecked(loaded, envName);
  if (!usesVault(env)) {
    throw new UserError({
      severity: "error",
      path: `environments.${env.name}`,
      message: `${env.name} has no Vault: its secrets are Kubernetes Secrets owned by plinth`,
      fix: `read them with kubectl (kubectl get secrets -l app.kubernetes.io/managed-by=plinth -A), or enable Vault for ${env.name} (features.vault)`,
    });
  }
  const flag = typeof args.values["vault-addr"] === "string" ? args.values["vault-addr"] : undefined;
  const host = env.hosts.vault?.host;
  const address = flag ?? ctx.env.VAULT_ADDR ?? (host ? `https://${host}` : undefined);
  if (!address) {
    throw new UserError({
      severity: "error",
      path: "VAULT_ADDR",
      message: `no Vault address for ${env.name}`,
      fix: "set VAULT_ADDR or pass --vault-addr https://…",
    });
  }
  const configDir = dirname(loaded.file);
  const token = ctx.env.VAULT_TOKEN;
  return {
    env,
    client: new VaultClient({ address, ...(token ? { token } : {}) }),
    configDir,
    passphrase: ctx.env.PLINTH_VAULT_PASSPHRASE,
    unsealFile: unsealFilePath(configDir, env.cluster.name),
  };
}

/** A client with a token, after checking that Vault is usable (not sealed, not empty). */
async function ready(a: VaultAccess): Promise<VaultClient> {
  const health = await vaultHealth(a.client);
  if (health.health === "sealed" || health.health === "uninitialized") {
    throw new UserError({
      severity: "error",
      path: a.client.address,
      message: `Vault is ${health.health === "sealed" ? "sealed" : "not initialized"}`,
      fix: `run plinth secrets sync ${a.env.name} (it initializes or unseals Vault)`,
    });
  }
  if (a.client.hasToken()) return a.client;
  const lifecycle = {
    cluster: a.env.cluster.name,
    unsealFile: a.unsealFile,
    ...(a.passphrase ? { passphrase: a.passphrase } : {}),
  };
  return a.client.withToken(await rootTokenFromFile(a.client, lifecycle));
}

function ctxFor(env: ResolvedEnvironment): ProviderContext {
  return { env: env.name, tooling: `plinth/${version()}` };
}

function age(iso: string | undefined, now: number): string {
  if (!iso) return "-";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

function kubernetesTarget(env: Record<string, string | undefined>): KubernetesAuthTarget {
  // A Vault outside the cluster (a test bed, a Vault on another host) reaches the API server itself.
  const host = env.PLINTH_VAULT_KUBE_HOST;
  if (!host) return IN_CLUSTER;
  const caFile = env.PLINTH_VAULT_KUBE_CA_FILE;
  return { host, useLocalToken: false, ...(caFile ? { caCert: readFileSync(caFile, "utf8") } : {}) };
}

function positiveInt(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw usage(`--${flag} must be a positive whole number, not "${String(value)}"`);
  return n;
}

async function handle(args: ParsedArgs, ctx: CommandContext): Promise<number> {
  const [action, envName, component, key] = args.positionals;
  if (!action || !["list", "get", "rotate", "sync"].includes(action))
    throw usage(`unknown action "${action ?? ""}"`);
  if (!envName) throw usage(`${action} needs an environment name`);
  const a = await access(args, ctx, envName);
  const layout = DEFAULT_LAYOUT;
  switch (action) {
    case "list": {
      const rows = await listSecrets({ client: await ready(a), env: a.env, layout });
      if (args.values.json) {
        ctx.stdout(`${JSON.stringify(rows, null, 2)}\n`);
        return 0;
      }
      const now = Date.now();
      ctx.stdout(
        `${table([
          ["COMPONENT", "SECRET", "PATH", "VERSION", "UPDATED", "CREATED", "KEYS"],
          ...rows.map((r) => [
            r.component,
            r.secret,
            r.path,
            r.version ? String(r.version) : "(not written)",
            age(r.updatedTime, now),
            age(r.createdTime, now),
            r.keys.join(","),
          ]),
        ])}\n`,
      );
      return 0;
    }
    case "get": {
      if (!component || !key) throw usage("get needs <env> <component> <key>");
      ctx.stdout(`${await getSecretValue({ client: await ready(a), env: a.env, layout, component, key })}\n`);
      return 0;
    }
    case "rotate": {
      if (!component) throw usage("rotate needs <env> <component> [key]");
      const results = await rotateSecret({
        client: await ready(a),
        env: a.env,
        layout,
        component,
        ...(key ? { key } : {}),
        ctx: ctxFor(a.env),
      });
      for (const r of results) {
        ctx.stdout(
          `${r.reason} ${r.path}: ${r.keys.join(", ")} (version ${r.fromVersion} -> ${r.toVersion})\n`,
        );
      }
      ctx.stdout(
        "the previous versions stay in the KV history; restart the consumers to pick up the new values\n",
      );
      return 0;
    }
    default: {
      const plan = Boolean(args.values.plan);
      const shares = positiveInt(args.values.shares, "shares");
      const threshold = positiveInt(args.values.threshold, "threshold");
      const result = await convergeVault({
        client: a.client,
        env: a.env,
        ctx: ctxFor(a.env),
        layout,
        kubernetes: kubernetesTarget(ctx.env),
        ...(ctx.env.PLINTH_VAULT_REVIEWER_JWT ? { reviewerJwt: ctx.env.PLINTH_VAULT_REVIEWER_JWT } : {}),
        lifecycle: {
          cluster: a.env.cluster.name,
          unsealFile: a.unsealFile,
          ...(a.passphrase ? { passphrase: a.passphrase } : {}),
          ...(shares ? { shares } : {}),
          ...(threshold ? { threshold } : {}),
        },
        apply: !plan,
      });
      const l = result.lifecycle;
      if (l.initialized)
        ctx.stdout(
          `initialized Vault; unseal keys and root token encrypted into ${a.unsealFile} (back it up)\n`,
        );
      if (l.unsealed) ctx.stdout(`unsealed Vault (${l.before} -> ${l.after})\n`);
      const counts = new Map<string, number>();
      for (const c of result.changes) {
        counts.set(c.action, (counts.get(c.action) ?? 0) + 1);
        if (c.action === "no-op") continue;
        const fields = c.diff.map((d) => d.path).join(", ");
        ctx.stdout(`${plan ? "would " : ""}${c.action} ${c.kind} ${c.name}${fields ? ` (${fields})` : ""}\n`);
      }
      const summary = [...counts]
        .sort()
        .map(([k, n]) => `${n} ${k}`)
        .join(", ");
      ctx.stdout(`${a.env.name}: ${summary || "nothing to do"}\n`);
      return 0;
    }
  }
}

export const secrets: Command = {
  name: "secrets",
  summary: "List, read, rotate and sync an environment's generated secrets in Vault",
  usage: USAGE,
  options: {
    json: { type: "boolean" },
    plan: { type: "boolean" },
    "vault-addr": { type: "string" },
    shares: { type: "string" },
    threshold: { type: "string" },
  },
  positionals: ["action", "env", "component", "key"],
  async handler(args, ctx) {
    try {
      return await handle(args, ctx);
    } catch (e) {
      if (e instanceof VaultUnreachableError) {
        throw new UserError({
          severity: "error",
          path: "VAULT_ADDR",
          message: e.message,
          fix: "check the address (VAULT_ADDR or --vault-addr) and that Vault is running",
        });
      }
      if (e instanceof VaultApiError && e.status === 403) {
        throw new UserError({
          severity: "error",
          path: "VAULT_TOKEN",
          message: `Vault refused: ${e.message}`,
          fix: "use a token whose policy covers this environment's paths, or unset VAULT_TOKEN to use the root token from the unseal file",
        });
      }
      if (e instanceof VaultApiError && e.status >= 400 && e.status < 500) {
        throw new UserError({
          severity: "error",
          path: e.message.split(":")[0] ?? "vault",
          message: `Vault refused the request: ${e.errors.join("; ") || e.status}`,
          fix: "correct what Vault names (for a Vault outside the cluster: PLINTH_VAULT_KUBE_HOST, PLINTH_VAULT_KUBE_CA_FILE, PLINTH_VAULT_REVIEWER_JWT) and run again",
        });
      }
      throw e;
    }
  },
};
