import { readFileSync } from "node:fs";
import type { ApplyOptions } from "../api/engine.js";
import { error, UserError } from "../diagnostics/diagnostic.js";
import { connectFromActions, GitHubRepo } from "../providers/github/index.js";
import { autoplan } from "./autoplan.js";
import { onClosed } from "./closed.js";
import { onComment } from "./commands-run.js";
import type { GitHubRun } from "./context.js";
import { type GitHubEvent, parseEvent } from "./event.js";
import { publishSavedComment } from "./publish.js";

export interface RunGitHubOptions {
  /**
   * The job's environment variables: GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_REPOSITORY,
   * GITHUB_TOKEN, GITHUB_API_URL, GITHUB_SERVER_URL, GITHUB_RUN_ID, GITHUB_STEP_SUMMARY, and
   * the credentials the job was given (PLINTH_PLAN_KEY, AWS_*, CLOUDFLARE_API_TOKEN, KUBECONFIG…).
   * Read here, at the entry, and nowhere deeper.
   */
  env: Readonly<Record<string, string | undefined>>;
  /** The workspace (GITHUB_WORKSPACE, or where the config is). */
  cwd: string;
  configPath?: string;
  /** Only these environments (the workflow's `environments` input); default: every one in the config. */
  envs?: readonly string[];
  /** A line for the job log. */
  log: (line: string) => void;
  /** Adds Markdown to the job summary; default: @actions/core's summary when GITHUB_STEP_SUMMARY is set. */
  summary?: (markdown: string) => Promise<void>;
  /** Passed to `/apply`'s run. */
  apply?: Pick<ApplyOptions, "noWait" | "skipHealthChecks" | "maxWaitMs">;
  /** The scheduled and dispatched run (the drift check), supplied by its implementation. */
  onSchedule?: (run: GitHubRun, event: "schedule" | "workflow_dispatch") => Promise<number>;
}

function required(env: RunGitHubOptions["env"], name: string, fix: string): string {
  const value = env[name];
  if (!value) throw new UserError(error("is not set", { path: name, fix }));
  return value;
}

/** The event the job was started by, from GITHUB_EVENT_NAME and the file at GITHUB_EVENT_PATH. */
export function readEvent(env: RunGitHubOptions["env"]): GitHubEvent {
  const fix =
    "run plinth github inside a GitHub Actions job (it sets GITHUB_EVENT_NAME and GITHUB_EVENT_PATH)";
  const name = required(env, "GITHUB_EVENT_NAME", fix);
  const path = required(env, "GITHUB_EVENT_PATH", fix);
  let payload: unknown;
  try {
    payload = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UserError(
      error(
        `cannot be read as the event's JSON: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        {
          path: `GITHUB_EVENT_PATH ${path}`,
          fix,
        },
      ),
    );
  }
  return parseEvent(name, payload);
}

async function actionsSummary(markdown: string): Promise<void> {
  // Only the action needs @actions/core: loaded here, never by the plan path.
  const { summary } = await import("@actions/core");
  await summary.addRaw(markdown, true).write();
}

/**
 * `plinth github`, and the action's entry: acts on the event the job received. Pull requests get
 * their desired-state diff in one sticky comment (no credentials); comments run `/plan`, `/apply`,
 * `/unlock`, `/help` after the permission check; closing a pull request gives back what it
 * reserved and deletes its plans; a fork's finished autoplan run (`workflow_run`) has the comment
 * it saved posted. Returns the exit code: 0 done (or nothing to do), 2 refused
 * (the reason is on the pull request too). A UserError is thrown for bad input (no token, no event).
 */
export async function runGitHub(o: RunGitHubOptions): Promise<number> {
  const event = readEvent(o.env);
  if (event.kind === "ignored") {
    o.log(`nothing to do: ${event.why}`);
    return 0;
  }
  const { ref, octokit } = await connectFromActions(
    o.env,
    "run plinth github inside a GitHub Actions job, which sets it",
  );
  const run: GitHubRun = {
    gh: new GitHubRepo(octokit, ref),
    env: o.env,
    cwd: o.cwd,
    ...(o.configPath ? { configPath: o.configPath } : {}),
    ...(o.envs?.length ? { only: o.envs } : {}),
    log: o.log,
    summary: o.summary ?? (o.env.GITHUB_STEP_SUMMARY ? actionsSummary : async () => {}),
    apply: o.apply ?? {},
  };
  switch (event.kind) {
    case "pull_request":
      return event.action === "closed" ? onClosed(run, event) : autoplan(run, event);
    case "comment":
      return onComment(run, event);
    case "review":
      // Reviews are read when they matter: at `/apply`, for the head commit it is asked on.
      o.log(`review by ${event.reviewer} (${event.state}) on #${event.pr}: checked at the next /apply`);
      return 0;
    case "workflow_run":
      return publishSavedComment(run, event);
    case "schedule":
    case "workflow_dispatch":
      if (o.onSchedule) return o.onSchedule(run, event.kind);
      o.log(`${event.kind}: no scheduled check is configured in this plinth`);
      return 0;
  }
}
