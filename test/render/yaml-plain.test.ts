// toYaml writes plain data itself (src/util/yaml.ts, plainYaml) and hands anything else to the
// yaml library: both ways must give the library's bytes, for what plinth renders and for data
// made to hit every rule (quoting, nesting, empty collections, numbers).
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { buildGraph } from "../../src/graph/graph.js";
import { resolve } from "../../src/model/resolve.js";
import { desiredComponents } from "../../src/plan/desired.js";
import { plainYaml, sortKeys, toYaml } from "../../src/util/yaml.js";
import { exampleConfig } from "../helpers/config.js";
import { seeded } from "../helpers/seeded.js";

const library = (value: unknown) =>
  stringify(sortKeys(value), { lineWidth: 0, aliasDuplicateObjects: false });

/** Every object each environment of the example renders, and the Helm values inside its HelmCharts. */
function rendered(): unknown[] {
  const config = exampleConfig();
  return ["dev", "ci", "test", "staging", "prod"].flatMap((name) => {
    const env = resolve(config, name);
    return desiredComponents(env, buildGraph(env)).flatMap((c) =>
      c.objects.flatMap((o) => {
        const values = (o.spec as { valuesContent?: unknown } | undefined)?.valuesContent;
        return typeof values === "string" ? [o, parse(values) as unknown] : [o];
      }),
    );
  });
}

const STRINGS = [
  "a",
  "web",
  "app.kubernetes.io/name",
  "http://vault.platform.svc:8200",
  "10Gi",
  "500m",
  "1.2.3",
  "v1",
  "a b",
  "a: b",
  "a:b",
  "a:",
  "a ",
  " a",
  "a #b",
  "a#b",
  "#a",
  "-a",
  "- a",
  "-",
  "?",
  "*a",
  "&a",
  "!a",
  "%a",
  "@a",
  "`a",
  "'a'",
  '"a"',
  "a'b",
  'a"b',
  "[a]",
  "{a}",
  "a,b",
  "",
  "~",
  "null",
  "Null",
  "true",
  "False",
  "yes",
  "no",
  "on",
  "42",
  "-42",
  "+1",
  "0o17",
  "0x1F",
  "1e3",
  "1.5",
  ".5",
  "5.",
  ".inf",
  "-.Inf",
  ".nan",
  "---",
  "...",
  "a\nb",
  "a\n",
  "line one\nline two\n",
  "tab\there",
  "x".repeat(1100),
  "é",
  "a=b+c/d_e",
  "::/0",
  ":a",
  "*.example.com",
  'say "hi"',
  "it's",
  'it\'s "x"',
  "a\\b",
  "% x",
  "a: b #c",
  "$(VAR)",
  "$VAR",
  "(a)",
  "x".repeat(1001),
];
const NUMBERS = [0, 1, -1, 1.5, 1e21, 1e-7, -0, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53];

function randomValue(random: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const r = random();
  if (depth > 3 || r < 0.35) {
    return pick<unknown>([...STRINGS, ...STRINGS, ...NUMBERS, true, false, null]);
  }
  const size = Math.floor(random() * 4);
  if (r < 0.6) return Array.from({ length: size }, () => randomValue(random, depth + 1));
  // Mostly plain keys, so that whole documents take the direct way too.
  return Object.fromEntries(
    Array.from({ length: size }, () => [
      random() < 0.8 ? pick(["a", "b", "name", "image.tag", "x-y"]) : pick(STRINGS),
      randomValue(random, depth + 1),
    ]),
  );
}

describe("toYaml", () => {
  it("writes every object and Helm values the example's environments render as the yaml library does", () => {
    const values = rendered();
    expect(values.length).toBeGreaterThan(200);
    for (const v of values) expect(toYaml(v)).toBe(library(v));
    // Most take the direct way (the rest hold strings of several lines): else it would not pay.
    const direct = values.filter((v) => plainYaml(sortKeys(v)) !== undefined).length;
    expect(direct / values.length).toBeGreaterThan(0.7);
  });

  it("gives the library's bytes for random data over every rule, whichever way writes it", () => {
    const random = seeded(20261202);
    let direct = 0;
    for (let i = 0; i < 5000; i++) {
      const v = randomValue(random, 0);
      const own = plainYaml(sortKeys(v));
      if (own !== undefined) {
        direct++;
        expect(own, JSON.stringify(v)).toBe(library(v));
      }
      expect(toYaml(v)).toBe(library(v));
    }
    expect(direct).toBeGreaterThan(1000);
  });

  it("each string on its own, as a value, a key and a sequence item", () => {
    for (const s of STRINGS) {
      for (const v of [s, { k: s }, { [s]: 1 }, [s], { k: [s, { [s]: [s] }] }]) {
        expect(toYaml(v), JSON.stringify(v)).toBe(library(v));
      }
    }
  });

  it("sortKeys: apiVersion, kind, metadata first, the rest by code unit, undefined dropped, an own __proto__ key kept as a key", () => {
    const parsed = JSON.parse('{"z":1,"__proto__":{"b":2,"a":1},"kind":"K","u":null,"apiVersion":"v1"}');
    const sorted = sortKeys({ ...parsed, gone: undefined, metadata: { name: "n", b: [{ y: 1, x: 2 }] } });
    expect(JSON.stringify(sorted)).toBe(
      '{"apiVersion":"v1","kind":"K","metadata":{"name":"n","b":[{"x":2,"y":1}]},"__proto__":{"a":1,"b":2},"u":null,"z":1}',
    );
    expect(Object.getPrototypeOf(sorted)).toBe(Object.prototype);
  });
});
