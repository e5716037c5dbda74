import { error, UserError } from "../diagnostics/diagnostic.js";
import type { CommandContext, ParsedArgs } from "./command.js";

/**
 * The one question every changing command asks: yes with `--yes`, else a prompt on a terminal;
 * with neither, a UserError naming `--yes` and `fix` (how to run it unattended).
 */
export async function confirm(
  ctx: CommandContext,
  args: ParsedArgs,
  question: string,
  fix = "re-run with --yes to apply without asking",
): Promise<boolean> {
  if (args.values.yes) return true;
  if (!ctx.tty || !ctx.prompt) {
    throw new UserError(error("needs confirmation, and there is no terminal to ask", { path: "--yes", fix }));
  }
  return (await ctx.prompt(`${question} [y/N] `)).trim().toLowerCase().startsWith("y");
}
