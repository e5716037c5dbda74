/**
 * `plinth restore` and `plinth data clone`, the part that acts on the cluster: for each database, a
 * new generation of its Cluster restored next to the live one, waited for (and, for a clone,
 * scrubbed), or removed again if it did not make it. The live Cluster is never touched here: the
 * command switches consumers to the new generation with a normal apply and only then removes the
 * old one (removeOldGeneration), so the old one stays until the new one is healthy.
 */
import { clusterBackups, objectStoreName } from "../catalog/backups.js";
import { postgresCluster } from "../catalog/postgres-cluster.js";
import {
  databaseOptions,
  RESTORE_FIELD_MANAGER,
  RESTORE_LABEL,
  type RestoreSource,
  restoreCluster,
  sourceCredentials,
  sourceObjectStore,
  sourceObjectStoreName,
} from "../catalog/restore.js";
import type { KubeObject } from "../catalog/types.js";
import { error, UserError } from "../diagnostics/diagnostic.js";
import { generationName, type RestorableDatabase } from "../model/backups.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { apiError } from "../providers/kubernetes/errors.js";
import { displayName, type ObjectRef, refOf } from "../providers/kubernetes/identity.js";
import { FIELD_MANAGER } from "../providers/kubernetes/provider.js";
import { conditionProbe } from "../providers/kubernetes/readiness.js";
import { deleteAndWait, labelsOf, readOrUndefined, sleep } from "./side-objects.js";

/** The API calls a restore makes (KubeApi's), so a test can watch them. */
export interface RestoreApi {
  apply(object: Record<string, unknown>, o: { fieldManager: string; force?: boolean }): Promise<unknown>;
  read(ref: ObjectRef): Promise<Record<string, unknown>>;
  delete(ref: ObjectRef): Promise<void>;
}

/** One database's restore, as planned (what the plan shows) and as run. */
export interface RestoreStep {
  component: RestorableDatabase;
  namespace: string;
  /** The Cluster consumers use now. */
  old: string;
  /** The new generation's Cluster. */
  next: string;
  /** What it is restored from, in words: `prod's postgres, backup 20260501T030000` */
  from: string;
  /** The new Cluster (with its recovery bootstrap). */
  cluster: KubeObject;
  /** The same Cluster as plinth renders it for the new generation (no bootstrap): its fields are plinth's. */
  desired: KubeObject;
  /** Created before the Cluster, removed after it is Ready or given up: a source ObjectStore and its token. */
  transient: KubeObject[];
  /** A clone's scrub ConfigMap and Job, run once the Cluster is Ready. */
  scrub?: KubeObject[];
}

export interface RestoreResult {
  component: RestorableDatabase;
  next: string;
  ready: boolean;
  /** From the create to Ready (and scrubbed, for a clone). */
  seconds?: number;
  scrubbed?: boolean;
  failure?: string;
  /** Removed again because it did not make it (the old one is in use, untouched). */
  removed?: boolean;
}

export interface RestoreOptions {
  api: RestoreApi;
  steps: readonly RestoreStep[];
  timeoutMs: number;
  pollMs?: number;
  onEvent?: (text: string) => void;
}

/** Deletes an object the restore made (its label says so) and waits until it is gone. */
const removeOwn = (o: RestoreOptions, ref: ObjectRef): Promise<boolean> =>
  deleteAndWait(o.api, ref, {
    timeoutMs: Math.max(o.timeoutMs, 120_000),
    ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
    ours: (live) => Boolean(labelsOf(live)[RESTORE_LABEL]),
  });

/** A Job's outcome: done, failed (with why), or still running. */
function jobState(job: Record<string, unknown> | undefined): "done" | "running" | string {
  const complete = conditionProbe(job as never, "Complete");
  if (complete.ready) return "done";
  const failed = conditionProbe(job as never, "Failed");
  return failed.ready ? `the scrub Job failed: ${failed.status}` : "running";
}

const apply = (o: RestoreOptions, object: KubeObject) =>
  o.api.apply(object as unknown as Record<string, unknown>, {
    fieldManager: RESTORE_FIELD_MANAGER,
    force: true,
  });

/**
 * Creates each step's new generation and waits until it is Ready (and scrubbed); one at a time, as
 * a drill (one VPS has room for one more database). A step that does not make it is removed again
 * and stops the run: the later ones are not started, and nothing was switched.
 */
