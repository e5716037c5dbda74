import {
  formatRestorePlan,
  planRestore,
  type RestoreFrom,
  type RestoreResult,
  type RestoreStep,
  removeOldGeneration,
  restoreGenerations,
} from "../../apply/restore.js";
import { backedUpDatabases } from "../../catalog/backup-targets.js";
import { clusterEnvironments } from "../../catalog/cluster.js";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import { activeClusterOutput, RESTORABLE, type RestorableDatabase } from "../../model/backups.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import { composePlan } from "../../plan/compose.js";
import { connect } from "../../providers/kubernetes/client.js";
import { BackupStore } from "../../state/backup-catalog.js";
import { runningFromState } from "../../state/running.js";
import { type CommandContext, defineCommand, type ParsedArgs } from "../command.js";
import { confirm } from "../confirm.js";
import { duration as durationFlag } from "../flags.js";
import { loadFromArgs, resolveChecked } from "../load.js";
import { runPlan, withLock } from "../run-plan.js";
import { kubeTarget, openSession, type Session } from "../session.js";
import { sessionVaultAccess } from "../vault-access.js";
import { LIVE_OPTIONS } from "./apply.js";
import { BACKUP_CHECK_FAILED, storeOptions, targetTime } from "./backup.js";

const USAGE =
  "plinth restore <env> --from <env | backup id> [--target-time 2026-05-01T03:00:00Z] [--database postgres|platform-postgres] [--confirm <env>] [--yes] [--timeout 30m]";

/**
 * The flags of a restore or clone: apply's, but not `--phase`/`--target`. The switch applies the
 * whole environment before the old Cluster is deleted; a part of it would leave consumers outside
 * that part on the Cluster about to go (they were accepted and then ignored, applying it all).
 */
const { phase: _phase, target: _target, ...liveOptions } = LIVE_OPTIONS;
export const SWITCH_OPTIONS = liveOptions;

/** Barman's backup id (`20260501T030000`), as `plinth backup status` lists them. */
const BACKUP_ID = /^\d{8}T\d{6}$/;

/** A production environment (its kind) is changed only when the command names it again. */
export function requireConfirm(env: ResolvedEnvironment, given: unknown, verb: string): void {
  if (env.kind === "prod" && given !== env.name) {
    throw new UserError(
      error(`${env.name} is a production environment: ${verb} replaces its database`, {
        path: "--confirm",
        fix: `re-run with --confirm ${env.name} if you really mean to; nothing was done`,
      }),
    );
  }
}

/** The bucket token of an environment's backups, from the variables its config names. */
export function tokenOf(
  env: ResolvedEnvironment,
  vars: CommandContext["env"],
): { accessKeyId: string; secretAccessKey: string } {
  const db = backedUpDatabases(env).find((d) => d.component === "postgres") ?? backedUpDatabases(env)[0];
  if (!db) {
    throw new UserError(
      error(`${env.name} backs up no database`, {
        path: `environments.${env.name}.backups`,
        fix: "restore from an environment that backs up its databases (README: Backups and restores)",
      }),
    );
  }
  return storeOptions(env, db, vars).credentials;
}

/** Which databases: `--database`, else every backed-up one (only the business one from another environment). */
function databasesOf(env: ResolvedEnvironment, args: ParsedArgs, fromOther: boolean): RestorableDatabase[] {
  const raw = args.values.database;
  if (raw !== undefined) {
    if (!RESTORABLE.includes(raw as RestorableDatabase)) {
      throw new UserError(
        error(`is ${JSON.stringify(raw)}`, {
          path: "--database",
          fix: `use one of ${RESTORABLE.join(", ")}`,
        }),
      );
    }
  }
  const all = backedUpDatabases(env).map((d) => d.component as RestorableDatabase);
  const chosen = raw !== undefined ? [raw as RestorableDatabase] : fromOther ? ["postgres" as const] : all;
  for (const c of chosen) {
    if (c === "platform-postgres" && fromOther) {
      throw new UserError(
        error("the platform PostgreSQL is Vault's storage, sealed with its own environment's keys", {
          path: "--database",
          fix: "restore platform-postgres only from its own environment's backups (--from <this env> or a backup id)",
        }),
      );
    }
    if (!all.includes(c)) {
      throw new UserError(
        error(`${env.name} does not back up ${c}: there is nothing to restore it from`, {
          path: `environments.${env.name}.backups`,
          fix: "add backups: { schedule, destination } (README: Backups and restores)",
        }),
      );
    }
    if (c === "platform-postgres" && clusterEnvironments(env).length > 1) {
      throw new UserError(
        error(
          `platform-postgres is shared by ${clusterEnvironments(env)
            .map((e) => e.name)
            .join(", ")} on cluster ${env.cluster.name}`,
          {
            path: "--database",
            fix: "restore the shared platform database by hand (README: Backups and restores); plinth restore replaces only a database of one environment",
          },
        ),
      );
    }
  }
  if (chosen.length === 0) {
    throw new UserError(
      error(`${env.name} backs up no database to restore`, {
        path: `environments.${env.name}.backups`,
        fix: "add backups: { schedule, destination } (README: Backups and restores)",
      }),
    );
  }
  return chosen;
}

