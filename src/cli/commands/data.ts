import { readFileSync } from "node:fs";
import { dirname, resolve as resolvePath } from "node:path";
import { planClone } from "../../apply/clone.js";
import { formatRestorePlan } from "../../apply/restore.js";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import { runningFromState } from "../../state/running.js";
import { defineCommand } from "../command.js";
import { confirm } from "../confirm.js";
import { duration as durationFlag } from "../flags.js";
import { loadFromArgs, resolveChecked } from "../load.js";
import { withLock } from "../run-plan.js";
import { openSession } from "../session.js";
import { requireConfirm, runRestorePlan, SWITCH_OPTIONS, tokenOf } from "./restore.js";

const USAGE = "plinth data clone <source-env> <target-env> [--confirm <target-env>] [--yes] [--timeout 30m]";

/** The target's scrub statements: inline ones first, then its file's (relative to the config). */
export function scrubStatements(target: ResolvedEnvironment, configFile: string): string[] {
  const clone = target.clone;
  const out = [...(clone?.scrub ?? [])];
  if (clone?.scrubFile) {
    const file = resolvePath(dirname(configFile), clone.scrubFile);
    try {
      out.push(readFileSync(file, "utf8"));
    } catch (e) {
      throw new UserError(
        error(`cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
          path: `environments.${target.name}.backups.clone.scrubFile (${file})`,
          fix: "create the file beside the config, or correct the path (relative to the config file)",
        }),
      );
    }
  }
  return out;
}

export const data = defineCommand({
  name: "data",
  summary: "data clone <source> <target>: the source's latest backup into the target's database, scrubbed",
  usage: USAGE,
  options: { ...SWITCH_OPTIONS, confirm: { type: "string" } },
  positionals: ["action", "source", "target"],
  async handler(args, ctx) {
    const [action, sourceName, targetName] = args.positionals;
    if (action !== "clone") {
      throw new UserError(
        error(action ? `unknown action "${action}"` : "needs an action", {
          path: "plinth data",
          fix: `usage: ${USAGE}`,
        }),
      );
    }
    if (!sourceName || !targetName) {
      throw new UserError(
        error("needs a source and a target environment", {
          path: "plinth data clone",
          fix: `usage: ${USAGE}`,
        }),
      );
    }
    if (sourceName === targetName) {
      throw new UserError(
        error(`the source and the target are both ${sourceName}`, {
          path: "plinth data clone",
          fix: `name another environment as the target; to restore ${sourceName} from its own backups use plinth restore ${sourceName} --from ${sourceName}`,
        }),
      );
    }
    durationFlag(args, "timeout");
    const loaded = await loadFromArgs(args, ctx);
    const target = resolveChecked(loaded, targetName);
    const source = resolveChecked(loaded, sourceName);
    // Refusals first: nothing read from state, the bucket or the cluster before them.
    requireConfirm(target, args.values.confirm, "a clone");
    const scrub = scrubStatements(target, loaded.file);
    if (!source.backups) {
      throw new UserError(
        error(`${sourceName} has no backups to clone from`, {
          path: `environments.${sourceName}.backups`,
          fix: "clone from an environment that backs up its databases (README: Backups and restores)",
        }),
      );
    }
    // Checked here with the catalog's names; planned again below with each one's restored generation.
    planClone({
      source,
      target,
      scrub,
      credentials: { accessKeyId: "", secretAccessKey: "" },
      at: new Date(),
    });
    const credentials = tokenOf(source, ctx.env);
    const session = await openSession(args, ctx, targetName);
    const running = await runningFromState(session.state, source);
    return withLock(session, `data clone ${sourceName} ${targetName}`, async () => {
      const step = planClone({ source: running, target: session.env, scrub, credentials, at: new Date() });
      ctx.stdout(formatRestorePlan(session.env, [step], "Clone"));
      if (scrub.length === 0) {
        ctx.stdout(
          `  no scrub SQL: environments.${targetName}.backups.clone is empty, so ${sourceName}'s data arrives as it is\n`,
        );
      }
      if (
        !(await confirm(
          ctx,
          args,
          `Clone ${sourceName} into ${targetName}?`,
          "re-run with --yes to clone without asking",
        ))
      ) {
        ctx.stderr("clone cancelled; nothing changed\n");
        return 0;
      }
      return runRestorePlan(session, [step], args, ctx, `data clone from ${sourceName}`);
    });
  },
});
