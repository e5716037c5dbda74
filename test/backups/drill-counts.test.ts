/**
 * The row-count verdict on output the counting script can give besides a clean run (the real
 * script against real PostgreSQL is drill-checks.test.ts): a log cut off by the Job's deadline,
 * a database the owner may not connect to, psql's noise between the lines, a log that is not the
 * counting output at all. Pure: no test bed.
 */
import { describe, expect, it } from "vitest";
import { judgeCounts, parseCounts, summarizeCounts } from "../../src/apply/drill-counts.js";
import { COUNTS_FORMAT } from "../../src/catalog/drill-checks.js";

const line = (o: object) => JSON.stringify(o);
const table = (side: string, table: string, rows: number | null, more: object = {}) =>
  line({ side, database: "app", schema: "public", table, unlogged: false, rows, ...more });

describe("the row-count verdict", () => {
  it("fails a log cut off before its end, whatever it counted", () => {
    const log = [
      line({ format: COUNTS_FORMAT }),
      table("source", "orders", 3),
      line({ side: "source", done: true }),
      table("restore", "orders", 3),
    ].join("\n");
    const report = judgeCounts(parseCounts(log));
    expect(report.ok).toBe(false);
    expect(report.notes).toEqual([
      "the counting output was cut off before its end: not every table was counted",
    ]);
    expect(report.tables).toEqual([
      { table: "app/public.orders", source: 3, restore: 3, difference: 0, verdict: "ok" },
    ]);
  });

  it("skips psql's own lines, fails a restore database it could not count, reports the source's", () => {
    const log = [
      line({ format: COUNTS_FORMAT }),
      'psql: error: connection to server at "x" failed: FATAL:  permission denied for database "reports"',
      line({
        side: "source",
        database: "reports",
        error: "not counted: no connection or no CONNECT privilege",
      }),
      table("source", "orders", 1),
      line({ side: "source", done: true }),
      line({
        side: "restore",
        database: "reports",
        error: "not counted: no connection or no CONNECT privilege",
      }),
      table("restore", "orders", 1),
      line({ side: "restore", done: true }),
      line({ end: true }),
    ].join("\n");
    const report = judgeCounts(parseCounts(log));
    expect(report.ok).toBe(false);
    expect(report.notes).toEqual([
      "restore: database reports not counted: no connection or no CONNECT privilege",
      "source: database reports not counted: no connection or no CONNECT privilege",
    ]);
    expect(summarizeCounts(report)[0]).toBe("1 tables, 1 rows restored");
  });

  it("refuses a log that is not the counting output (another image's, an older format)", () => {
    expect(() => parseCounts("Error: something else ran\n")).toThrow(
      `the counting output is not ${COUNTS_FORMAT} (no format line)`,
    );
    expect(() => parseCounts(line({ format: "plinth-drill-counts/v0" }))).toThrow("(plinth-drill-counts/v0)");
  });
});