/** `--from` a backup id: it must be a finished base backup of each database in the bucket. */
async function checkBackup(
  env: ResolvedEnvironment,
  id: string,
  components: readonly RestorableDatabase[],
  vars: CommandContext["env"],
): Promise<void> {
  for (const db of backedUpDatabases(env).filter((d) => components.includes(d.component as never))) {
    const store = new BackupStore(storeOptions(env, db, vars));
    try {
      const catalog = await store.read(db.server);
      const done = catalog.backups.filter((b) => b.status === "DONE");
      if (!done.some((b) => b.id === id || b.name === id)) {
        const known = done.slice(-5).map((b) => b.id);
        throw new UserError(
          error(
            `backup ${id} of ${db.component} is not in s3://${db.backups.bucket}/${db.backups.prefix}/${db.server}/`,
            {
              path: "--from",
              fix: known.length
                ? `use one of the newest finished backups: ${known.join(", ")} (plinth backup status ${env.name})`
                : `${db.server} has no finished base backup yet; see plinth backup status ${env.name}`,
            },
          ),
        );
      }
    } finally {
      store.close();
    }
  }
}

/** The printed outcome of the restore phase, one line per database. */
function outcome(results: readonly RestoreResult[]): string {
  return results
    .map((r) =>
      r.ready
        ? `  ${r.component}: ${r.next} Ready in ${r.seconds} s${r.scrubbed ? ", scrubbed" : ""}`
        : `  ${r.component}: FAILED: ${r.failure}${r.removed === false ? ` (${r.next} NOT removed)` : ""}`,
    )
    .join("\n");
}

/**
 * The switch, once every new generation is Ready: record them in state (so every later command
 * renders them), apply the environment (consumers move to the new `-rw` Services, the old
 * generation's backup objects are pruned), then delete the old Clusters. Shared by restore and clone.
 */
export async function switchGenerations(
  session: Session,
  steps: readonly RestoreStep[],
  args: ParsedArgs,
  ctx: CommandContext,
  what: string,
): Promise<number> {
  const env = session.env.name;
  const previous = await session.state.read(env);
  const at = new Date().toISOString();
  await session.state.write({
    version: 1,
    env,
    owned: previous?.owned ?? [],
    applied: previous?.applied ?? [],
    outputs: {
      ...(previous?.outputs ?? {}),
      ...Object.fromEntries(
        steps.flatMap((s) => [
          [activeClusterOutput(s.component), s.next],
          [`restore.${s.component}`, `${at} ${what}: ${s.next} replaced ${s.old}`],
        ]),
      ),
    },
  });
  ctx.stderr(
    `recorded in ${env}'s state: ${steps.map((s) => `${s.component} runs as ${s.next}`).join(", ")}\n`,
  );
  // The environment as it runs now: a new session reads the state just written.
  const switched = await openSession(args, ctx, env);
  const vault = sessionVaultAccess(switched, args, ctx);
  const plan = await composePlan(switched, vault ? { vault } : {});
  ctx.stderr(
    `switching ${env}'s consumers: plinth apply of ${plan.summary.create + plan.summary.update + plan.summary.adopt + plan.summary.delete} changes\n`,
  );
  try {
    await runPlan(plan, switched, { ...args, values: { ...args.values } }, ctx, vault);
  } catch (e) {
    // The state already names the new generations: say where that leaves things before the error.
    ctx.stderr(
      `the switch's apply failed: ${env}'s state records ${steps.map((s) => `${s.component} as ${s.next}`).join(", ")}, ` +
        `and ${steps.map((s) => `Cluster ${s.namespace}/${s.old}`).join(", ")} is kept (consumers not yet switched may still use it): ` +
        `fix the cause, run plinth apply ${env}, then delete the old Cluster by hand\n`,
    );
    throw e;
  }
  const { api } = await connect(kubeTarget(switched));
  const timeoutMs = durationFlag(args, "timeout") ?? 30 * 60_000;
  let ok = true;
  for (const s of steps) {
    const removed = await removeOldGeneration(
      api,
      { apiVersion: "postgresql.cnpg.io/v1", kind: "Cluster", name: s.old, namespace: s.namespace },
      s.next,
      { timeoutMs },
    );
    ctx.stderr(
      `- Cluster ${s.namespace}/${s.old}: ${removed ? "deleted" : "NOT deleted (delete it by hand)"}\n`,
    );
    ok &&= removed;
  }
  return ok ? 0 : BACKUP_CHECK_FAILED;
}

