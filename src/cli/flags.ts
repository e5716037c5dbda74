/** Flag values that are more than a string: checked once, at the edge, with a message naming the flag. */
import { error, UserError } from "../diagnostics/diagnostic.js";
import type { ParsedArgs } from "./command.js";

/** A whole number of at least 1, or the fallback when the flag is absent. */
export function positiveInt(args: ParsedArgs, flag: string, fallback: number): number {
  const raw = args.values[flag];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== "string" || !Number.isInteger(n) || n < 1) {
    throw new UserError(
      error(`must be a whole number of at least 1, not ${JSON.stringify(raw)}`, {
        path: `--${flag}`,
        fix: `for example --${flag} 4`,
      }),
    );
  }
  return n;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A duration such as `90s`, `10m` or `1h30m`, in milliseconds; undefined when the flag is absent. */
export function duration(args: ParsedArgs, flag: string): number | undefined {
  const raw = args.values[flag];
  if (raw === undefined) return undefined;
  const parts = typeof raw === "string" ? [...raw.matchAll(/(\d+)(ms|s|m|h)/g)] : [];
  const ms = parts.reduce((sum, [, n, unit]) => sum + Number(n) * (UNIT_MS[unit ?? ""] ?? 0), 0);
  if (typeof raw !== "string" || parts.map((p) => p[0]).join("") !== raw || ms <= 0) {
    throw new UserError(
      error(`is not a duration: ${JSON.stringify(raw)}`, {
        path: `--${flag}`,
        fix: "give a positive duration such as 90s, 10m or 1h30m",
      }),
    );
  }
  return ms;
}
