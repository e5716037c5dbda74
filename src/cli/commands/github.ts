import { runGitHub } from "../../github/index.js";
import { defineCommand } from "../command.js";
import { duration } from "../flags.js";

export const github = defineCommand({
  name: "github",
  summary:
    "Act on the GitHub event of this workflow run: plan comments, /plan, /apply, /unlock, clean-up on close",
  usage:
    "plinth github [--env ENV]... [--no-wait] [--no-health-checks] [--timeout 10m] [--config PATH] (in a workflow: GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_TOKEN)",
  options: {
    env: { type: "string", multiple: true },
    "no-wait": { type: "boolean" },
    "no-health-checks": { type: "boolean" },
    timeout: { type: "string" },
  },
  positionals: [],
  async handler(args, ctx) {
    const maxWaitMs = duration(args, "timeout");
    // The AWS SDK warns on every run about Node versions it will drop in 2027; not the user's concern.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    return runGitHub({
      env: ctx.env,
      cwd: ctx.cwd,
      ...(typeof args.values.config === "string" ? { configPath: args.values.config } : {}),
      ...(args.values.env?.length ? { envs: args.values.env } : {}),
      log: (line) => ctx.stdout(`${line}\n`),
      apply: {
        ...(args.values["no-wait"] ? { noWait: true } : {}),
        ...(args.values["no-health-checks"] ? { skipHealthChecks: true } : {}),
        ...(maxWaitMs ? { maxWaitMs } : {}),
      },
    });
  },
});
