import { type Diagnostic, formatDiagnostic } from "../diagnostics/diagnostic.js";

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
