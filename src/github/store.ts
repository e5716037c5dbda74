import { error, UserError } from "../diagnostics/diagnostic.js";
import { checkSignature, notAPlan, type Plan, verifyHash } from "../plan/plan.js";
import type { StateBackend } from "../state/index.js";

/**
 * Plans made for a pull request, stored beside the state under its number and head commit:
 * `/apply` finds exactly the plan of the head it is asked on, and closing the pull request
 * removes them all.
 */
const folder = (pr: number) => `github/pr-${pr}/`;
const planKey = (pr: number, sha: string, env: string) => `${folder(pr)}${sha}/${env}.json`;

export async function storePlan(backend: StateBackend, pr: number, sha: string, plan: Plan): Promise<void> {
  await backend.writeBlob(planKey(pr, sha, plan.env), `${JSON.stringify(plan)}\n`);
}

/**
 * The plan stored for this head, checked as `plinth apply plan.json` checks a file: its shape,
 * that it is live, its hash and its signature (the key is required here: a stored plan travels
 * from one job to another). Undefined when there is none; a bad one is a UserError saying why.
 */
export async function storedPlan(
  backend: StateBackend,
  o: { pr: number; sha: string; env: string; key: string },
): Promise<Plan | undefined> {
  const where = `${backend.describe()} ${planKey(o.pr, o.sha, o.env)}`;
  const text = await backend.readBlob(planKey(o.pr, o.sha, o.env));
  if (text === undefined) return undefined;
  const refuse = (why: string) =>
    new UserError(error(why, { path: where, fix: `plan again: comment /plan ${o.env}` }));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw refuse("is not JSON");
  }
  const shape = notAPlan(value);
  if (shape) throw refuse(`is not a plan: ${shape}`);
  const plan = value as Plan;
  if (plan.offline || plan.env !== o.env) throw refuse(`is not a live plan of ${o.env}`);
  if (!verifyHash(plan)) throw refuse("does not match its content hash (edited or damaged)");
  const signature = checkSignature(plan, o.key);
  if (signature !== "valid")
    throw refuse(`is ${signature === "unsigned" ? "not signed" : "signed with another key or edited"}`);
  return plan;
}

/** Removes every plan stored for the pull request; returns how many. */
export async function deletePlans(backend: StateBackend, pr: number): Promise<number> {
  const keys = await backend.listBlobs(folder(pr));
  for (const k of keys) await backend.deleteBlob(k);
  return keys.length;
}
