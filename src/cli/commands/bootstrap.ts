import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve as resolvePath } from "node:path";
import type { ApiServerTrustWriter } from "../../apply/api-server-trust.js";
import { stopIfAborted } from "../../apply/executor.js";
import { AUTHENTICATION_CONFIG_PATH, apiServerTrust } from "../../catalog/api-server-auth.js";
import { describeSecretRef, type SecretRef } from "../../config/secret-ref.js";
import { error, throwIfErrors, UserError } from "../../diagnostics/diagnostic.js";
import { buildGraph } from "../../graph/graph.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import { composePlan } from "../../plan/compose.js";
import { type DesiredComponent, desiredComponents } from "../../plan/desired.js";
import { dnsChange } from "../../plan/dns.js";
import type { K3sOptions, K3sSpec } from "../../providers/ssh/k3s.js";
import type { ResourceChange } from "../../providers/types.js";
import { missingVariables } from "../../secrets/environment.js";
import { defaultHolder, stateBackend } from "../../state/index.js";
import { type CommandContext, defineCommand, type ParsedArgs } from "../command.js";
import { confirm } from "../confirm.js";
import { formatDns, planDnsChanges } from "../dns.js";
import { duration, positiveInt } from "../flags.js";
import { loadFromArgs, requireEnvArg, resolveChecked } from "../load.js";
import { symbolOf } from "../output.js";
import { lockedRun, narrow, runPlan } from "../run-plan.js";
import type { Session } from "../session.js";
import { openSession } from "../session.js";
import { formatPlan } from "./plan.js";

/** plinth's own known_hosts, beside the config (never the user's ~/.ssh/known_hosts). */
export const KNOWN_HOSTS = ".plinth/known_hosts";
/**
 * Test hook, read only here: install k3s under this root on the host instead of `/`, so tests
 * can run a stand-in installer without touching the machine's own paths. Never set it for a VPS.
 */
const TEST_ROOT_VARIABLE = "PLINTH_TEST_K3S_ROOT";

export interface ClusterStepInput {
  env: ResolvedEnvironment;
  /** Folder of the config file: relative paths (kubeconfig, key file, known_hosts) start there. */
  configDir: string;
  args: ParsedArgs;
  ctx: CommandContext;
  /** The command a user runs to trust a new host key (named in the first-contact error). */
  acceptCommand: string;
}

/** Reads the SSH private key from its SecretRef, here at the CLI edge. */
function readKey(ref: SecretRef, input: ClusterStepInput): string {
  const path = `clusters.${input.env.cluster.name}.vps.sshKey`;
  if ("fromEnv" in ref) {
    const value = input.ctx.env[ref.fromEnv];
    if (!value?.trim()) {
      throw new UserError(
        error(`environment variable ${ref.fromEnv} is not set`, {
          path,
          fix: `export ${ref.fromEnv} with the private key itself, e.g. export ${ref.fromEnv}="$(cat ~/.ssh/plinth_ed25519)"`,
        }),
      );
    }
    return value.includes("\\n") && !value.includes("\n") ? value.replaceAll("\\n", "\n") : value;
  }
  const home = input.ctx.env.HOME ?? homedir();
  const expanded = ref.fromFile.replace(/^~(?=$|\/)/, home);
  const file = isAbsolute(expanded) ? expanded : resolvePath(input.configDir, expanded);
  if (!existsSync(file)) {
    throw new UserError(
      error(`key file ${file} does not exist`, {
        path,
        fix: "point sshKey at the private key file (not the .pub)",
      }),
    );
  }
  return readFileSync(file, "utf8");
}

function kubeconfigPath(env: ResolvedEnvironment, configDir: string): string {
  const p = env.cluster.kubeconfig;
  return isAbsolute(p) ? p : resolvePath(configDir, p);
}

