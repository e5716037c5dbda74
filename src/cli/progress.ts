import type { ComponentStatus, EngineEvent } from "../apply/events.js";

/**
 * Renders engine events: a live table on a terminal (a row per component: status, what it waits
 * on, elapsed), plain lines otherwise, or one JSON object per line with --json.
 */
export function progressSink(
  mode: "tty" | "plain" | "json",
  write: (t: string) => void,
): (e: EngineEvent) => void {
  if (mode === "json") return (e) => write(`${JSON.stringify(e)}\n`);
  if (mode === "plain") {
    return (e) => {
      if (e.type === "component" && e.status !== "pending") {
        write(
          `${e.component.padEnd(18)} ${e.status}${e.detail ? `: ${e.detail}` : ""} (${(e.elapsedMs / 1000).toFixed(1)}s)\n`,
        );
      } else if (e.type === "change") {
        write(
          `${e.component.padEnd(18)} ${e.action} ${e.kind} ${e.namespace ? `${e.namespace}/` : ""}${e.name}\n`,
        );
      } else if (e.type === "done") {
        write(
          `${e.outcome} in ${(e.elapsedMs / 1000).toFixed(1)}s, ${e.changes} changes${e.error ? `: ${e.error}` : ""}\n`,
        );
      }
    };
  }
  const rows = new Map<string, { status: ComponentStatus; detail: string; elapsed: number }>();
  let drawn = 0;
  const SYMBOL: Record<ComponentStatus, string> = {
    pending: "·",
    applying: "→",
    waiting: "…",
    ready: "✓",
    failed: "✗",
    skipped: "-",
  };
  const draw = () => {
    const lines = [...rows].map(
      ([id, r]) =>
        `${SYMBOL[r.status]} ${id.padEnd(18)} ${r.status.padEnd(8)} ${(r.elapsed / 1000).toFixed(1).padStart(6)}s  ${r.detail.slice(0, 80)}`,
    );
    write(`${drawn ? `\x1b[${drawn}A` : ""}${lines.map((l) => `\x1b[2K${l}`).join("\n")}\n`);
    drawn = lines.length;
  };
  return (e) => {
    if (e.type === "component") {
      rows.set(e.component, { status: e.status, detail: e.detail ?? "", elapsed: e.elapsedMs });
      draw();
    } else if (e.type === "done") {
      write(`${e.outcome} in ${(e.elapsedMs / 1000).toFixed(1)}s, ${e.changes} changes\n`);
    }
  };
}
