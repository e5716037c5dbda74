import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../catalog/types.js";
import { applyChangesNothing, type LiveObject } from "./unchanged.js";

/** A live object as the tests shape it. */
type Obj = LiveObject & { metadata: Record<string, unknown>; spec: Spec; status?: unknown };
// biome-ignore lint/suspicious/noExplicitAny: a test walks a Deployment's spec by hand
type Spec = any;

const desired = (): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "api", namespace: "apps", labels: { "plinth.dev/component": "openpanel" } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: "api" } },
    template: {
      metadata: { labels: { app: "api" } },
      spec: {
        containers: [{ name: "api", image: "api:1", ports: [{ containerPort: 3000, name: "http" }] }],
      },
    },
  },
});

/** What the API server holds after plinth applied `desired()`: defaults filled in, fields owned. */
const live = (): Obj =>
  ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "api",
      namespace: "apps",
      resourceVersion: "42",
      labels: { "plinth.dev/component": "openpanel", "added-by": "someone-else" },
      managedFields: [
        {
          manager: "plinth",
          operation: "Apply",
          apiVersion: "apps/v1",
          fieldsType: "FieldsV1",
          fieldsV1: {
            "f:metadata": { "f:labels": { "f:plinth.dev/component": {} } },
            "f:spec": {
              "f:replicas": {},
              "f:selector": {},
              "f:template": {
                "f:metadata": { "f:labels": { "f:app": {} } },
                "f:spec": {
                  "f:containers": {
                    'k:{"name":"api"}': {
                      ".": {},
                      "f:image": {},
                      "f:name": {},
                      "f:ports": {
                        'k:{"containerPort":3000,"protocol":"TCP"}': {
                          ".": {},
                          "f:containerPort": {},
                          "f:name": {},
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
        {
          manager: "kubectl-label",
          operation: "Update",
          apiVersion: "v1",
          fieldsType: "FieldsV1",
          fieldsV1: { "f:metadata": { "f:labels": { "f:added-by": {} } } },
        },
      ],
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "api" } },
      template: {
        metadata: { labels: { app: "api" } },
        spec: {
          containers: [
            {
              name: "api",
              image: "api:1",
              imagePullPolicy: "IfNotPresent",
              ports: [{ containerPort: 3000, name: "http", protocol: "TCP" }],
            },
          ],
        },
      },
    },
    status: { replicas: 1 },
  }) as Obj;

type Fields = Record<string, Record<string, unknown>>;
const plinthFields = (o: Obj): Fields =>
  (o.metadata.managedFields as { fieldsV1: Fields }[])[0]?.fieldsV1 as Fields;

describe("a server-side apply that would change nothing, told from the live object", () => {
  it("holds for a converged object, whatever defaults and other managers' fields it carries", () => {
    expect(applyChangesNothing(desired(), live(), "plinth")).toBe(true);
  });

  it("does not hold when a field plinth sets was edited by hand (value, or a label's value)", () => {
    const image = live();
    image.spec.template.spec.containers[0].image = "api:evil";
    expect(applyChangesNothing(desired(), image, "plinth")).toBe(false);
    const label = live();
    (label.metadata.labels as Record<string, string>)["plinth.dev/component"] = "other";
    expect(applyChangesNothing(desired(), label, "plinth")).toBe(false);
  });

  it("does not hold when another manager took a field over, even with plinth's value", () => {
    const taken = live();
    delete (plinthFields(taken)["f:spec"] as Fields)["f:replicas"];
    expect(applyChangesNothing(desired(), taken, "plinth")).toBe(false);
  });

  it("does not hold when plinth owns a field it no longer sends (apply would remove it)", () => {
    const d = desired();
    delete (d.metadata as { labels?: unknown }).labels;
    expect(applyChangesNothing(d, live(), "plinth")).toBe(false);
  });

  it("does not hold when a list gained an item, a value is normalized, or the object is going away", () => {
    const more = live();
    more.spec.template.spec.containers.push({ name: "sidecar", image: "x" });
    expect(applyChangesNothing(desired(), more, "plinth")).toBe(false);
    const d = desired();
    (d.spec as { replicas: unknown }).replicas = "1";
    expect(applyChangesNothing(d, live(), "plinth")).toBe(false);
    const dying = live();
    dying.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    expect(applyChangesNothing(desired(), dying, "plinth")).toBe(false);
  });

  it("does not hold without exactly one Apply entry of plinth's for the same API version", () => {
    expect(applyChangesNothing(desired(), undefined, "plinth")).toBe(false);
    expect(applyChangesNothing(desired(), live(), "someone")).toBe(false);
    const old = live();
    (old.metadata.managedFields as { apiVersion: string }[])[0] = {
      ...(old.metadata.managedFields as object[])[0],
      apiVersion: "apps/v1beta2",
    };
    expect(applyChangesNothing(desired(), old, "plinth")).toBe(false);
    const other = desired();
    (other.metadata as { namespace: string }).namespace = "apps-2";
    expect(applyChangesNothing(other, live(), "plinth")).toBe(false);
  });
});
