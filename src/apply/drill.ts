/**
 * A restore drill: for each backed-up database, a separate Cluster restored from the live one's
 * backups next to it, waited for, timed, and removed again, whatever happened. It creates and
 * deletes only its own `<cluster>-drill` objects, and deletes nothing that lacks its label, so the
 * live Cluster and everything plinth applied are never touched.
 */
import type { BackedUpDatabase } from "../catalog/backup-targets.js";
import { DRILL_LABEL, drillCluster } from "../catalog/backups.js";
import { VAULT_PORT } from "../catalog/components/vault.js";
import { countJob, type DrillSubject, scratchVault, scratchVaultName } from "../catalog/drill-checks.js";
import type { KubeObject } from "../catalog/types.js";
import type { ResolvedEnvironment } from "../model/types.js";
import type { HttpAnswer } from "../providers/http.js";
import { apiError } from "../providers/kubernetes/errors.js";
import { displayName, type ObjectRef, refOf } from "../providers/kubernetes/identity.js";
import { conditionProbe } from "../providers/kubernetes/readiness.js";
import { type CountReport, judgeCounts, parseCounts } from "./drill-counts.js";
import {
  checkScratchVault,
  proxiedVault,
  type ScratchVaultOptions,
  type ScratchVaultResult,
} from "./drill-vault.js";
import { deleteAndWait, labelsOf, readOrUndefined, sleep } from "./side-objects.js";

/** The API calls a drill makes (KubeApi's), so a test can watch them. */
export interface DrillApi {
  apply(object: Record<string, unknown>, o: { fieldManager: string; force?: boolean }): Promise<unknown>;
  read(ref: ObjectRef): Promise<Record<string, unknown>>;
  delete(ref: ObjectRef): Promise<void>;
  list(
    apiVersion: string,
    kind: string,
    o: { namespace?: string; labelSelector?: string },
  ): Promise<Record<string, unknown>[]>;
  /** A pod's log (`api/v1/namespaces/<ns>/pods/<pod>/log`). */
  getText(path: string): Promise<string>;
  /** Through the API server's service proxy (the scratch Vault). */
  exchange(
    method: "GET" | "POST",
    path: string,
    json?: string,
    headers?: Record<string, string>,
  ): Promise<HttpAnswer>;
}

/** What a drill checks on a restore once it is Ready. */
export interface DrillChecks {
  /** Row counts of every table against the live Cluster, by a Job in the cluster. */
  counts: boolean;
  /** For the platform PostgreSQL: a scratch Vault that must unseal and read the canary. */
  vault?: Omit<ScratchVaultOptions, "timeoutMs" | "pollMs">;
  /** How long each check may take (the Job's deadline; the scratch Vault's start and unseal). */
  timeoutMs: number;
}

export interface DrillResult {
  component: string;
  /** `Cluster data/postgres-drill` */
  object: string;
  ready: boolean;
  /** From the create to the restored Cluster's Ready: the measured RTO. */
  rtoSeconds?: number;
  /** Why it did not become ready (the last status seen), or why a check failed. */
  failure?: string;
  /** The row counts against the source, when the restore became ready. */
  counts?: CountReport;
  /** The scratch Vault on the restored platform database. */
  vault?: ScratchVaultResult;
  /** Every drill object (the Cluster and the checks') deleted and gone. */
  removed: boolean;
}

export interface DrillOptions {
  api: DrillApi;
  env: ResolvedEnvironment;
  databases: readonly BackedUpDatabase[];
  targetTime?: string;
  /** How long a restore may take to become Ready. */
  timeoutMs: number;
  pollMs?: number;
  onEvent?: (text: string) => void;
  /** Absent: the restore is only waited for and timed. */
  checks?: DrillChecks;
}

const isDrill = (o: Record<string, unknown> | undefined): boolean => Boolean(labelsOf(o)[DRILL_LABEL]);

