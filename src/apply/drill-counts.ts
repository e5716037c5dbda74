/**
 * The row-count check of a restore drill: the counting script's output (catalog/drill-checks.ts)
 * read back, and the verdict per table. Pure, so the rule is tested on its own and on the output
 * of the real script against real PostgreSQL.
 *
 * The rule, table by table (database, schema, table), source = the live Cluster counted after the
 * restore became ready, restore = the `-drill` Cluster:
 * - in the source, not in the restore: FAILED (the backup lost it);
 * - empty in the restore, not in the source: FAILED, except an unlogged table (PostgreSQL does
 *   not write unlogged tables to WAL and empties them on recovery: never in any backup);
 * - any other difference: reported as restore minus source, not failed (writes since the backup
 *   or the target time; the source keeps changing while it is counted);
 * - only in the restore: reported (dropped since), not failed;
 * - not readable by the owner on a side: reported as not counted, not failed.
 * Without a source (unreachable: reported), the restore's own counts are reported and only an
 * uncountable restore fails. A restore that could not be counted at all fails.
 */
import { COUNTS_FORMAT } from "../catalog/drill-checks.js";

export interface TableCount {
  database: string;
  schema: string;
  table: string;
  unlogged: boolean;
  /** null: the owner may not read it. */
  rows: number | null;
}

export interface SideCounts {
  tables: TableCount[];
  /** Why the side could not be counted at all (unreachable, refused). */
  error?: string;
  /** Databases listed but not counted, with why. */
  skipped: { database: string; why: string }[];
  /** The side's output ended properly (not cut off by a deadline). */
  complete: boolean;
}

export interface CountOutput {
  source: SideCounts;
  restore: SideCounts;
  /** The script reached its last line. */
  complete: boolean;
}

export type Verdict = "ok" | "FAILED";

export interface TableVerdict {
  /** `database/schema.table` */
  table: string;
  source?: number | null;
  restore?: number | null;
  /** restore minus source, where both were counted */
  difference?: number;
  verdict: Verdict;
  note?: string;
}

export interface CountReport {
  ok: boolean;
  tables: TableVerdict[];
  /** Side-wide findings: an unreachable source, a database not counted, output cut off. */
  notes: string[];
}

const emptySide = (): SideCounts => ({ tables: [], skipped: [], complete: false });

/** Reads the JSON lines of the counting output; other lines (psql's stderr in the log) are skipped. */
export function parseCounts(log: string): CountOutput {
  const out: CountOutput = { source: emptySide(), restore: emptySide(), complete: false };
  let format: string | undefined;
  for (const line of log.split("\n")) {
    const text = line.trim();
    if (!text.startsWith("{")) continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(text) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (typeof o.format === "string") format = o.format;
    if (o.end === true) out.complete = true;
    const side = o.side === "source" ? out.source : o.side === "restore" ? out.restore : undefined;
    if (!side) continue;
    if (o.done === true) side.complete = true;
    else if (typeof o.error === "string") {
      if (typeof o.database === "string") side.skipped.push({ database: o.database, why: o.error });
      else side.error = o.error || "could not connect";
    } else if (typeof o.table === "string" && typeof o.database === "string") {
      side.tables.push({
        database: o.database,
        schema: String(o.schema),
        table: o.table,
        unlogged: o.unlogged === true,
        rows: typeof o.rows === "number" ? o.rows : null,
      });
    }
  }
  if (format !== COUNTS_FORMAT) {
    throw new Error(`the counting output is not ${COUNTS_FORMAT} (${format ?? "no format line"})`);
  }
  return out;
}

const key = (t: TableCount) => `${t.database}/${t.schema}.${t.table}`;

/** The verdict per table and overall, by the rule above. */
export function judgeCounts(c: CountOutput): CountReport {
  const notes: string[] = [];
  let ok = true;
  if (!c.complete) {
    notes.push("the counting output was cut off before its end: not every table was counted");
    ok = false;
  }
  if (c.restore.error) {
    notes.push(`the restore could not be counted: ${c.restore.error}`);
    ok = false;
  }
  for (const s of c.restore.skipped) {
    notes.push(`restore: database ${s.database} ${s.why}`);
    ok = false;
  }
  const haveSource = !c.source.error && c.source.complete;
  if (c.source.error) notes.push(`the source was not reachable, restore counted alone: ${c.source.error}`);
  for (const s of c.source.skipped) notes.push(`source: database ${s.database} ${s.why}`);

  const restored = new Map(c.restore.tables.map((t) => [key(t), t]));
  const tables: TableVerdict[] = [];
  if (haveSource) {
    for (const s of c.source.tables) {
      const r = restored.get(key(s));
      restored.delete(key(s));
      const row: TableVerdict = { table: key(s), source: s.rows, verdict: "ok" };
      if (!r) {
        row.verdict = "FAILED";
        row.note = "missing from the restore";
      } else {
        row.restore = r.rows;
        if (s.rows === null || r.rows === null) row.note = "not readable by the owner: not counted";
        else {
          row.difference = r.rows - s.rows;
          if (r.rows === 0 && s.rows > 0) {
            if (s.unlogged) row.note = "unlogged: never in a backup (PostgreSQL empties it on recovery)";
            else {
              row.verdict = "FAILED";
              row.note = "empty in the restore";
            }
          } else if (row.difference !== 0) row.note = "written since the backup or the target time";
        }
      }
      if (row.verdict === "FAILED") ok = false;
      tables.push(row);
    }
  }
  for (const r of restored.values()) {
    tables.push({
      table: key(r),
      restore: r.rows,
      verdict: "ok",
      ...(haveSource
        ? { note: "only in the restore: dropped from the source since" }
        : r.rows === null
          ? { note: "not readable by the owner: not counted" }
          : {}),
    });
  }
  tables.sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
  return { ok, tables, notes };
}

/** Short lines for the drill's report: the failed tables, the side notes, and the totals. */
export function summarizeCounts(r: CountReport): string[] {
  const counted = r.tables.filter((t) => typeof t.restore === "number");
  const rows = counted.reduce((n, t) => n + (t.restore as number), 0);
  const differing = r.tables.filter((t) => t.difference !== undefined && t.difference !== 0);
  return [
    `${counted.length} tables, ${rows} rows restored${differing.length ? `; ${differing.length} differ from the source (writes since the backup)` : ""}`,
    ...r.tables
      .filter((t) => t.verdict === "FAILED")
      .map((t) => `${t.table}: ${t.note} (source ${t.source ?? "-"}, restore ${t.restore ?? "-"})`),
    ...r.notes,
  ];
}
