import { type Diagnostic, formatDiagnostic, UserError } from "../diagnostics/diagnostic.js";

/**
 * The error to throw when the clean-up after a failed run (saving its state, releasing its lock)
 * fails too: the run's own error, with the clean-up's problem reported after it. Throwing the
 * clean-up's error instead would hide why the run failed. A user error stays one (exit 2), with a
 * second diagnostic; a bug stays a bug (exit 1), with the problem appended to its message.
 */
export function withLaterFailure(primary: unknown, later: unknown, what: string): unknown {
  const after: Diagnostic[] =
    later instanceof UserError
      ? later.diagnostics.map((d) => ({ ...d, message: `${what} failed too: ${d.message}` }))
      : [
          {
            severity: "error",
            message: `${what} failed too: ${later instanceof Error ? later.message : String(later)}`,
          },
        ];
  if (primary instanceof UserError) return new UserError([...primary.diagnostics, ...after]);
  const text = after.map(formatDiagnostic).join("\n");
  if (primary instanceof Error) {
    primary.message = `${primary.message}\n${text}`;
    if (primary.stack) primary.stack = `${primary.stack}\n${text}`;
    return primary;
  }
  return new Error(`${String(primary)}\n${text}`);
}