/** Deletes the drill's object (only if it carries the drill's label) and waits until it is gone. */
const remove = (o: DrillOptions, ref: ObjectRef): Promise<boolean> =>
  deleteAndWait(o.api, ref, {
    timeoutMs: Math.max(o.timeoutMs, 120_000),
    ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
    ours: isDrill,
  });

export async function runRestoreDrill(o: DrillOptions): Promise<DrillResult[]> {
  const results: DrillResult[] = [];
  // One at a time: a single VPS has room for one extra database, not for all of them at once.
  for (const db of o.databases) {
    const object: KubeObject = drillCluster(
      o.env,
      {
        cluster: db.server,
        namespace: db.namespace,
        component: db.component,
        storage: db.storage,
        memory: db.memory,
        database: db.database,
        owner: db.owner,
      },
      o.targetTime ? { targetTime: o.targetTime } : {},
    );
    const ref = refOf(object);
    const result: DrillResult = {
      component: db.component,
      object: displayName(ref),
      ready: false,
      removed: false,
    };
    results.push(result);
    const existing = await readOrUndefined(o.api, ref);
    if (existing && !isDrill(existing)) {
      result.failure = `${displayName(ref)} exists and is not a drill's: left alone`;
      continue;
    }
    // A killed drill's leftover is removed first: a restore starts from nothing.
    if (existing && !(await remove(o, ref))) {
      result.failure = `a previous drill's ${displayName(ref)} is still being deleted`;
      continue;
    }
    const started = Date.now();
    const checkObjects: KubeObject[] = [];
    try {
      o.onEvent?.(
        `+ ${displayName(ref)}: restoring ${db.server}'s backups${o.targetTime ? ` to ${o.targetTime}` : ""}`,
      );
      await o.api.apply(object as unknown as Record<string, unknown>, {
        fieldManager: "plinth-drill",
        force: true,
      });
      let status = "not found yet";
      while (Date.now() - started < o.timeoutMs) {
        const probe = conditionProbe((await readOrUndefined(o.api, ref)) as never, "Ready");
        status = probe.status;
        if (probe.ready) {
          result.ready = true;
          result.rtoSeconds = Math.round((Date.now() - started) / 100) / 10;
          break;
        }
        await sleep(o.pollMs ?? 5_000);
      }
      if (!result.ready)
        result.failure = `not Ready within ${Math.round(o.timeoutMs / 1000)} s; last seen: ${status}`;
      else if (o.checks) await runChecks(o, o.checks, db, result, checkObjects);
    } catch (e) {
      result.failure = [result.failure, apiError(e).message].filter(Boolean).join("; ");
    } finally {
      // The checks' objects first (they read the restore), the restored Cluster last.
      let removed = true;
      for (const c of checkObjects.splice(0).reverse()) removed = (await remove(o, refOf(c))) && removed;
      result.removed = (await remove(o, ref)) && removed;
      o.onEvent?.(`- ${displayName(ref)}: ${result.removed ? "removed" : "NOT removed"}`);
    }
  }
  return results;
}

const subjectOf = (db: BackedUpDatabase): DrillSubject => ({
  cluster: db.server,
  namespace: db.namespace,
  database: db.database,
  owner: db.owner,
});

/** Applies a check's object and remembers it for removal, even if the apply itself fails half way. */
async function create(o: DrillOptions, object: KubeObject, created: KubeObject[]): Promise<void> {
  created.push(object);
  await o.api.apply(object as unknown as Record<string, unknown>, {
    fieldManager: "plinth-drill",
    force: true,
  });
}

