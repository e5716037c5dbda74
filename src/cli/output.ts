import { type Diagnostic, formatDiagnostic } from "../diagnostics/diagnostic.js";
import type { ChangeAction } from "../providers/types.js";

export function renderDiagnostics(diagnostics: readonly Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const lines = diagnostics.map(
    (d) =>
      `${d.severity === "error" ? "error" : "warning"}: ${formatDiagnostic({ ...d, severity: "error" })}`,
  );
  if (errors > 1) lines.push(`${errors} errors`);
  return `${lines.join("\n")}\n`;
}

/** Left-aligned columns for terminal tables. */
export function table(rows: string[][]): string {
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/**
 * How every plan line marks its action, the same for the cluster, Vault, DNS and k3s: `+` create,
 * `~` update, `=` adopt (exists as desired, not yet owned: taken over unchanged), `-` delete, and
 * a blank for no change.
 */
const ACTION_SYMBOL: Readonly<Record<ChangeAction, string>> = {
  create: "+",
  update: "~",
  adopt: "=",
  delete: "-",
  "no-op": " ",
};

export function symbolOf(action: ChangeAction): string {
  return ACTION_SYMBOL[action];
}
