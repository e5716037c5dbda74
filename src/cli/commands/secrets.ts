import { dirname } from "node:path";
import { UserError } from "../../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import { readSecretValues } from "../../providers/kubernetes/secrets.js";
import type { ProviderContext } from "../../providers/types.js";
import {
  authenticate,
  type ConvergeResult,
  convergeVault,
  DEFAULT_LAYOUT,
  databaseResources,
  getSecretValue,
  inspectVault,
  listSecrets,
  locateSecret,
  rotateSecret,
  secretEntries,
  usesVault,
  type VaultClient,
  vaultHealth,
} from "../../providers/vault/index.js";
import { version } from "../../util/version.js";
import { type CommandContext, defineCommand, type ParsedArgs } from "../command.js";
import { table } from "../output.js";
import { copyVaultRecovery } from "../recovery-copy.js";
import { openSession, type Session } from "../session.js";
import { asVaultUserError, type VaultAccess, vaultAccess } from "../vault-access.js";

const USAGE = [
  "plinth secrets list <env> [--json]",
  "plinth secrets get <env> <component> <key>",
  "plinth secrets rotate <env> <component> [key]",
  "plinth secrets sync <env> [--plan] [--shares N] [--threshold M]",
].join("\n       ");

function usage(message: string): UserError {
  return new UserError({ severity: "error", path: "plinth secrets", message, fix: `usage: ${USAGE}` });
}

/**
 * Without Vault a secret is the plinth-owned Kubernetes Secret its consumer reads (an owner
 * account's password among them): `get` reads it there.
 */
async function getPlainValue(session: Session, component: string, name: string): Promise<string> {
  const { entry, key } = locateSecret(session.env, component, name);
  const { namespace, name: secret } = entry.spec;
  const value = (await readSecretValues(session.kube, namespace, secret))?.[key];
  if (value === undefined) {
    throw new UserError({
      severity: "error",
      path: `${namespace}/${secret}`,
      message: `Secret ${namespace}/${secret} has no ${key} yet`,
      fix: `plinth apply ${session.env.name} writes it`,
    });
  }
  return value;
}

async function open(
  args: ParsedArgs,
  ctx: CommandContext,
  session: Session,
): Promise<{ session: Session; env: ResolvedEnvironment; a: VaultAccess }> {
  const env = session.env;
  if (!usesVault(env)) {
    throw new UserError({
      severity: "error",
      path: `environments.${env.name}`,
      message: `${env.name} has no Vault: its secrets are Kubernetes Secrets owned by plinth`,
      fix: `read one with plinth secrets get ${env.name} <component> <key>, or enable Vault for ${env.name} (features.vault)`,
    });
  }
  const shares = positiveInt(args.values.shares, "shares");
  const threshold = positiveInt(args.values.threshold, "threshold");
  const a = vaultAccess(args, ctx, env, dirname(session.loaded.file), {
    ...(shares ? { shares } : {}),
    ...(threshold ? { threshold } : {}),
  });
  return { session, env, a };
}

/** A client with plinth's token, after checking that Vault is usable (not sealed, not empty). */
async function ready(a: VaultAccess, env: ResolvedEnvironment): Promise<VaultClient> {
  const health = await vaultHealth(a.client);
  if (health.health === "sealed" || health.health === "uninitialized") {
    throw new UserError({
      severity: "error",
      path: a.client.address,
      message: `Vault is ${health.health === "sealed" ? "sealed" : "not initialized"}`,
      fix: `run plinth secrets sync ${env.name} (it initializes or unseals Vault)`,
    });
  }
  return (await authenticate(a.client, { lifecycle: a.lifecycle, layout: DEFAULT_LAYOUT, write: true }))
    .client;
}

