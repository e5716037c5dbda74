/**
 * plinth as a GitHub Action (action.yml, `runs.using: node24`): the action's inputs become one
 * plinth command line, run in this process by the same `run` as the CLI. `plinth github` handles
 * the event the workflow received; `command:` runs any other command (the ci workflow's apply).
 * @actions/core masks the secrets it is handed and writes the outputs; it is loaded only here,
 * in the action's own bundle entry, never by the CLI.
 */
import { resolve } from "node:path";
import * as core from "@actions/core";
import { loadConfig } from "../config/load.js";
import {
  AWS_CREDENTIAL_VARIABLES,
  PLINTH_SECRET_VARIABLES,
  referencedVariables,
} from "../config/secret-env.js";
import { run } from "./main.js";

export interface ActionInputs {
  config: string;
  command: string;
  environments: string;
  /** GITHUB_EVENT_NAME. */
  event: string;
}

const DRIFT_EVENTS = ["schedule", "workflow_dispatch"];

/**
 * The command line for these inputs. `command:` is split on white space (no shell quoting: a
 * quote would silently become part of an argument, so it is refused instead).
 */
export function actionArgv(inputs: ActionInputs): string[] | { refused: string } {
  const config = ["--config", inputs.config || "plinth.config.ts"];
  const command = inputs.command.trim();
  if (command) {
    if (/["'`\\]/.test(command)) {
      return {
        refused: `the command input ${JSON.stringify(command)} has quotes; give plain words such as: apply ci --yes`,
      };
    }
    return [...command.split(/\s+/), ...config];
  }
  const envs = inputs.environments.trim().split(/\s+/).filter(Boolean);
  // The drift workflow's events: plan every environment, keep the plinth-drift issues in line.
  const handler = DRIFT_EVENTS.includes(inputs.event) ? "drift" : "github";
  return [handler, ...config, ...envs.flatMap((e) => ["--env", e])];
}

/** Every line of a secret (GitHub masks a multi-line value only line by line). */
function mask(value: string | undefined): void {
  for (const line of (value ?? "").split(/\r?\n/)) if (line.trim().length >= 4) core.setSecret(line);
}

/**
 * The variables the config's `secret.env(...)` names (SSH keys: several lines each), masked too.
 * A config that does not load is left to the run, which reports it.
 */
async function maskConfigVariables(cwd: string, configPath: string): Promise<void> {
  try {
    const { config } = await loadConfig({ cwd, ...(configPath ? { configPath } : {}) });
    for (const name of referencedVariables(config)) mask(process.env[name]);
  } catch {
    // reported by the run itself
  }
}

export async function runAction(): Promise<number> {
  const token = core.getInput("github-token");
  const planKey = core.getInput("plan-key");
  mask(token);
  mask(planKey);
  for (const name of [...PLINTH_SECRET_VARIABLES, ...AWS_CREDENTIAL_VARIABLES]) mask(process.env[name]);
  const argv = actionArgv({
    config: core.getInput("config"),
    command: core.getInput("command"),
    environments: core.getInput("environments"),
    event: process.env.GITHUB_EVENT_NAME ?? "",
  });
  if (!Array.isArray(argv)) {
    core.setOutput("exit-code", "2");
    core.setFailed(argv.refused);
    return 2;
  }
  const cwd = resolve(core.getInput("working-directory") || ".");
  await maskConfigVariables(cwd, core.getInput("config"));
  const env: Record<string, string | undefined> = { ...process.env };
  if (token) env.GITHUB_TOKEN = token;
  // An empty input is no key at all: apply then says the signature is unchecked, as on a laptop.
  if (planKey) env.PLINTH_PLAN_KEY = planKey;
  const code = await run(argv, {
    cwd,
    env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  });
  core.setOutput("exit-code", String(code));
  if (code !== 0)
    core.setFailed(
      `plinth ${argv[0]} exited with ${code}${code === 2 ? " (a problem with the input, above)" : ""}`,
    );
  return code;
}
