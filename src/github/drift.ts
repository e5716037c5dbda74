/**
 * The scheduled drift check: each environment planned against its cluster; drift opens (or
 * updates) one GitHub issue per environment labelled `plinth-drift`, and closes it once the
 * environment is clean again. What to do is a pure function of (environment, plan summary,
 * existing issues); the GitHub calls go through the Octokit client of src/providers/github.
 */
import type { EnvironmentOptions } from "../api/engine.js";
import { planEnvironment } from "../api/engine.js";
import type { Plan } from "../plan/plan.js";
import type { Octokit, RepoRef } from "../providers/github/index.js";

export const DRIFT_LABEL = "plinth-drift";
/** GitHub refuses an issue body over 65,536 characters; the list is cut well before. */
const BODY_LIMIT = 60_000;

/** One object that differs from what plinth would apply: names and field paths, never values. */
export interface DriftedObject {
  action: "create" | "update" | "adopt" | "delete";
  component: string;
  kind: string;
  name: string;
  namespace?: string;
  /** Field paths that differ (update), e.g. `spec.replicas`. */
  paths: string[];
}

export interface DriftSummary {
  env: string;
  cluster: string;
  objects: DriftedObject[];
}

export interface DriftIssue {
  number: number;
  title: string;
  body: string;
  state: "open" | "closed";
}

export type DriftAction =
  | { kind: "open"; env: string; title: string; body: string }
  | { kind: "update"; env: string; number: number; title: string; body: string }
  | { kind: "close"; env: string; number: number; comment: string }
  | { kind: "none"; env: string; why: string };

/** The hidden line that ties an issue to its environment (a title may be edited by people). */
export const driftMarker = (env: string) => `<!-- plinth-drift:${env} -->`;

/** The objects of a live plan that are not as plinth would leave them. */
export function driftSummary(plan: Plan): DriftSummary {
  const objects: DriftedObject[] = [];
  for (const phase of plan.phases) {
    for (const component of phase.components) {
      for (const c of component.changes) {
        if (c.action === "no-op") continue;
        objects.push({
          action: c.action,
          component: component.id,
          kind: c.kind,
          name: c.name,
          ...(c.namespace ? { namespace: c.namespace } : {}),
          paths: (c.diff ?? []).map((d) => d.path),
        });
      }
    }
  }
  for (const c of plan.outside?.dns ?? []) {
    if (c.action === "no-op") continue;
    objects.push({ action: c.action, component: "dns", kind: c.kind, name: c.name, paths: [] });
  }
  return { env: plan.env, cluster: plan.cluster, objects };
}

export interface DriftContext {
  /** Link to the workflow run that found it (GITHUB_SERVER_URL/REPOSITORY/actions/runs/ID). */
  runUrl?: string;
}

/**
 * What to do about one environment's issue. Drift: update the open issue (when its text
 * changes) or open one; clean: close every open one. Duplicates (two open issues for the same
 * environment, e.g. from a race) are closed but for the oldest.
 */
export function driftActions(
  summary: DriftSummary,
  existing: readonly DriftIssue[],
  ctx: DriftContext = {},
): DriftAction[] {
  const mine = existing
    .filter((i) => i.state === "open" && i.body.includes(driftMarker(summary.env)))
    .sort((a, b) => a.number - b.number);
  const env = summary.env;
  if (summary.objects.length === 0) {
    if (mine.length === 0) return [{ kind: "none", env, why: "clean, no open drift issue" }];
    return mine.map((i) => ({
      kind: "close",
      env,
      number: i.number,
      comment: `${env} matches the config again${ctx.runUrl ? ` (checked by ${ctx.runUrl})` : ""}: closing.`,
    }));
  }
  const title = driftTitle(summary);
  const body = driftBody(summary, ctx);
  const [keep, ...duplicates] = mine;
  const closeDuplicates = duplicates.map(
    (i): DriftAction => ({
      kind: "close",
      env,
      number: i.number,
      comment: `Duplicate of #${keep?.number}: one drift issue per environment.`,
    }),
  );
  if (!keep) return [{ kind: "open", env, title, body }];
  // The run link changes every time: only a change of the drift itself is worth an edit.
  const same = withoutRunLink(keep.body) === withoutRunLink(body) && keep.title === title;
  return [
    same
      ? { kind: "none", env, why: `#${keep.number} already describes this drift` }
      : { kind: "update", env, number: keep.number, title, body },
    ...closeDuplicates,
  ];
}

const RUN_LINE = /^Found by .*$/m;
const withoutRunLink = (body: string) => body.replace(RUN_LINE, "");

export function driftTitle(s: DriftSummary): string {
  const n = s.objects.length;
  return `Drift in ${s.env}: ${n} object${n === 1 ? "" : "s"} differ from the config`;
}

