import { describe, expect, it } from "vitest";
import type { Obj } from "./identity.js";
import { conditionProbe, deletionProbe, isTerminating, jobProbe } from "./readiness.js";

const withConditions = (conditions: object[], generation?: number): Obj =>
  ({
    apiVersion: "v1",
    kind: "X",
    metadata: { name: "x", ...(generation === undefined ? {} : { generation }) },
    status: { conditions },
  }) as Obj;

describe("readiness conditions", () => {
  it("a True condition about an older generation is not ready yet, and says so", () => {
    const stale = conditionProbe(
      withConditions([{ type: "Ready", status: "True", observedGeneration: 2 }], 3),
      "Ready",
    );
    expect(stale).toEqual({ ready: false, status: "Ready=True, for generation 2 of 3" });
    expect(
      conditionProbe(withConditions([{ type: "Ready", status: "True", observedGeneration: 3 }], 3), "Ready"),
    ).toMatchObject({ ready: true });
    // Operators that do not report observedGeneration on conditions are taken at their word.
    expect(conditionProbe(withConditions([{ type: "Ready", status: "True" }], 3), "Ready")).toMatchObject({
      ready: true,
    });
  });

  it("a Job with FailureTarget fails at once, before its pods have stopped and Failed is set", () => {
    const probe = jobProbe(
      withConditions([{ type: "FailureTarget", status: "True", reason: "BackoffLimitExceeded" }]),
    );
    expect(probe).toMatchObject({ ready: false, failed: "FailureTarget: BackoffLimitExceeded" });
    expect(
      jobProbe(withConditions([{ type: "Failed", status: "True", reason: "DeadlineExceeded" }])),
    ).toMatchObject({
      failed: "Failed: DeadlineExceeded",
    });
    expect(jobProbe(withConditions([{ type: "Complete", status: "True" }]))).toMatchObject({ ready: true });
  });
});

describe("deletion in progress", () => {
  const dying = (extra: object): Obj =>
    ({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "x", deletionTimestamp: "2026-01-01T00:00:00Z", finalizers: ["a.example/hold"] },
      ...extra,
    }) as unknown as Obj;

  it("is done once the object is gone or another one stands in its place, and names what holds it", () => {
    expect(deletionProbe(undefined)).toEqual({ ready: true, status: "gone" });
    expect(deletionProbe({ apiVersion: "v1", kind: "Namespace", metadata: { name: "x" } } as Obj)).toEqual({
      ready: true,
      status: "created again",
    });
    const ns = dying({
      spec: { finalizers: ["kubernetes"] },
      status: {
        phase: "Terminating",
        conditions: [
          { type: "NamespaceDeletionDiscoveryFailure", status: "False", message: "All resources discovered" },
          { type: "NamespaceFinalizersRemaining", status: "True", message: "Some content has finalizers" },
        ],
      },
    });
    expect(isTerminating(ns)).toBe(true);
    expect(deletionProbe(ns)).toEqual({
      ready: false,
      status: "finalizers pending: a.example/hold, kubernetes; Some content has finalizers",
    });
  });
});
