import { describe, expect, it } from "vitest";
import { byCodeUnit } from "./order.js";

/** Every string of one to three characters over the alphabet: each pair of characters meets in every position. */
function allNames(alphabet: string): string[] {
  let level = [""];
  const out: string[] = [];
  for (let length = 1; length <= 3; length++) {
    level = level.flatMap((prefix) => [...alphabet].map((c) => prefix + c));
    out.push(...level);
  }
  return out;
}

describe("byCodeUnit", () => {
  it("orders lower-case letters, digits, '-', '.' and '/' exactly as localeCompare does", () => {
    const names = allNames("abz09-./").reverse();
    expect([...names].sort(byCodeUnit)).toEqual([...names].sort((a, b) => a.localeCompare(b)));
  });

  it("differs from localeCompare for upper case and '_', which callers do not sort with it", () => {
    expect(byCodeUnit("B", "a")).toBe(-1);
    expect("B".localeCompare("a")).toBe(1);
    expect(byCodeUnit("a_b", "a-b")).toBe(1);
    expect("a_b".localeCompare("a-b")).toBe(-1);
  });
});