function show(value: unknown): string {
  if (value === undefined) return "(absent)";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The k3s change as plan lines: version before → after, config.yaml lines removed/added, kubeconfig. */
export function formatK3sChange(change: ResourceChange<K3sSpec>): string {
  const symbol = symbolOf(change.action);
  const spec = change.spec;
  const lines = [
    `k3s on ${change.namespace} (cluster ${change.name})`,
    `  ${symbol} ${change.kind} ${change.name}  (k3s ${spec?.version ?? "?"}, channel ${spec?.channel ?? "?"}${change.action === "no-op" ? ", up to date" : ""})`,
  ];
  for (const d of change.diff) {
    if (d.path === "config.yaml") {
      const before = new Set(String(d.before ?? "").split("\n"));
      const after = new Set(String(d.after ?? "").split("\n"));
      lines.push(`      config.yaml${d.before === undefined ? " (new)" : ""}:`);
      for (const l of before) if (l && !after.has(l)) lines.push(`        - ${l}`);
      for (const l of after) if (l && !before.has(l)) lines.push(`        + ${l}`);
    } else {
      lines.push(`      ${d.path}: ${show(d.before)} → ${show(d.after)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function k3sOptions(input: ClusterStepInput): K3sOptions {
  const root = input.ctx.env[TEST_ROOT_VARIABLE];
  return {
    kubeconfigPath: kubeconfigPath(input.env, input.configDir),
    ...(root ? { root } : {}),
    onProgress: (m) => input.ctx.stderr(`  ${m}\n`),
  };
}

/** The VPS's SSH connection, its host key checked against plinth's known_hosts. */
async function openClusterSsh(input: ClusterStepInput) {
  const vps = input.env.cluster.vps;
  if (!vps) throw new Error(`openClusterSsh: cluster ${input.env.cluster.name} has no vps`);
  const { openSsh } = await import("../../providers/ssh/index.js");
  return openSsh({
    cluster: input.env.cluster.name,
    host: vps.host,
    port: vps.sshPort,
    user: vps.user,
    privateKey: readKey(vps.sshKey, input),
    keySource: describeSecretRef(vps.sshKey),
    ...(vps.hostKeyFingerprint ? { hostKeyFingerprint: vps.hostKeyFingerprint } : {}),
    knownHostsFile: join(input.configDir, KNOWN_HOSTS),
    knownHostsDisplay: KNOWN_HOSTS,
    acceptHostKey: Boolean(input.args.values["accept-host-key"]),
    acceptCommand: input.acceptCommand,
  });
}

/**
 * `provider: "vault"` on a k3s-vps cluster: how the Vault step writes the API server's
 * AuthenticationConfiguration once Vault has issued the client id (a connection of its own, opened
 * only then). Undefined where this environment's Vault step has nothing to write there.
 */
export function apiServerTrustWriter(input: ClusterStepInput): ApiServerTrustWriter | undefined {
  const { env } = input;
  if (env.cluster.type !== "k3s-vps" || apiServerTrust(env)?.issuedFor !== env.name) return undefined;
  return async (content) => {
    const { privileged, writeAuthentication } = await import("../../providers/ssh/index.js");
    const conn = await openClusterSsh(input);
    try {
      const changed = await writeAuthentication(await privileged(conn), content, k3sOptions(input).root);
      if (changed) input.ctx.stderr(`  wrote ${AUTHENTICATION_CONFIG_PATH} on ${conn.target.host}\n`);
      return changed;
    } finally {
      conn.close();
    }
  };
}

export interface ClusterStep {
  change: ResourceChange<K3sSpec>;
  /** Carries out the change over the same connection, then closes it. */
  apply(): Promise<void>;
  close(): void;
}

/**
 * Connects to the VPS (host key checked), checks sudo, and plans k3s. Nothing on the host changes
 * until `apply()`; any bad input (unreachable, key refused, host key unknown or changed, no sudo)
 * is a UserError before that.
 */
export async function planClusterStep(input: ClusterStepInput): Promise<ClusterStep> {
  const { env } = input;
  const options = k3sOptions(input);
  // Loaded on use: ssh2 is not needed by the commands that never reach a VPS (cold start).
  const { planK3s, applyK3s, privileged } = await import("../../providers/ssh/index.js");
  const conn = await openClusterSsh(input);
  try {
    const host = await privileged(conn);
    const change = await planK3s(env, host, options);
    return {
      change,
      apply: async () => {
        try {
          await applyK3s(change, host, options);
        } finally {
          conn.close();
        }
      },
      close: () => conn.close(),
    };
  } catch (e) {
    conn.close();
    throw e;
  }
}

/**
 * Every variable a Secret is written from (CLOUDFLARE_API_TOKEN for cert-manager's DNS-01) must be
 * set before the first step: k3s and DNS would otherwise be changed by a run that then stops at the plan.
 */
function requireVariables(desired: readonly DesiredComponent[], ctx: CommandContext): void {
  throwIfErrors(
    missingVariables(
      desired.flatMap((d) => d.secrets),
      ctx.env,
    ),
  );
}

export interface OutsideClusterInput extends ClusterStepInput {
  /** The one question asked before either step changes anything. */
  question: string;
  /** Show the k3s step even when it is up to date (and, with --json, as a JSON line): bootstrap does. */
  showUnchanged?: boolean;
  /** Aborted when the run's environment lock was lost: checked before each step. */
  signal?: AbortSignal;
}

/**
 * Phase 0's steps outside Kubernetes, as both `plinth apply` and `plinth bootstrap` run them (under
 * the environment's lock): on a k3s-vps cluster, k3s over SSH (an upgrade or config change is shown
 * and confirmed; a no-op costs one SSH round trip), then the environment's DNS records when a
 * Cloudflare token is set. Both are planned before either is applied, so a bad zone or token changes
 * nothing on the VPS. Says which step was declined, if the operator declined (nothing changed then).
 */
export async function runOutsideCluster(input: OutsideClusterInput): Promise<{ declined?: "k3s" | "DNS" }> {
  const { env, args, ctx, signal } = input;
  const step = env.cluster.type === "k3s-vps" ? await planClusterStep(input) : undefined;
  try {
    const k3s = step && step.change.action !== "no-op" ? step : undefined;
    const shown = input.showUnchanged ? step : k3s;
    if (shown && input.showUnchanged && args.values.json) {
      ctx.stdout(`${JSON.stringify({ step: "k3s", change: shown.change })}\n`);
    }
    if (shown && !args.values.json) ctx.stdout(formatK3sChange(shown.change));
    const dns = await dnsStep(env, args, ctx);
    if ((k3s || dns) && !(await confirm(ctx, args, input.question))) return { declined: k3s ? "k3s" : "DNS" };
    stopIfAborted(signal, "installing k3s");
    await k3s?.apply();
    stopIfAborted(signal, "the DNS records");
    await dns?.();
    return {};
  } finally {
    step?.close();
  }
}

/** The steps outside the cluster as `plinth apply` runs them: a declined step stops the apply. */
export async function bootstrapCluster(
  session: Session,
  args: ParsedArgs,
  ctx: CommandContext,
): Promise<ApiServerTrustWriter | undefined> {
  requireVariables(session.desired, ctx);
  const input = {
    env: session.env,
    configDir: dirname(session.loaded.file),
    args,
    ctx,
    acceptCommand: `plinth bootstrap ${session.env.name} --accept-host-key`,
  };
  const { declined } = await runOutsideCluster({
    ...input,
    question: `Apply these changes outside the cluster for ${session.env.name}?`,
  });
  if (declined) {
    throw new UserError(
      error(`the ${declined} changes were declined; nothing changed`, {
        path: "plinth apply",
        fix: `run plinth apply again and accept${declined === "k3s" ? ", or pin the installed version in clusters.<name>.k3s.version" : ""}`,
      }),
    );
  }
  return apiServerTrustWriter(input);
}

async function dnsStep(
  env: ResolvedEnvironment,
  args: ParsedArgs,
  ctx: CommandContext,
): Promise<(() => Promise<void>) | undefined> {
  const dns = await planDnsChanges(env, ctx, "write");
  if (!dns) return undefined;
  if (!args.values.json) ctx.stdout(formatDns(dns.changes.map(dnsChange)));
  return dns.changes.every((c) => c.action === "no-op") ? undefined : dns.apply;
}

export const bootstrap = defineCommand({
  name: "bootstrap",
  summary: "Phase 0 alone: k3s on the VPS over SSH, the DNS records, then phase 0's Kubernetes objects",
  usage:
    "plinth bootstrap <env> [--accept-host-key] [--yes] [--no-wait | --no-health-checks] [--timeout 10m] [--json]",
  options: {
    json: { type: "boolean" },
    yes: { type: "boolean", short: "y" },
    "accept-host-key": { type: "boolean" },
    "no-wait": { type: "boolean" },
    "no-health-checks": { type: "boolean" },
    timeout: { type: "string" },
    "force-conflicts": { type: "boolean" },
    concurrency: { type: "string" },
  },
  positionals: ["env"],
  async handler(args, ctx) {
    const name = requireEnvArg(args, "bootstrap");
    // Bad flags stop here, before SSH, DNS or the cluster.
    duration(args, "timeout");
    positiveInt(args, "concurrency", 4);
    const loaded = await loadFromArgs(args, ctx);
    const env = resolveChecked(loaded, name);
    requireVariables(desiredComponents(env, buildGraph(env)), ctx);
    const configDir = dirname(loaded.file);
    const state = stateBackend(loaded.config, { configDir, env: ctx.env });
    return lockedRun(state, name, defaultHolder(ctx.env), `bootstrap ${name}`, async ({ signal }) => {
      // Everything that can be planned before the cluster exists: k3s, then DNS; one question.
      const { declined } = await runOutsideCluster({
        env,
        configDir,
        args,
        ctx,
        acceptCommand: `plinth bootstrap ${name} --accept-host-key`,
        question: `Bootstrap ${name}?`,
        showUnchanged: true,
        signal,
      });
      if (declined) {
        ctx.stderr("bootstrap cancelled; nothing changed\n");
        return 0;
      }
      // The cluster answers now: phase 0's Kubernetes objects through the engine, under this lock.
      stopIfAborted(signal, "phase 0's Kubernetes objects");
      const session = await openSession(args, ctx, name);
      const plan = narrow(await composePlan(session), { ...args, values: { ...args.values, phase: "0" } });
      if (!args.values.json) ctx.stdout(formatPlan(plan));
      const s = plan.summary;
      if (
        s.create + s.update + s.adopt + s.delete > 0 &&
        !(await confirm(ctx, args, `Apply phase 0 to ${name}?`))
      ) {
        ctx.stderr("phase 0 not applied\n");
        return 0;
      }
      return await runPlan(plan, session, args, ctx);
    });
  },
});
