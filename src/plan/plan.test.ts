import { describe, expect, it } from "vitest";
import { checkSignature, finishPlan, notAPlan, type Plan, signPlan, verifyHash } from "./plan.js";

const KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

function plan(): Plan {
  return finishPlan({
    env: "staging",
    cluster: "one",
    offline: false,
    phases: [
      {
        id: "2",
        components: [
          {
            id: "redis",
            title: "Redis",
            step: "2.2",
            layer: "L3",
            namespace: "data",
            placement: "local",
            dependsOn: [],
            changes: [
              { action: "create", provider: "kubernetes", kind: "ConfigMap", name: "a", namespace: "data" },
            ],
          },
        ],
      },
    ],
  });
}

describe("saved plan signatures (PLINTH_PLAN_KEY)", () => {
  it("a signed plan verifies with its key, and keeps its hash", () => {
    const signed = signPlan(plan(), KEY);
    expect(signed.signature).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(signed.signature).not.toContain(KEY);
    expect(verifyHash(signed)).toBe(true);
    expect(checkSignature(signed, KEY)).toBe("valid");
  });

  it("another key, an edited byte, another env or cluster: invalid; no signature: unsigned", () => {
    const signed = signPlan(plan(), KEY);
    expect(checkSignature(signed, `${KEY.slice(0, -1)}0`)).toBe("invalid");
    const text = JSON.stringify(signed).replace('"name":"a"', '"name":"b"');
    expect(checkSignature(JSON.parse(text) as Plan, KEY)).toBe("invalid");
    expect(checkSignature({ ...signed, env: "prod" }, KEY)).toBe("invalid");
    expect(checkSignature({ ...signed, cluster: "two" }, KEY)).toBe("invalid");
    expect(checkSignature({ ...signed, signature: "hmac-sha256:00" }, KEY)).toBe("invalid");
    expect(checkSignature({ ...signed, signature: 7 as never }, KEY)).toBe("invalid");
    expect(checkSignature(plan(), KEY)).toBe("unsigned");
  });

  it("the hash covers env, cluster and partial: re-addressing a plan breaks it", () => {
    expect(verifyHash({ ...plan(), env: "prod" })).toBe(false);
    expect(verifyHash({ ...plan(), partial: true })).toBe(false);
  });
});

describe("what is not a plan file", () => {
  it.each([
    [null, "its JSON is null, not a plan object"],
    [[], "its JSON is an array, not a plan object"],
    [3, "its JSON is a number, not a plan object"],
    [{}, 'has no "env" text'],
    [{ env: "s", cluster: "c", hash: "h" }, 'has no "phases" list'],
    [{ env: "s", cluster: "c", hash: "h", phases: [null] }, "has a phase without id or components"],
    [
      {
        env: "s",
        cluster: "c",
        hash: "h",
        phases: [{ id: "1", components: [{ id: "redis", changes: [{}] }] }],
      },
      "component redis has a change without action, provider, kind or name",
    ],
  ])("%j: %s", (value, said) => {
    expect(notAPlan(value)).toBe(said);
  });

  it("a plan's shape passes", () => {
    expect(notAPlan(JSON.parse(JSON.stringify(plan())))).toBeUndefined();
  });
});
