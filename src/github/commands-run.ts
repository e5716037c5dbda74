import { dirname } from "node:path";
import { applyPlan, planEnvironment } from "../api/engine.js";
import { type LoadedConfig, loadConfig } from "../config/load.js";
import { UserError } from "../diagnostics/diagnostic.js";
import { signPlan } from "../plan/plan.js";
import type { CloudflareDnsProvider } from "../providers/cloudflare/provider.js";
import type { PullFacts } from "../providers/github/index.js";
import { environmentVaultAccess, type VaultAccess } from "../providers/vault/access.js";
import {
  readReservation,
  releaseReservation,
  reserve,
  type StateBackend,
  stateBackend,
} from "../state/index.js";
import { resolveChecked } from "../validate/validate.js";
import { diffCommits } from "./autoplan.js";
import { type CommentCommand, HELP, parseComment } from "./commands.js";
import { replyMarker, rowFromPlan, touchesData } from "./comment.js";
import { type GitHubRun, holderOf, markApplied, postComment, pullUrl, reply } from "./context.js";
import { checkoutAt } from "./git.js";
import { allowed, applyRule, describeRule, requirementsFor, teamsOf, unmet } from "./rights.js";
import { storedPlan, storePlan } from "./store.js";

const PLAN_KEY = "PLINTH_PLAN_KEY";

interface CommentEvent {
  pr: number;
  body: string;
  commenter: string;
  commenterType: string;
}

/** Refused: said on the pull request, exit code 2 (the run is red, the reason is in the comment). */
async function refuse(
  run: GitHubRun,
  pr: number,
  topic: string,
  title: string,
  why: string,
): Promise<number> {
  run.log(`refused: ${why}`);
  await reply(run, pr, topic, title, why);
  return 2;
}

/**
 * `issue_comment` created on a pull request, in the default branch's workflow (it holds the
 * secrets). Everything that runs the pull request's code comes after the permission check, from a
 * worktree of its head commit; the trusted config (the workspace) decides the environments, who
 * may act, what is required and where state lives.
 */
export async function onComment(run: GitHubRun, e: CommentEvent): Promise<number> {
  if (e.commenterType === "Bot") {
    run.log(`a comment by ${e.commenter} (a bot): not read`);
    return 0;
  }
  const trusted = await loadConfig({
    cwd: run.cwd,
    ...(run.configPath ? { configPath: run.configPath } : {}),
  });
  const envs = Object.keys(trusted.config.environments).filter((env) => !run.only || run.only.includes(env));
  const cmd = parseComment(e.body, envs);
  switch (cmd.kind) {
    case "none":
      run.log("not a plinth command");
      return 0;
    case "help":
      await reply(run, e.pr, "help", "plinth commands", HELP);
      return 0;
    case "invalid":
      return refuse(run, e.pr, "invalid", "plinth: not a command it can read", cmd.reply);
  }
  const pull = await run.gh.pull(e.pr);
  const envsOfCmd = cmd.kind === "plan" ? cmd.envs : [cmd.env];
  const topic = `${cmd.kind} ${envsOfCmd.join(" ")}`.trim();
  const title = `plinth: /${topic}`;
  // A closed pull request may still give back what it holds (its clean-up job failed, say).
  if (pull.state === "closed" && cmd.kind !== "unlock")
    return refuse(run, e.pr, topic, title, "This pull request is closed: nothing was run.");
  if (pull.fromFork && cmd.kind !== "unlock") {
    return refuse(
      run,
      e.pr,
      topic,
      title,
      "This pull request comes from a fork: its code never runs with this repository's credentials, so it is not planned live or applied. Nothing was run.",
    );
  }
  // Who asked, before anything of the pull request runs: the collaborator permission API.
  const denied = await permissionDenied(
    run,
    trusted,
    e.commenter,
    envsOfCmd.length ? envsOfCmd : envs,
    cmd.kind,
  );
  if (denied) return refuse(run, e.pr, topic, title, `${denied} Nothing was run.`);
  const state = stateBackend(trusted.config, { configDir: dirname(trusted.file), env: { ...run.env } });
  const ctx = { run, trusted, state, pull, commenter: e.commenter, topic, title };
  try {
    return await runCommand(ctx, cmd, envs);
  } catch (err) {
    // The user's problem (a config that does not load, no plan key, a refused plan): said on the
    // pull request as well as in the log, never only in a job nobody opens.
    if (!(err instanceof UserError)) throw err;
    return refuse(run, e.pr, topic, title, `\`\`\`\n${err.message}\n\`\`\`\n\nNothing was applied.`);
  }
}

