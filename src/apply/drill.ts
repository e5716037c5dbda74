/**
 * A restore drill: for each backed-up database, a separate Cluster restored from the live one's
 * backups next to it, waited for, timed, and removed again, whatever happened. It creates and
 * deletes only its own `<cluster>-drill` objects, and deletes nothing that lacks its label, so the
 * live Cluster and everything plinth applied are never touched.
 */
import type { BackedUpDatabase } from "../catalog/backup-targets.js";
import { DRILL_LABEL, drillCluster } from "../catalog/backups.js";
import type { KubeObject } from "../catalog/types.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { apiError } from "../providers/kubernetes/errors.js";
import { displayName, type ObjectRef, refOf } from "../providers/kubernetes/identity.js";
import { conditionProbe } from "../providers/kubernetes/readiness.js";

/** The API calls a drill makes (KubeApi's), so a test can watch them. */
export interface DrillApi {
  apply(object: Record<string, unknown>, o: { fieldManager: string; force?: boolean }): Promise<unknown>;
  read(ref: ObjectRef): Promise<Record<string, unknown>>;
  delete(ref: ObjectRef): Promise<void>;
}

export interface DrillResult {
  component: string;
  /** `Cluster data/postgres-drill` */
  object: string;
  ready: boolean;
  /** From the create to the restored Cluster's Ready: the measured RTO. */
  rtoSeconds?: number;
  /** Why it did not become ready (the last status seen), if it did not. */
  failure?: string;
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
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readOrUndefined(api: DrillApi, ref: ObjectRef): Promise<Record<string, unknown> | undefined> {
  try {
    return await api.read(ref);
  } catch (e) {
    if (apiError(e).code === 404) return undefined;
    throw e;
  }
}

function isDrill(o: Record<string, unknown> | undefined): boolean {
  const labels = (o?.metadata as { labels?: Record<string, string> } | undefined)?.labels;
  return Boolean(labels?.[DRILL_LABEL]);
}

/** Deletes the drill's object (only if it carries the drill's label) and waits until it is gone. */
async function remove(o: DrillOptions, ref: ObjectRef): Promise<boolean> {
  const live = await readOrUndefined(o.api, ref);
  if (!live) return true;
  if (!isDrill(live)) return false;
  await o.api.delete(ref);
  const deadline = Date.now() + Math.max(o.timeoutMs, 120_000);
  while (Date.now() < deadline) {
    if (!(await readOrUndefined(o.api, ref))) return true;
    await sleep(o.pollMs ?? 2_000);
  }
  return false;
}

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
    } catch (e) {
      result.failure = apiError(e).message;
    } finally {
      result.removed = await remove(o, ref);
      o.onEvent?.(`- ${displayName(ref)}: ${result.removed ? "removed" : "NOT removed"}`);
    }
  }
  return results;
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
