/**
 * Objects a drill or a restore makes beside the live ones and removes again: read without a 404
 * being an error, and deleted only when they are what the caller says, waiting until they are gone
 * (a Cluster's finalizers take a while), so the next step never races a half-deleted object.
 */
import { apiError } from "../providers/kubernetes/errors.js";
import type { ObjectRef } from "../providers/kubernetes/identity.js";

export interface SideObjectApi {
  read(ref: ObjectRef): Promise<Record<string, unknown>>;
  delete(ref: ObjectRef): Promise<void>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function readOrUndefined(
  api: Pick<SideObjectApi, "read">,
  ref: ObjectRef,
): Promise<Record<string, unknown> | undefined> {
  try {
    return await api.read(ref);
  } catch (e) {
    if (apiError(e).code === 404) return undefined;
    throw e;
  }
}

export const labelsOf = (o: Record<string, unknown> | undefined): Record<string, string> =>
  (o?.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {};

/**
 * Deletes `ref` and waits until it is gone: true when it is gone (or never was), false when it is
 * not `ours` (left alone) or still there at the deadline.
 */
export async function deleteAndWait(
  api: SideObjectApi,
  ref: ObjectRef,
  o: { timeoutMs: number; pollMs?: number; ours?: (live: Record<string, unknown>) => boolean },
): Promise<boolean> {
  const live = await readOrUndefined(api, ref);
  if (!live) return true;
  if (o.ours && !o.ours(live)) return false;
  await api.delete(ref);
  const deadline = Date.now() + o.timeoutMs;
  while (Date.now() < deadline) {
    if (!(await readOrUndefined(api, ref))) return true;
    await sleep(o.pollMs ?? 2_000);
  }
  return false;
}
