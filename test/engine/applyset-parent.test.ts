import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withMembership } from "../../src/providers/kubernetes/applyset.js";
import {
  KINDS_ANNOTATION,
  listMembers,
  readParent,
  recordOf,
  removeParent,
  shrinkParent,
  widenParent,
} from "../../src/providers/kubernetes/applyset-parent.js";
import { connect } from "../../src/providers/kubernetes/client.js";
import { KubernetesProvider } from "../../src/providers/kubernetes/provider.js";
import { kubeconfig, kubectl, kubectlJson } from "./bed.js";

/** The ApplySet parent's one home, against the test bed's API server. */
const ENV = "aspar";
const NS = `plinth-${ENV}`;
let kube: KubernetesProvider;

const parentAnnotations = async () =>
  (
    await kubectlJson<{ metadata: { annotations: Record<string, string> } }>(
      "get",
      "configmap",
      `plinth-applyset-${ENV}`,
      "-n",
      "kube-system",
    )
  ).metadata.annotations;

beforeAll(async () => {
  kube = new KubernetesProvider({ api: (await connect({ kubeconfig: kubeconfig() })).api });
  await kubectl("delete", "configmap", `plinth-applyset-${ENV}`, "-n", "kube-system", "--ignore-not-found");
  await kubectl("delete", "namespace", NS, "--ignore-not-found");
});

afterAll(async () => {
  await kubectl("delete", "configmap", `plinth-applyset-${ENV}`, "-n", "kube-system", "--ignore-not-found");
  await kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false");
});

describe("ApplySet parent: read, widen, shrink, remove", () => {
  it("records the union before a run, exactly what is left after, and goes with the last member", async () => {
    expect(await readParent(kube, ENV)).toBeUndefined();

    await widenParent(kube, ENV, "plinth/test", undefined, {
      kinds: ["v1/ConfigMap", "v1/Namespace"],
      namespaces: [NS],
    });
    const first = await readParent(kube, ENV);
    expect(first).toEqual({ kinds: ["v1/ConfigMap", "v1/Namespace"], namespaces: [NS] });
    expect(await parentAnnotations()).toMatchObject({
      [KINDS_ANNOTATION]: "v1/ConfigMap,v1/Namespace",
      "applyset.kubernetes.io/contains-group-kinds": "ConfigMap,Namespace",
      "applyset.kubernetes.io/additional-namespaces": NS,
    });

    // A second run adds a kind: nothing recorded before is forgotten.
    await widenParent(kube, ENV, "plinth/test", first, {
      kinds: ["apps/v1/Deployment"],
      namespaces: ["data-x"],
    });
    expect(await readParent(kube, ENV)).toEqual({
      kinds: ["apps/v1/Deployment", "v1/ConfigMap", "v1/Namespace"],
      namespaces: ["data-x", NS],
    });

    // Members are found through the recorded kinds.
    await kube.applyObject(
      withMembership({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }, ENV),
      true,
    );
    await kube.applyObject(
      withMembership(
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "member", namespace: NS } },
        ENV,
      ),
      true,
    );
    const members = await listMembers(kube, ENV);
    expect(members.map((m) => `${m.kind}/${m.metadata?.name}`).sort()).toEqual([
      "ConfigMap/member",
      `Namespace/${NS}`,
    ]);

    await shrinkParent(kube, ENV, "plinth/test", { kinds: ["v1/Namespace"], namespaces: [] });
    expect(await readParent(kube, ENV)).toEqual({ kinds: ["v1/Namespace"], namespaces: [] });

    // Nothing left: the parent itself goes.
    await shrinkParent(kube, ENV, "plinth/test", { kinds: [], namespaces: [] });
    expect(await readParent(kube, ENV)).toBeUndefined();
    await removeParent(kube, ENV); // already gone: no error
  });

  it("records the kinds and namespaces of what stays a member after a plan's changes", () => {
    expect(
      recordOf([
        {
          provider: "kubernetes",
          action: "create",
          id: "kubernetes:apps/v1:Deployment:data/redis",
          namespace: "data",
        },
        {
          provider: "secret",
          action: "no-op",
          id: "kubernetes:v1:Secret:data/redis-auth",
          namespace: "data",
        },
        { provider: "kubernetes", action: "delete", id: "kubernetes:v1:ConfigMap:old/x", namespace: "old" },
        {
          provider: "kubernetes",
          action: "no-op",
          id: "kubernetes:v1:PersistentVolumeClaim:keep/data",
          namespace: "keep",
          spec: { release: true },
        },
        { provider: "manifest", action: "update" },
      ]),
    ).toEqual({ kinds: ["apps/v1/Deployment", "v1/Secret"], namespaces: ["data", "keep"] });
  });
});
