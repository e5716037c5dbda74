/**
 * Diagnostics are values: every check collects them, the CLI renders them all at once.
 * A user error names where it is (file, path in the config or object) and the fix.
 */
export interface Diagnostic {
  severity: "error" | "warning";
  /** Config file (or other input) the problem is in. */
  file?: string;
  /** Dotted path in the config, e.g. `environments.prod.domainPrefix`, or an object identity. */
  path?: string;
  /** What is wrong. */
  message: string;
  /** How to fix it. */
  fix?: string;
}

/** An expected, actionable failure: rendered without a stack trace, exit code 2. */
export class UserError extends Error {
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: Diagnostic | readonly Diagnostic[]) {
    const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics as Diagnostic];
    super(list.map(formatDiagnostic).join("\n"));
    this.name = "UserError";
    this.diagnostics = list;
  }
}

export function error(
  message: string,
  where: { file?: string; path?: string; fix?: string } = {},
): Diagnostic {
  return { severity: "error", message, ...where };
}

export function warning(
  message: string,
  where: { file?: string; path?: string; fix?: string } = {},
): Diagnostic {
  return { severity: "warning", message, ...where };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** `file: path.to.field: what is wrong (fix)` */
export function formatDiagnostic(d: Diagnostic): string {
  const where = [d.file, d.path].filter(Boolean).join(": ");
  const fix = d.fix ? ` (${d.fix})` : "";
  const prefix = d.severity === "warning" ? "warning: " : "";
  return `${prefix}${where ? `${where}: ` : ""}${d.message}${fix}`;
}

/** Throws once with every error collected, so a user fixes them all in one round. */
export function throwIfErrors(diagnostics: readonly Diagnostic[]): void {
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new UserError(errors);
}
