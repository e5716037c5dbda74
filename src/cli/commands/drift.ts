import { error, UserError } from "../../diagnostics/diagnostic.js";
import { DriftIssues, type DriftRun, runDrift } from "../../github/drift.js";
import { standingKind } from "../../github/workflows.js";
import { assertEnvironment, environmentKind } from "../../model/resolve.js";
import { composePlan } from "../../plan/compose.js";
import { connectFromActions } from "../../providers/github/index.js";
import { type CommandContext, defineCommand } from "../command.js";
import { planDnsChanges } from "../dns.js";
import { inFile, loadFromArgs } from "../load.js";
import { openSession } from "../session.js";
import { sessionVaultAccess } from "../vault-access.js";

export const drift = defineCommand({
  name: "drift",
  summary: "Plan environments against their clusters; open, update or close their plinth-drift issues",
  usage: "plinth drift [--env ENV]... (in a workflow: GITHUB_TOKEN, GITHUB_REPOSITORY)",
  options: { env: { type: "string", multiple: true } },
  positionals: [],
  async handler(args, ctx) {
    const loaded = await loadFromArgs(args, ctx);
    const { config } = loaded;
    const asked = args.values.env ?? [];
    try {
      for (const env of asked) assertEnvironment(config, env);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(inFile(e.diagnostics, loaded.displayFile));
      throw e;
    }
    const envs =
      asked.length > 0
        ? asked
        : Object.keys(config.environments)
            .sort()
            .filter((e) => standingKind(environmentKind(config, e)));
    const { ref: repo, octokit } = await connectFromActions(
      ctx.env,
      "run in a GitHub Actions workflow (it sets GITHUB_REPOSITORY), or set it to the repository the issues belong in",
    );
    const { GITHUB_SERVER_URL: server, GITHUB_RUN_ID: runId } = ctx.env;
    const runs = await runDrift({
      envs,
      // Exactly what `plinth plan <env>` shows: the cluster, Vault and the DNS records.
      plan: async (env) => {
        const session = await openSession(args, ctx, env);
        const vault = sessionVaultAccess(session, args, ctx);
        const dns = planDnsChanges(session.env, ctx, "read");
        return composePlan(session, { ...(vault ? { vault } : {}), dns });
      },
      issues: new DriftIssues(octokit, repo),
      ...(server && runId ? { runUrl: `${server}/${repo.owner}/${repo.repo}/actions/runs/${runId}` } : {}),
    });
    for (const r of runs) ctx.stdout(`${report(r)}\n`);
    await actionOutputs(ctx, runs);
    const failed = runs.filter((r) => r.failed);
    if (failed.length > 0) {
      throw new UserError(
        failed.map((r) =>
          error(`could not be planned: ${r.failed}`, {
            path: `environments.${r.env}`,
            fix: "check the cluster's kubeconfig secret and that the runner reaches the cluster; its drift issue was left as it was",
          }),
        ),
      );
    }
    return 0;
  },
});

function report(r: DriftRun): string {
  if (r.failed) return `${r.env}: not planned`;
  const n = r.summary?.objects.length ?? 0;
  const did = r.actions
    .map((a) =>
      a.kind === "open" ? "opened an issue" : a.kind === "none" ? a.why : `${a.kind}d #${a.number}`,
    )
    .join("; ");
  return `${r.env}: ${n === 0 ? "clean" : `drift in ${n} object${n === 1 ? "" : "s"}`} (${did})`;
}

/** In a workflow: the `changed-environments` output and a line per environment in the job summary. */
async function actionOutputs(ctx: CommandContext, runs: DriftRun[]): Promise<void> {
  if (!ctx.env.GITHUB_OUTPUT && !ctx.env.GITHUB_STEP_SUMMARY) return;
  // Loaded only here: no other command needs it.
  const core = await import("@actions/core");
  const changed = runs.filter((r) => (r.summary?.objects.length ?? 0) > 0).map((r) => r.env);
  if (ctx.env.GITHUB_OUTPUT) core.setOutput("changed-environments", changed.join(" "));
  if (ctx.env.GITHUB_STEP_SUMMARY) {
    await core.summary.addHeading("plinth drift", 3).addList(runs.map(report)).write();
  }
}
