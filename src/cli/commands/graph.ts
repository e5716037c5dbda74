import { UserError } from "../../diagnostics/diagnostic.js";
import { buildGraph, toMermaid } from "../../graph/graph.js";
import { defineCommand } from "../command.js";
import { loadFromArgs, requireEnvArg, resolveChecked } from "../load.js";

export const graph = defineCommand({
  name: "graph",
  summary: "Show the phase/dependency graph (mermaid or json)",
  usage: "plinth graph <env> [--format mermaid|json] [--config PATH]",
  options: { format: { type: "string", short: "f", default: "mermaid" } },
  positionals: ["env"],
  async handler(args, ctx) {
    const env = requireEnvArg(args, "graph");
    const format = args.values.format;
    if (format !== "mermaid" && format !== "json") {
      throw new UserError({
        severity: "error",
        path: "--format",
        message: `is ${JSON.stringify(format)}`,
        fix: "use mermaid or json",
      });
    }
    const g = buildGraph(resolveChecked(await loadFromArgs(args, ctx), env));
    ctx.stdout(
      format === "json" ? `${JSON.stringify({ env: g.env, phases: g.phases }, null, 2)}\n` : toMermaid(g),
    );
    return 0;
  },
});