async function runCommand(
  ctx: Ctx,
  cmd: Extract<CommentCommand, { kind: "plan" | "apply" | "unlock" }>,
  envs: readonly string[],
): Promise<number> {
  switch (cmd.kind) {
    case "plan": {
      const targets = cmd.envs.length ? cmd.envs : await changedEnvs(ctx.run, ctx.pull, envs);
      if (targets.length === 0) {
        await reply(
          ctx.run,
          ctx.pull.number,
          ctx.topic,
          ctx.title,
          "This pull request changes no environment: nothing to plan. Name one: `/plan <env>`.",
        );
        return 0;
      }
      return planAndPost(ctx, targets, "");
    }
    case "apply":
      return applyStored(ctx, cmd.env, cmd.deleteData);
    case "unlock":
      return unlock(ctx, cmd.env);
  }
}

interface Ctx {
  run: GitHubRun;
  trusted: LoadedConfig;
  state: StateBackend;
  pull: PullFacts;
  commenter: string;
  topic: string;
  title: string;
}

async function permissionDenied(
  run: GitHubRun,
  trusted: LoadedConfig,
  login: string,
  envs: readonly string[],
  verb: string,
): Promise<string | undefined> {
  const role = await run.gh.role(login);
  const settings = trusted.config.github;
  for (const env of envs) {
    const rule = applyRule(settings, env);
    const teams = new Set<string>();
    for (const t of teamsOf(rule, run.gh.ref.owner)) {
      const [org = "", slug = ""] = t.split("/");
      if (await run.gh.inTeam(org, slug, login)) teams.add(t);
    }
    if (!allowed(rule, { login, role, teams }, run.gh.ref.owner)) {
      return `@${login} may not /${verb} ${env}: that needs ${describeRule(rule)} (and write access to the repository); @${login} has ${role} access.`;
    }
  }
  return undefined;
}

async function changedEnvs(run: GitHubRun, pull: PullFacts, known: readonly string[]): Promise<string[]> {
  const diffs = await diffCommits(run, pull.baseSha, { sha: pull.headSha, pr: pull.number });
  return diffs.filter((d) => d.status !== "same" && known.includes(d.env)).map((d) => d.env);
}

/**
 * The pull request's config must keep state where the default branch's keeps it: locks, plans,
 * reservations and the record of what ran all live there, and a pull request that moved them
 * could apply beside a reservation it cannot see. Such a change is applied after merge.
 */
async function assertSameState(ctx: Ctx, headCwd: string): Promise<LoadedConfig> {
  const head = await loadConfig({
    cwd: headCwd,
    ...(ctx.run.configPath ? { configPath: ctx.run.configPath } : {}),
  });
  if (JSON.stringify(head.config.state ?? null) !== JSON.stringify(ctx.trusted.config.state ?? null)) {
    throw new UserError({
      severity: "error",
      path: `${head.displayFile}: state`,
      message:
        "this pull request changes where state lives; it is not planned live or applied from a pull request",
      fix: "merge the state change on its own first (and move the state with it), then plan this again",
    });
  }
  return head;
}

/**
 * The environment's Vault, as `plinth plan`/`apply` reach it, with the credentials the job was
 * given (VAULT_ADDR, VAULT_TOKEN, PLINTH_VAULT_PASSPHRASE…); nothing when the head's config gives
 * the environment no Vault. The unseal file is looked for in the workspace (the default branch's
 * checkout, where the workflow writes it from its secret, as it writes the kubeconfigs), never in
 * the pull request's worktree.
 */
function vaultOf(ctx: Ctx, head: LoadedConfig, env: string): { vault?: VaultAccess } {
  const vault = environmentVaultAccess(resolveChecked(head, env), {
    variables: ctx.run.env,
    configDir: dirname(ctx.trusted.file),
  });
  return vault ? { vault } : {};
}

/**
 * Cloudflare, when the job has its token: the DNS records are planned beside the cluster and
 * applied with it, as the CLI does. The SDK loads only then.
 */
async function dnsOf(run: GitHubRun): Promise<{ dns?: CloudflareDnsProvider }> {
  const token = run.env.CLOUDFLARE_API_TOKEN;
  if (!token) return {};
  const { cloudflareDnsProvider } = await import("../providers/cloudflare/provider.js");
  const baseURL = run.env.CLOUDFLARE_BASE_URL;
  return { dns: cloudflareDnsProvider({ apiToken: token, ...(baseURL ? { baseURL } : {}) }) };
}