/** Restores the plan's new generations, and switches to them only if every one became Ready. */
export async function runRestorePlan(
  session: Session,
  steps: readonly RestoreStep[],
  args: ParsedArgs,
  ctx: CommandContext,
  what: string,
): Promise<number> {
  const { api } = await connect(kubeTarget(session));
  const results = await restoreGenerations({
    api,
    steps,
    timeoutMs: durationFlag(args, "timeout") ?? 30 * 60_000,
    onEvent: (text) => ctx.stderr(`${text}\n`),
  });
  ctx.stdout(`${outcome(results)}\n`);
  if (results.length < steps.length || !results.every((r) => r.ready)) {
    ctx.stdout(
      `nothing was switched: ${session.env.name} runs on its old database${steps.length > 1 ? "s" : ""}\n`,
    );
    return BACKUP_CHECK_FAILED;
  }
  return switchGenerations(session, steps, args, ctx, what);
}

export const restore = defineCommand({
  name: "restore",
  summary: "Replaces an environment's databases with a restore of its (or another environment's) backups",
  usage: USAGE,
  options: {
    ...SWITCH_OPTIONS,
    from: { type: "string" },
    "target-time": { type: "string" },
    database: { type: "string" },
    confirm: { type: "string" },
  },
  positionals: ["env"],
  async handler(args, ctx) {
    const name = args.positionals[0];
    if (!name)
      throw new UserError(error("needs an environment", { path: "plinth restore", fix: `usage: ${USAGE}` }));
    const from = args.values.from;
    if (typeof from !== "string" || !from) {
      throw new UserError(
        error("is required", {
          path: "--from",
          fix: `name the environment whose backups to restore (e.g. --from ${name}) or a backup id from plinth backup status ${name}`,
        }),
      );
    }
    const target = targetTime(args.values["target-time"]);
    durationFlag(args, "timeout");
    // Everything that can be refused is, before the state, the lock or the cluster is touched.
    const loaded = await loadFromArgs(args, ctx);
    const env = resolveChecked(loaded, name);
    requireConfirm(env, args.values.confirm, "a restore");
    const sourceName = from in loaded.config.environments ? from : undefined;
    if (!sourceName && !BACKUP_ID.test(from)) {
      throw new UserError(
        error(`${JSON.stringify(from)} is neither an environment of the config nor a backup id`, {
          path: "--from",
          fix: `use an environment (${Object.keys(loaded.config.environments).sort().join(", ")}) or a backup id such as 20260501T030000 (plinth backup status ${name})`,
        }),
      );
    }
    const fromOther = sourceName !== undefined && sourceName !== name;
    if (!sourceName && target) {
      throw new UserError(
        error("goes with --from <env>, not with a backup id", {
          path: "--target-time",
          fix: `restore to a point in time with --from ${name} --target-time …; a backup id restores that backup`,
        }),
      );
    }
    const components = databasesOf(env, args, fromOther);
    const session = await openSession(args, ctx, name);
    let fromSpec: RestoreFrom = { kind: "own" };
    if (!sourceName) {
      await checkBackup(session.env, from, components, ctx.env);
      fromSpec = { kind: "own", backupId: from };
    } else if (fromOther) {
      const source = await runningFromState(session.state, resolveChecked(loaded, sourceName));
      if (!source.backups) {
        throw new UserError(
          error(`${sourceName} has no backups to restore from`, {
            path: `environments.${sourceName}.backups`,
            fix: "restore from an environment that backs up its databases",
          }),
        );
      }
      fromSpec = { kind: "environment", env: source, credentials: tokenOf(source, ctx.env) };
    }
    return withLock(session, `restore ${name}`, async () => {
      const steps = planRestore({
        env: session.env,
        components,
        from: fromSpec,
        ...(target ? { targetTime: target } : {}),
        at: new Date(),
      });
      ctx.stdout(formatRestorePlan(session.env, steps));
      if (!(await confirm(ctx, args, `Restore ${name}?`, "re-run with --yes to restore without asking"))) {
        ctx.stderr("restore cancelled; nothing changed\n");
        return 0;
      }
      return runRestorePlan(
        session,
        steps,
        args,
        ctx,
        `restore from ${from}${target ? ` to ${target}` : ""}`,
      );
    });
  },
});
