import { type Stats, statSync } from "node:fs";
import { dirname, resolve as resolvePath } from "node:path";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import { buildGraph } from "../../graph/graph.js";
import { desiredComponents } from "../../plan/desired.js";
import { renderFiles, writeRender } from "../../render/render.js";
import { defineCommand } from "../command.js";
import { loadFromArgs, requireEnvArg, resolveChecked } from "../load.js";

export const render = defineCommand({
  name: "render",
  summary: "Write the environment's Kubernetes objects as YAML, one file per component per phase",
  usage: "plinth render <env> --out DIR [--config PATH]",
  options: { out: { type: "string", short: "o" } },
  positionals: ["env"],
  async handler(args, ctx) {
    const env = requireEnvArg(args, "render");
    const out = args.values.out;
    if (typeof out !== "string" || out === "") {
      throw new UserError({
        severity: "error",
        path: "--out",
        message: "is required",
        fix: `run plinth render ${env} --out DIR`,
      });
    }
    checkOutFolder(resolvePath(ctx.cwd, out), out);
    const loaded = await loadFromArgs(args, ctx);
    const resolved = resolveChecked(loaded, env);
    const graph = buildGraph(resolved);
    const files = renderFiles(env, desiredComponents(resolved, graph));
    await writeRender(resolvePath(ctx.cwd, out), out, files);
    ctx.stdout(`rendered ${files.length} files for ${env} into ${out}\n`);
    return 0;
  },
});

/**
 * `--out` must be a folder or not exist yet, and what exists on its way up must be folders: found
 * before the config is even loaded, so a mistyped path stops with its name rather than ENOTDIR.
 */
function checkOutFolder(dir: string, shown: string): void {
  for (let at = dir; ; at = dirname(at)) {
    const stat = statOrMissing(at);
    if (stat && !stat.isDirectory()) {
      throw new UserError(
        error(at === dir ? `${shown} is a file, not a folder` : `${shown} is inside ${at}, which is a file`, {
          path: "--out",
          fix: "choose a new folder, or an earlier render's folder",
        }),
      );
    }
    if (stat || dirname(at) === at) return;
  }
}

/** Missing, or below a file (ENOTDIR), is not there yet: the walk goes on up to what is. */
function statOrMissing(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw e;
  }
}