function planKey(run: GitHubRun): string {
  const key = run.env[PLAN_KEY];
  if (!key || key.length < 32) {
    throw new UserError({
      severity: "error",
      path: PLAN_KEY,
      message: key
        ? "is shorter than 32 characters"
        : "is not set: plans stored for a pull request are signed with it",
      fix: "set it as a repository secret (openssl rand -hex 32) and pass it to the comment workflow's job",
    });
  }
  return key;
}

/** Live plans of the head commit, signed and stored; posted as one reply. */
async function planAndPost(ctx: Ctx, envs: readonly string[], before: string): Promise<number> {
  const { run, pull } = ctx;
  const key = planKey(run);
  const head = await checkoutAt(run.cwd, pull.headSha, pull.number);
  const rows = [];
  try {
    const headConfig = await assertSameState(ctx, head.cwd);
    for (const env of envs) {
      const plan = signPlan(
        await planEnvironment({
          env,
          cwd: head.cwd,
          ...(run.configPath ? { configPath: run.configPath } : {}),
          variables: run.env,
          filesDir: dirname(ctx.trusted.file),
          holder: `${holderOf(run, pull.number)} @${ctx.commenter}`,
          ...vaultOf(ctx, headConfig, env),
          ...(await dnsOf(run)),
        }),
        key,
      );
      await storePlan(ctx.state, pull.number, pull.headSha, plan);
      rows.push(rowFromPlan(plan, `live plan ${plan.hash.slice(0, 12)}`));
      const pending = plan.summary.create + plan.summary.update + plan.summary.adopt + plan.summary.delete;
      await run.gh.setCheck({
        name: `plinth/${env}`,
        headSha: pull.headSha,
        status: pending ? "queued" : "completed",
        ...(pending ? {} : { conclusion: "success" as const }),
        title: pending ? `planned: ${pending} changes, not applied` : "no changes",
        summary: `Plan sha256:${plan.hash} for ${pull.headSha}. Comment /apply ${env} to apply it.`,
      });
      run.log(`planned ${env}: ${pending} changes (stored for ${pull.headSha.slice(0, 7)})`);
    }
  } finally {
    await head.dispose();
  }
  await postComment(
    run,
    pull.number,
    {
      marker: replyMarker(ctx.topic),
      title: `plinth: live plan of ${pull.headSha.slice(0, 7)}`,
      rows,
      notes: [
        ...(before ? [before] : []),
        `Stored for head ${pull.headSha.slice(0, 7)}. Apply exactly this with \`/apply <env>\` (one environment per comment); a new push makes it stale.`,
      ],
    },
    { topic: ctx.topic },
  );
  return before ? 2 : 0;
}

