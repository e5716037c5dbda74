import { describe, expect, it } from "vitest";
import type { SecretSpec } from "../catalog/types.js";
import { fillSecret, generateValue, templateSources } from "./generate.js";

describe("generated secrets", () => {
  it("follow each consumer's length and alphabet", () => {
    expect(generateValue({ length: 32, alphabet: "alphanumeric" })).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(generateValue({ length: 64, alphabet: "hex" })).toMatch(/^[0-9a-f]{64}$/);
    expect(generateValue({ length: 48, alphabet: "base64url" })).toMatch(/^[A-Za-z0-9_-]{48}$/);
    expect(generateValue({ length: 0, alphabet: "alphanumeric", fixed: "app" })).toBe("app");
  });

  it("are different every time (CSPRNG), with no repeats over many draws", () => {
    const draws = new Set(
      Array.from({ length: 2000 }, () => generateValue({ length: 24, alphabet: "alphanumeric" })),
    );
    expect(draws.size).toBe(2000);
  });

  it("keep existing values, generate only missing keys, and fill templates from other secrets", () => {
    const spec: SecretSpec = {
      name: "app-env",
      namespace: "data",
      keys: {
        TOKEN: { length: 16, alphabet: "hex" },
        URL: {
          length: 0,
          alphabet: "alphanumeric",
          template: "postgresql://app:{postgres-app.password}@db/app?t={app-env.TOKEN}",
        },
      },
      consumers: [],
    };
    const first = fillSecret(spec, {}, (s, k) =>
      s === "postgres-app" && k === "password" ? "pw" : undefined,
    );
    expect(first.URL).toBe(`postgresql://app:pw@db/app?t=${first.TOKEN}`);
    const again = fillSecret(spec, first, () => "other");
    expect(again).toEqual(first);
    expect(templateSources(spec.keys.URL?.template ?? "")).toEqual([
      { secret: "postgres-app", key: "password" },
      { secret: "app-env", key: "TOKEN" },
    ]);
    expect(() => fillSecret(spec, {}, () => undefined)).toThrow(/needs postgres-app.password/);
  });
});
