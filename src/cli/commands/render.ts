import { resolve as resolvePath } from "node:path";
import { UserError } from "../../diagnostics/diagnostic.js";
import { buildGraph } from "../../graph/graph.js";
import { desiredComponents } from "../../plan/desired.js";
import { renderFiles, writeRender } from "../../render/render.js";
import type { Command } from "../command.js";
import { loadFromArgs, requireEnvArg, resolveChecked } from "../load.js";

export const render: Command = {
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
    const loaded = await loadFromArgs(args, ctx);
    const resolved = resolveChecked(loaded, env);
    const graph = buildGraph(resolved);
    const files = renderFiles(env, desiredComponents(resolved, graph));
    await writeRender(resolvePath(ctx.cwd, out), out, files);
    ctx.stdout(`rendered ${files.length} files for ${env} into ${out}\n`);
    return 0;
  },
};