async function applyStored(ctx: Ctx, env: string, deleteData: boolean): Promise<number> {
  const { run, pull, state } = ctx;
  const resolvedKind = resolveChecked(ctx.trusted, env).kind;
  const requirements = requirementsFor(ctx.trusted.config.github, { name: env, kind: resolvedKind });
  if (requirements.length) {
    const missing = unmet(requirements, {
      author: pull.author,
      headSha: pull.headSha,
      reviews: await run.gh.reviews(pull.number),
      mergeable: pull.mergeable,
      behindBy: requirements.includes("up-to-date") ? await run.gh.behindBy(pull.baseRef, pull.headSha) : 0,
      checks: requirements.includes("mergeable") ? await run.gh.checks(pull.headSha) : [],
    });
    if (missing.length) {
      return refuse(
        run,
        pull.number,
        ctx.topic,
        ctx.title,
        `${env} requires, before it is applied:\n${missing.map((m) => `- ${m}`).join("\n")}\n\nNothing was run.`,
      );
    }
  }
  const holder = holderOf(run, pull.number);
  const held = await readReservation(state, env);
  if (held && held.holder !== holder) {
    return refuse(
      run,
      pull.number,
      ctx.topic,
      ctx.title,
      `${env} is reserved by ${held.url} (applied by @${held.by} at ${held.at}) until it merges or closes, or someone comments \`/unlock ${env}\` there. Nothing was run.`,
    );
  }
  const key = planKey(run);
  let plan: Awaited<ReturnType<typeof storedPlan>>;
  try {
    plan = await storedPlan(state, { pr: pull.number, sha: pull.headSha, env, key });
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return planAndPost(
      ctx,
      [env],
      `The plan stored for ${pull.headSha.slice(0, 7)} was refused: ${e.message}. A fresh plan follows; review it and comment \`/apply ${env}\` again.`,
    );
  }
  if (!plan) {
    return planAndPost(
      ctx,
      [env],
      `There is no plan of ${env} for the head commit ${pull.headSha.slice(0, 7)} (the branch moved since the last \`/plan\`, or none was made). Nothing was applied; a fresh plan follows: review it and comment \`/apply ${env}\` again.`,
    );
  }
  if (touchesData(plan) && !deleteData) {
    return refuse(
      run,
      pull.number,
      ctx.topic,
      ctx.title,
      `This plan deletes or releases data in ${env} (a database leaving the config). Say so explicitly: \`/apply ${env} --delete-data\`. Nothing was run.`,
    );
  }
  const mine = await reserve(state, {
    env,
    holder,
    url: pullUrl(run, pull.number),
    by: ctx.commenter,
    at: new Date().toISOString(),
  });
  if (mine.holder !== holder) {
    return refuse(
      run,
      pull.number,
      ctx.topic,
      ctx.title,
      `${env} was just reserved by ${mine.url}. Nothing was run.`,
    );
  }
  const head = await checkoutAt(run.cwd, pull.headSha, pull.number);
  let changes: number;
  try {
    const headConfig = await assertSameState(ctx, head.cwd);
    ({ changes } = await applyPlan(plan, {
      cwd: head.cwd,
      ...(run.configPath ? { configPath: run.configPath } : {}),
      variables: run.env,
      filesDir: dirname(ctx.trusted.file),
      holder: `${holder} @${ctx.commenter}${run.env.GITHUB_RUN_ID ? ` run ${run.env.GITHUB_RUN_ID}` : ""}`,
      ...vaultOf(ctx, headConfig, env),
      ...(await dnsOf(run)),
      ...run.apply,
    }));
  } catch (e) {
    if (!(e instanceof UserError)) {
      await run.gh.setCheck({
        name: `plinth/${env}`,
        headSha: pull.headSha,
        status: "completed",
        conclusion: "failure",
        title: "apply failed",
        summary: "See the workflow run's log.",
      });
      throw e;
    }
    await head.dispose();
    return planAndPost(
      ctx,
      [env],
      `The stored plan was refused at apply, nothing was changed:\n\n\`\`\`\n${e.message}\n\`\`\`\n\nA fresh plan follows; review it and comment \`/apply ${env}\` again.`,
    );
  }
  await head.dispose();
  await run.gh.setCheck({
    name: `plinth/${env}`,
    headSha: pull.headSha,
    status: "completed",
    conclusion: "success",
    title: `applied: ${changes} changes`,
    summary: `Plan sha256:${plan.hash} applied to ${env} by @${ctx.commenter}.`,
  });
  run.log(`applied ${env}: ${changes} changes`);
  await markApplied(
    run,
    pull.number,
    env,
    `plan \`${plan.hash.slice(0, 12)}\` of ${pull.headSha.slice(0, 7)} applied by @${ctx.commenter} at ${new Date().toISOString()} (${changes} changes)`,
  );
  await postComment(
    run,
    pull.number,
    {
      marker: replyMarker(ctx.topic),
      title: `plinth: applied to ${env} at ${pull.headSha.slice(0, 7)}`,
      rows: [rowFromPlan(plan, `applied (plan ${plan.hash.slice(0, 12)})`)],
      notes: [
        `@${ctx.commenter} applied the plan stored for ${pull.headSha.slice(0, 7)}: ${changes} changes. ${env} is reserved for this pull request until it merges or closes (or \`/unlock ${env}\`).`,
      ],
    },
    { topic: ctx.topic },
  );
  return 0;
}

async function unlock(ctx: Ctx, env: string): Promise<number> {
  const { run, pull, state } = ctx;
  const held = await readReservation(state, env);
  if (!held) {
    await reply(run, pull.number, ctx.topic, ctx.title, `${env} is not reserved.`);
    return 0;
  }
  if (held.holder !== holderOf(run, pull.number)) {
    return refuse(
      run,
      pull.number,
      ctx.topic,
      ctx.title,
      `${env} is reserved by ${held.url}, not this pull request: comment \`/unlock ${env}\` there.`,
    );
  }
  await releaseReservation(state, env, held.holder);
  await reply(
    run,
    pull.number,
    ctx.topic,
    ctx.title,
    `@${ctx.commenter} released ${env} (reserved by @${held.by} at ${held.at}).`,
  );
  return 0;
}