async function runChecks(
  o: DrillOptions,
  checks: DrillChecks,
  db: BackedUpDatabase,
  result: DrillResult,
  created: KubeObject[],
): Promise<void> {
  const subject = subjectOf(db);
  const problems: string[] = [];
  if (checks.counts) {
    const counts = await countRows(o, checks, subject, created);
    if (typeof counts === "string") problems.push(`row counts: ${counts}`);
    else {
      result.counts = counts;
      if (!counts.ok) problems.push("row counts: the restore lost data (see counts)");
    }
  }
  if (checks.vault && db.component === "platform-postgres") {
    const name = scratchVaultName(subject);
    o.onEvent?.(`+ scratch Vault ${subject.namespace}/${name} on ${db.server}-drill`);
    for (const object of scratchVault(o.env, subject)) await create(o, object, created);
    result.vault = await checkScratchVault(proxiedVault(o.api, subject.namespace, name, VAULT_PORT), {
      ...checks.vault,
      timeoutMs: checks.timeoutMs,
      ...(o.pollMs ? { pollMs: o.pollMs } : {}),
    });
    if (!result.vault.ok) problems.push(`scratch Vault: ${result.vault.failure}`);
  }
  if (problems.length) {
    result.failure = problems.join("; ");
  }
}

/**
 * Runs the counting Job and reads its pod's log through the API. A string is why no counts came
 * back (the Job did not finish, its log is not the counting output).
 */
async function countRows(
  o: DrillOptions,
  checks: DrillChecks,
  subject: DrillSubject,
  created: KubeObject[],
): Promise<CountReport | string> {
  const job = countJob(o.env, subject, {
    deadlineSeconds: Math.max(60, Math.round(checks.timeoutMs / 1000)),
  });
  const ref = refOf(job);
  o.onEvent?.(`+ ${displayName(ref)}: counting rows of ${subject.cluster} and ${subject.cluster}-drill`);
  await create(o, job, created);
  const deadline = Date.now() + checks.timeoutMs;
  let finished = false;
  while (Date.now() < deadline) {
    const status = ((await readOrUndefined(o.api, ref))?.status ?? {}) as {
      succeeded?: number;
      failed?: number;
    };
    if ((status.succeeded ?? 0) > 0 || (status.failed ?? 0) > 0) {
      finished = true;
      break;
    }
    await sleep(o.pollMs ?? 2_000);
  }
  if (!finished)
    return `the Job ${displayName(ref)} did not finish within ${Math.round(checks.timeoutMs / 1000)} s`;
  const pods = await o.api.list("v1", "Pod", {
    namespace: subject.namespace,
    labelSelector: `job-name=${ref.name}`,
  });
  const pod = (pods[0]?.metadata as { name?: string } | undefined)?.name;
  if (!pod) return `the Job ${displayName(ref)} finished but its pod is gone`;
  try {
    const log = await o.api.getText(
      `api/v1/namespaces/${encodeURIComponent(subject.namespace)}/pods/${encodeURIComponent(pod)}/log`,
    );
    return judgeCounts(parseCounts(log));
  } catch (e) {
    return `the log of pod ${subject.namespace}/${pod} is not the counting output: ${apiError(e).message}`;
  }
}

/**
 * Why a drill failed, beyond not restoring: the config's objectives missed. Pure, so the verdict
 * is tested apart from a cluster that can restore (the test bed has no CloudNativePG operator).
 */
export function missedObjectives(
  r: Pick<DrillResult, "ready" | "rtoSeconds">,
  rpoSeconds: number | undefined,
  objectives: { rpoSeconds?: number; rtoSeconds?: number },
): string[] {
  const out: string[] = [];
  if (objectives.rtoSeconds !== undefined && r.ready && (r.rtoSeconds ?? 0) > objectives.rtoSeconds) {
    out.push(`RTO ${r.rtoSeconds} s is over the objective of ${objectives.rtoSeconds} s`);
  }
  if (objectives.rpoSeconds !== undefined) {
    if (rpoSeconds === undefined)
      out.push("RPO not measured (the bucket could not be read), objective unproven");
    else if (rpoSeconds > objectives.rpoSeconds) {
      out.push(`RPO ${rpoSeconds} s is over the objective of ${objectives.rpoSeconds} s`);
    }
  }
  return out;
}
