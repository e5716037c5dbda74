import { describe, expect, it } from "vitest";
import { UserError } from "../diagnostics/diagnostic.js";
import { duration, positiveInt } from "./flags.js";

const args = (values: Record<string, string | boolean>) => ({ positionals: [], values });

describe("flag values", () => {
  it("durations: units added up, absent is undefined", () => {
    expect(duration(args({ timeout: "90s" }), "timeout")).toBe(90_000);
    expect(duration(args({ timeout: "1h30m" }), "timeout")).toBe(5_400_000);
    expect(duration(args({ timeout: "250ms" }), "timeout")).toBe(250);
    expect(duration(args({}), "timeout")).toBeUndefined();
  });

  it("a duration that is not one is a user error naming the flag", () => {
    for (const bad of ["10", "soon", "1h30", "0s", "-5m", "5 m", "m"]) {
      expect(() => duration(args({ timeout: bad }), "timeout"), bad).toThrow(UserError);
    }
    expect(() => duration(args({ timeout: true }), "timeout")).toThrow(/--timeout/);
  });

  it("whole numbers of at least 1; the fallback when absent", () => {
    expect(positiveInt(args({ concurrency: "8" }), "concurrency", 4)).toBe(8);
    expect(positiveInt(args({}), "concurrency", 4)).toBe(4);
    for (const bad of ["0", "-1", "2.5", "four", ""]) {
      expect(() => positiveInt(args({ concurrency: bad }), "concurrency", 4), bad).toThrow(
        /--concurrency: must be a whole number of at least 1/,
      );
    }
  });
});