/** Markdown: a count per action, then one line per object (field paths, never values). */
export function driftBody(s: DriftSummary, ctx: DriftContext = {}): string {
  const count = (a: DriftedObject["action"]) => s.objects.filter((o) => o.action === a).length;
  const head = [
    driftMarker(s.env),
    `**${s.env}** (cluster \`${s.cluster}\`) is not what its config says: \`plinth apply ${s.env}\` would change what is listed below.`,
    "",
    "| create | update | adopt | delete |",
    "|---|---|---|---|",
    `| ${count("create")} | ${count("update")} | ${count("adopt")} | ${count("delete")} |`,
    "",
  ];
  const tail = [
    "",
    `Either apply the config (a pull request, or \`/apply ${s.env}\` on one), or change the config to what runs now. This issue closes itself when a drift check finds ${s.env} clean.`,
    ...(ctx.runUrl ? [`Found by ${ctx.runUrl}`] : []),
  ];
  const lines: string[] = [];
  let size = [...head, ...tail].join("\n").length;
  for (const [i, o] of s.objects.entries()) {
    const where = o.namespace ? `${o.namespace}/${o.name}` : o.name;
    const paths = o.paths.length > 0 ? `: ${o.paths.map((p) => `\`${p}\``).join(", ")}` : "";
    const line = `- ${o.action} ${o.kind} \`${where}\` (${o.component})${paths}`;
    if (size + line.length + 200 > BODY_LIMIT) {
      lines.push(`- … and ${s.objects.length - i} more (run \`plinth plan ${s.env}\` for all of them)`);
      break;
    }
    lines.push(line);
    size += line.length + 1;
  }
  return [...head, ...lines, ...tail].join("\n");
}

/** The issue calls drift needs, through Octokit (the stand-in checks them against GitHub's schema). */
export class DriftIssues {
  constructor(
    private readonly octokit: Octokit,
    private readonly ref: RepoRef,
  ) {}

  /** Open issues carrying the label (pull requests, which the same endpoint lists, left out). */
  async open(): Promise<DriftIssue[]> {
    const list = await this.octokit.paginate(this.octokit.rest.issues.listForRepo, {
      ...this.ref,
      labels: DRIFT_LABEL,
      state: "open",
      per_page: 100,
    });
    return list
      .filter((i) => !i.pull_request)
      .map((i) => ({
        number: i.number,
        title: i.title,
        body: i.body ?? "",
        state: i.state === "closed" ? "closed" : "open",
      }));
  }

  /** The label, made once per repository. */
  async ensureLabel(): Promise<void> {
    try {
      await this.octokit.rest.issues.getLabel({ ...this.ref, name: DRIFT_LABEL });
    } catch (e) {
      if ((e as { status?: number }).status !== 404) throw e;
      try {
        await this.octokit.rest.issues.createLabel({
          ...this.ref,
          name: DRIFT_LABEL,
          color: "d93f0b",
          description:
            "An environment differs from its plinth config (opened and closed by plinth's drift check)",
        });
      } catch (made) {
        // The drift workflow checks environments in parallel jobs: another may have made it first.
        if ((made as { status?: number }).status !== 422) throw made;
      }
    }
  }

  async perform(action: DriftAction): Promise<number | undefined> {
    switch (action.kind) {
      case "open": {
        const { data } = await this.octokit.rest.issues.create({
          ...this.ref,
          title: action.title,
          body: action.body,
          labels: [DRIFT_LABEL],
        });
        return data.number;
      }
      case "update":
        await this.octokit.rest.issues.update({
          ...this.ref,
          issue_number: action.number,
          title: action.title,
          body: action.body,
        });
        return action.number;
      case "close":
        await this.octokit.rest.issues.createComment({
          ...this.ref,
          issue_number: action.number,
          body: action.comment,
        });
        await this.octokit.rest.issues.update({
          ...this.ref,
          issue_number: action.number,
          state: "closed",
          state_reason: "completed",
        });
        return action.number;
      case "none":
        return undefined;
    }
  }
}

export interface DriftRun {
  env: string;
  summary?: DriftSummary;
  /** Why the environment could not be planned (its issue is left as it is). */
  failed?: string;
  actions: DriftAction[];
}

/**
 * Plans each environment (reads only) and brings its drift issue in line. An environment that
 * cannot be planned is reported and its issue left alone: an unreachable cluster is not "clean".
 */
export async function runDrift(o: {
  envs: readonly string[];
  issues: DriftIssues;
  runUrl?: string;
  /**
   * How an environment is planned: the CLI gives its own live plan (cluster, Vault and DNS, as
   * `plinth plan` shows it); a library caller may give planEnvironment's options instead.
   */
  plan: ((env: string) => Promise<Plan>) | Omit<EnvironmentOptions, "env">;
}): Promise<DriftRun[]> {
  const { plan } = o;
  const planOne = typeof plan === "function" ? plan : (env: string) => planEnvironment({ ...plan, env });
  await o.issues.ensureLabel();
  const runs: DriftRun[] = [];
  for (const env of o.envs) {
    let summary: DriftSummary;
    try {
      summary = driftSummary(await planOne(env));
    } catch (e) {
      runs.push({ env, failed: (e as Error).message, actions: [] });
      continue;
    }
    const actions = driftActions(summary, await o.issues.open(), o.runUrl ? { runUrl: o.runUrl } : {});
    for (const action of actions) await o.issues.perform(action);
    runs.push({ env, summary, actions });
  }
  return runs;
}