export async function restoreGenerations(o: RestoreOptions): Promise<RestoreResult[]> {
  const results: RestoreResult[] = [];
  for (const step of o.steps) {
    const ref = refOf(step.cluster);
    const result: RestoreResult = { component: step.component, next: step.next, ready: false };
    results.push(result);
    if (await readOrUndefined(o.api, ref)) {
      result.failure = `${displayName(ref)} exists already: a restore of this second ran before; nothing created`;
      break;
    }
    const started = Date.now();
    try {
      for (const t of step.transient) await apply(o, t);
      o.onEvent?.(`+ ${displayName(ref)}: restoring ${step.from}`);
      await apply(o, step.cluster);
      // Every field plinth renders becomes plinth's own (CloudNativePG's CRD defaults make the
      // lists differ from what plinth sends, so two managers of them would conflict at the
      // switch); the recovery bootstrap stays the restore's, so plinth's next plan leaves it.
      await o.api.apply(step.desired as unknown as Record<string, unknown>, {
        fieldManager: FIELD_MANAGER,
        force: true,
      });
      let status = "not found yet";
      while (Date.now() - started < o.timeoutMs) {
        const probe = conditionProbe((await readOrUndefined(o.api, ref)) as never, "Ready");
        status = probe.status;
        if (probe.ready) break;
        await sleep(o.pollMs ?? 5_000);
      }
      if (status.startsWith("Ready=True")) {
        result.ready = true;
        if (step.scrub) {
          result.ready = false;
          result.scrubbed = false;
          for (const s of step.scrub) await apply(o, s);
          const job = step.scrub.find((s) => s.kind === "Job");
          const jobRef = job ? refOf(job) : undefined;
          o.onEvent?.(`+ ${jobRef ? displayName(jobRef) : "scrub"}: running the scrub SQL in ${step.next}`);
          let state = "running";
          while (jobRef && Date.now() - started < o.timeoutMs) {
            state = jobState(await readOrUndefined(o.api, jobRef));
            if (state !== "running") break;
            await sleep(o.pollMs ?? 5_000);
          }
          if (state === "done") {
            result.ready = true;
            result.scrubbed = true;
          } else {
            result.failure =
              state === "running"
                ? `the scrub did not finish within ${Math.round(o.timeoutMs / 1000)} s`
                : state;
          }
        }
        if (result.ready) result.seconds = Math.round((Date.now() - started) / 100) / 10;
      } else {
        result.failure = `not Ready within ${Math.round(o.timeoutMs / 1000)} s; last seen: ${status}`;
      }
    } catch (e) {
      result.failure = apiError(e).message;
    } finally {
      // The source's token and the scrub leave whatever happened; the Cluster only if it failed.
      for (const t of [...step.transient, ...(step.scrub ?? [])].reverse()) await removeOwn(o, refOf(t));
      if (!result.ready) {
        result.removed = await removeOwn(o, ref);
        o.onEvent?.(
          `- ${displayName(ref)}: ${result.removed ? "removed" : "NOT removed"} (${step.old} untouched)`,
        );
      }
    }
    if (!result.ready) break;
  }
  return results;
}

/**
 * Removes the generation consumers no longer use, once the switch has been applied: only a Cluster
 * of that database that is not the active one. Its volume goes as its storage class says (the live
 * databases' class keeps volumes: the old data stays on disk until removed by hand).
 */
export async function removeOldGeneration(
  api: RestoreApi,
  ref: ObjectRef,
  active: string,
  o: { timeoutMs: number; pollMs?: number },
): Promise<boolean> {
  if (ref.name === active) return false;
  return deleteAndWait(api, ref, o);
}

/** Where a restore's data comes from: this environment's own backups, one of them, or another environment's. */
export type RestoreFrom =
  | { kind: "own"; backupId?: string }
  | {
      kind: "environment";
      env: ResolvedEnvironment;
      /** The source's bucket token (its own variables' values), for the transient ObjectStore. */
      credentials: { accessKeyId: string; secretAccessKey: string };
    };

export interface RestoreRequest {
  env: ResolvedEnvironment;
  components: readonly RestorableDatabase[];
  from: RestoreFrom;
  targetTime?: string;
  /** The restore's time: the new generations' names. */
  at: Date;
}

/** The environment once `component` runs as `next`: what the switch applies. */
export function withGeneration(
  env: ResolvedEnvironment,
  component: RestorableDatabase,
  next: string,
): ResolvedEnvironment {
  return { ...env, activeClusters: { ...env.activeClusters, [component]: next } };
}