/** What `secrets sync` would do to a Vault that a plan cannot read yet. */
function wouldPrepare(health: string, a: VaultAccess, envName: string): string {
  const address = a.client.address;
  if (health === "uninitialized") {
    const shares = a.lifecycle.shares ?? 5;
    const threshold = a.lifecycle.threshold ?? 3;
    return `Vault at ${address} is not initialized: plinth secrets sync ${envName} would initialize it (${shares} key shares, ${threshold} to unseal) and write its keys, encrypted, to ${a.lifecycle.unsealFile}; nothing else can be planned before that`;
  }
  if (health === "sealed")
    return `Vault at ${address} is sealed: plinth secrets sync ${envName} would unseal it from ${a.lifecycle.unsealFile}; nothing else can be planned before that`;
  return `Vault at ${address} is ${health}: nothing can be planned (check its server log)`;
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
  const opened = await openSession(args, ctx, envName);
  if (action === "get" && !usesVault(opened.env)) {
    if (!component || !key) throw usage("get needs <env> <component> <key>");
    ctx.stdout(`${await getPlainValue(opened, component, key)}\n`);
    return 0;
  }
  const { session, env, a: access } = await open(args, ctx, opened);
  const a = { ...access, env };
  const layout = DEFAULT_LAYOUT;
  switch (action) {
    case "list": {
      const rows = await listSecrets({ client: await ready(a, env), env: a.env, layout });
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
      ctx.stdout(
        `${await getSecretValue({ client: await ready(a, env), env: a.env, layout, component, key })}\n`,
      );
      return 0;
    }
    case "rotate": {
      if (!component) throw usage("rotate needs <env> <component> [key]");
      const results = await rotateSecret({
        client: await ready(a, env),
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
        "the previous versions stay in the KV history; the Vault Secrets Operator updates the Secret within a minute and restarts the workloads reading it\n",
      );
      // Vault's own database connection reads the owner's password only when plinth sets it.
      const from = databaseResources(a.env, layout, secretEntries(a.env)).flatMap((r) =>
        r.spec.kind === "db-connection" ? [r.spec.passwordFrom] : [],
      )[0];
      if (from && results.some((r) => r.path === `${from.mount}/${from.path}` && r.keys.includes(from.key))) {
        ctx.stdout(
          `Vault's database connection logs in with ${from.mount}/${from.path}: plinth apply ${a.env.name} hands it the new password (the plan shows its version moving)\n`,
        );
      }
      return 0;
    }
    default: {
      const plan = Boolean(args.values.plan);
      const options = {
        client: a.client,
        env,
        ctx: ctxFor(env),
        layout,
        kubernetes: a.kubernetes,
        ...(a.reviewerJwt ? { reviewerJwt: a.reviewerJwt } : {}),
        kubeSecret: (namespace: string, name: string) => readSecretValues(session.kube, namespace, name),
        lifecycle: a.lifecycle,
      };
      // A plan only reads, so it has no lifecycle to report: initializing or unsealing is what the
      // sync itself would do.
      let result: Omit<ConvergeResult, "lifecycle"> & { lifecycle?: ConvergeResult["lifecycle"] };
      if (plan) {
        const inspection = await inspectVault(options);
        if (!inspection.ready) {
          ctx.stdout(`${wouldPrepare(inspection.health.health, a, env.name)}\n`);
          return 0;
        }
        result = inspection;
      } else {
        result = await convergeVault({ ...options, apply: true });
        // The unseal file this may just have written: into the backup bucket too.
        await copyVaultRecovery(session, ctx, a);
      }
      const l = result.lifecycle;
      if (l?.initialized)
        ctx.stdout(
          `initialized Vault; unseal keys encrypted into ${a.lifecycle.unsealFile} (back it up); plinth uses its own token from now on\n`,
        );
      if (l?.unsealed) ctx.stdout(`unsealed Vault (${l.before} -> ${l.after})\n`);
      if (result.tokenChange) {
        const verb = result.tokenChange === "create" ? ["make", "made"] : ["renew", "renewed"];
        ctx.stdout(`${plan ? `would ${verb[0]}` : verb[1]} plinth's own Vault token\n`);
      }
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

export const secrets = defineCommand({
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
      throw asVaultUserError(e);
    }
  },
});
