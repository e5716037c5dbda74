import { hasErrors } from "../../diagnostics/diagnostic.js";
import { sharedConflicts } from "../../plan/shared.js";
import { validateAll } from "../../validate/validate.js";
import { defineCommand } from "../command.js";
import { inFile, loadFromArgs } from "../load.js";
import { renderDiagnostics } from "../output.js";

export const validate = defineCommand({
  name: "validate",
  summary: "Check the config and every environment's resolved model (exit 0 or 2)",
  usage: "plinth validate [--config PATH] [--json]",
  options: { json: { type: "boolean" } },
  positionals: [],
  async handler(args, ctx) {
    const loaded = await loadFromArgs(args, ctx);
    const { environments, diagnostics } = validateAll(loaded.config);
    const located = inFile([...diagnostics, ...sharedConflicts(loaded.config)], loaded.displayFile);
    if (args.values.json) {
      ctx.stdout(
        `${JSON.stringify({ valid: !hasErrors(located), environments: environments.map((e) => e.name), diagnostics: located }, null, 2)}\n`,
      );
    } else if (hasErrors(located)) {
      ctx.stderr(renderDiagnostics(located));
    } else {
      for (const d of located) ctx.stderr(renderDiagnostics([d]));
      ctx.stdout(`${loaded.displayFile}: valid (${environments.map((e) => e.name).join(", ")})\n`);
    }
    return hasErrors(located) ? 2 : 0;
  },
});