/** The source's backups of a database: the cluster's shared settings for the platform one. */
function backupsOf(env: ResolvedEnvironment, component: RestorableDatabase) {
  return component === "platform-postgres" ? clusterBackups(env) : env.backups;
}

/**
 * What a restore will do, per database, before anything is done: the plan the command shows and
 * then runs. Pure. Refusals (bad input) are UserErrors naming the flag or field and the fix.
 */
export function planRestore(r: RestoreRequest): RestoreStep[] {
  return r.components.map((component) => {
    const live = databaseOptions(r.env, component);
    const next = generationName(live.base ?? live.name, r.at);
    const nextEnv = withGeneration(r.env, component, next);
    const when = [
      r.from.kind === "own" && r.from.backupId ? `backup ${r.from.backupId}` : undefined,
      r.targetTime ? `to ${r.targetTime}` : undefined,
    ].filter(Boolean);
    const latest = when.length ? when.join(", ") : "latest backup and all archived WAL";
    if (r.from.kind === "own") {
      if (!backupsOf(r.env, component)) throw noBackups(r.env.name, component);
      const source: RestoreSource = {
        env: r.env.name,
        server: live.name,
        objectStore: objectStoreName({ cluster: live.name, namespace: live.namespace, component }),
        ...(r.from.backupId ? { backupId: r.from.backupId } : {}),
        ...(r.targetTime ? { targetTime: r.targetTime } : {}),
      };
      return {
        component,
        namespace: live.namespace,
        old: live.name,
        next,
        from: `${r.env.name}'s ${live.name} (${latest})`,
        cluster: restoreCluster(nextEnv, component, source),
        desired: postgresCluster(nextEnv, databaseOptions(nextEnv, component)),
        transient: [],
      };
    }
    const sourceEnv = r.from.env;
    const sourceBackups = backupsOf(sourceEnv, component);
    if (!sourceBackups) throw noBackups(sourceEnv.name, component);
    const server = databaseOptions(sourceEnv, component).name;
    const target = { namespace: live.namespace, next, component };
    const source: RestoreSource = {
      env: sourceEnv.name,
      server,
      objectStore: sourceObjectStoreName(next),
      ...(r.targetTime ? { targetTime: r.targetTime } : {}),
    };
    return {
      component,
      namespace: live.namespace,
      old: live.name,
      next,
      from: `${sourceEnv.name}'s ${server} (${latest}) in s3://${sourceBackups.bucket}/${sourceBackups.prefix}/${server}/`,
      cluster: restoreCluster(nextEnv, component, source),
      desired: postgresCluster(nextEnv, databaseOptions(nextEnv, component)),
      transient: [
        sourceCredentials(target, sourceBackups, r.from.credentials),
        sourceObjectStore(target, sourceBackups, server),
      ],
    };
  });
}

function noBackups(env: string, component: RestorableDatabase): UserError {
  return new UserError(
    error(`${env} has no backups of ${component} to restore from`, {
      path: `environments.${env}.backups`,
      fix: "add backups: { schedule, destination } to it (README: Backups and restores)",
    }),
  );
}

/** The plan as text: what is replaced, from what, and what happens to the old Cluster. */
export function formatRestorePlan(
  env: ResolvedEnvironment,
  steps: readonly RestoreStep[],
  verb: "Restore" | "Clone" = "Restore",
): string {
  const lines = [`${verb} plan for ${env.name} (kind ${env.kind}) on cluster ${env.cluster.name}:`];
  for (const s of steps) {
    lines.push(
      `  ${s.component}: Cluster ${s.namespace}/${s.old} is replaced by a new Cluster ${s.namespace}/${s.next}`,
      `    from ${s.from}`,
      ...s.transient.map(
        (t) => `    + ${t.kind} ${s.namespace}/${t.metadata.name} (the source's, removed once restored)`,
      ),
      ...(s.scrub
        ? [
            `    then the scrub SQL runs in ${s.next} (Job ${s.namespace}/${s.scrub.find((o) => o.kind === "Job")?.metadata.name}) before anything is pointed at it`,
          ]
        : []),
      `    ${s.next} archives to its own folder (server ${s.next}); ${s.old}'s backups stay where they are`,
      `    once ${s.next} is Ready${s.scrub ? " and scrubbed" : ""}: consumers switch to ${s.next}-rw (plinth apply of ${env.name}), then ${s.old} is deleted`,
      `    if it does not become Ready: ${s.next} is deleted, ${s.old} stays in use, untouched`,
    );
  }
  return `${lines.join("\n")}\n`;
}
