/**
 * Pinned downloads: the operator manifest is applied only when its bytes have the pinned sha256,
 * and a redirect to another host is refused. Served by real HTTP servers on loopback (127.0.0.1 and
 * 127.0.0.2); the real upstream (raw.githubusercontent.com) is unreachable here.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubero } from "../../src/catalog/components/kubero.js";
import { K3S_INSTALLER, KUBERO_OPERATOR_MANIFEST } from "../../src/catalog/versions.js";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { fetchBytes } from "../../src/providers/download.js";
import { fetchManifest } from "../../src/providers/manifest.js";

const MANIFEST = `apiVersion: v1
kind: Namespace
metadata:
  name: kubero-operator-system
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kubero-operator-controller-manager
  namespace: kubero-operator-system
spec:
  template:
    spec:
      containers:
        - name: kube-rbac-proxy
          image: gcr.io/kubebuilder/kube-rbac-proxy:v0.11.0
        - name: manager
          image: ghcr.io/kubero-dev/kubero-operator/kuberoapp:v0.2.1
`;
const digest = (text: string) => createHash("sha256").update(text).digest("hex");
const overrides = [
  { from: "gcr.io/kubebuilder/kube-rbac-proxy", to: "quay.io/brancz/kube-rbac-proxy:v0.19.1" },
];

let home: Server;
let elsewhere: Server;
let base = "";
let other = "";
/** Requests the server on 127.0.0.2 received: a refused redirect must not reach it. */
const elsewhereHits: string[] = [];

function listen(server: Server, host: string): Promise<string> {
  return new Promise((done) =>
    server.listen(0, host, () => done(`http://${host}:${(server.address() as { port: number }).port}`)),
  );
}

beforeAll(async () => {
  elsewhere = createServer((req, res) => {
    elsewhereHits.push(req.url ?? "");
    res.end(MANIFEST);
  });
  other = await listen(elsewhere, "127.0.0.2");
  home = createServer((req, res) => {
    if (req.url === "/operator.yaml") return res.end(MANIFEST);
    if (req.url === "/tampered.yaml") return res.end(`${MANIFEST}# one more line\n`);
    if (req.url === "/moved.yaml") return res.writeHead(301, { location: "/operator.yaml" }).end();
    if (req.url === "/away.yaml") return res.writeHead(302, { location: `${other}/operator.yaml` }).end();
    if (req.url === "/loop.yaml") return res.writeHead(302, { location: "/loop.yaml" }).end();
    res.writeHead(404).end("not found");
  });
  base = await listen(home, "127.0.0.1");
});

afterAll(async () => {
  await new Promise((done) => home.close(done));
  await new Promise((done) => elsewhere.close(done));
});

async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UserError);
  return (e as UserError).message;
}

describe("the pins", () => {
  it("name immutable commit URLs with a sha256 each, never a branch", () => {
    for (const pin of [KUBERO_OPERATOR_MANIFEST, K3S_INSTALLER]) {
      expect(pin.url).toMatch(/^https:\/\/raw\.githubusercontent\.com\/[\w.-]+\/[\w.-]+\/[0-9a-f]{40}\//);
      expect(pin.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(KUBERO_OPERATOR_MANIFEST.url).toMatch(/\/deploy\/operator\.0\.2\.1\.yaml$/);
  });

  it("Kubero's manifest source carries the pinned digest into the plan", () => {
    const [external] = kubero.external?.({} as never) ?? [];
    expect(external?.source).toEqual({
      url: KUBERO_OPERATOR_MANIFEST.url,
      sha256: KUBERO_OPERATOR_MANIFEST.sha256,
      imageOverrides: [{ from: "gcr.io/kubebuilder/kube-rbac-proxy", to: expect.any(String) }],
    });
    expect(external?.detail).toContain(KUBERO_OPERATOR_MANIFEST.sha256);
  });
});

describe("fetchManifest", () => {
  it("parses the objects when the digest matches, with the image override applied", async () => {
    const objects = await fetchManifest({
      url: `${base}/operator.yaml`,
      sha256: digest(MANIFEST),
      imageOverrides: overrides,
    });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "Namespace/kubero-operator-system",
      "Deployment/kubero-operator-controller-manager",
    ]);
    expect(JSON.stringify(objects[1])).toContain("quay.io/brancz/kube-rbac-proxy:v0.19.1");
    expect(JSON.stringify(objects[1])).not.toContain("gcr.io/kubebuilder");
  });

  it("refuses bytes whose digest differs, naming the URL, both digests and the fix", async () => {
    const url = `${base}/tampered.yaml`;
    const message = await refusal(
      fetchManifest({ url, sha256: digest(MANIFEST), imageOverrides: overrides }),
    );
    expect(message).toContain(url);
    expect(message).toContain(`not the pinned ${digest(MANIFEST)}`);
    expect(message).toContain(`sha256 ${digest(`${MANIFEST}# one more line\n`)}`);
    expect(message).toContain("nothing from it was applied");
    expect(message).toContain("src/catalog/versions.ts");
  });

  it("refuses a source without a digest (a plan saved before the pin, or edited)", async () => {
    const source = { url: `${base}/operator.yaml`, imageOverrides: overrides } as never;
    const message = await refusal(fetchManifest(source));
    expect(message).toContain("has no pinned sha256");
    expect(message).toContain("plan again");
  });

  it("follows a redirect on the same host, refuses one to another host without contacting it", async () => {
    const moved = await fetchManifest({
      url: `${base}/moved.yaml`,
      sha256: digest(MANIFEST),
      imageOverrides: overrides,
    });
    expect(moved).toHaveLength(2);
    const message = await refusal(
      fetchManifest({ url: `${base}/away.yaml`, sha256: digest(MANIFEST), imageOverrides: overrides }),
    );
    expect(message).toContain(`${base}/away.yaml`);
    expect(message).toContain(`redirected to another host (${base} → ${other})`);
    expect(elsewhereHits).toEqual([]);
  });

  it("an unreachable or failing URL is a user error naming it", async () => {
    const message = await refusal(
      fetchManifest({ url: `${base}/missing.yaml`, sha256: digest(MANIFEST), imageOverrides: overrides }),
    );
    expect(message).toContain(`cannot fetch the operator manifest ${base}/missing.yaml: HTTP 404`);
  });
});

describe("fetchManifest with a cache folder", () => {
  it("keeps the verified bytes by digest, reads them without the host, and fetches again over a damaged copy", async () => {
    const cache = join(
      mkdtempSync(join(tmpdir(), "plinth-manifest-cache-")),
      ".plinth",
      "cache",
      "manifests",
    );
    const sha256 = digest(MANIFEST);
    const hits: string[] = [];
    const counting: typeof fetch = (input, init) => {
      hits.push(String(input));
      return fetch(input, init);
    };
    const source = { url: `${base}/operator.yaml`, sha256, imageOverrides: overrides };
    const first = await fetchManifest(source, counting, cache);
    expect(readFileSync(join(cache, `${sha256}.yaml`), "utf8")).toBe(MANIFEST);
    // Owner-only, and the .plinth folder it lies in is git-ignored.
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(cache, "..", "..", ".gitignore"), "utf8")).toBe("*\n");
    // The host answers nothing now: the copy is used (and hashed again on the way in).
    const unreachable = { ...source, url: `${base}/missing.yaml` };
    expect(await fetchManifest(unreachable, counting, cache)).toEqual(first);
    expect(hits).toHaveLength(1);
    // A damaged copy is never used: it is fetched again (here refused: the URL answers 404).
    writeFileSync(join(cache, `${sha256}.yaml`), `${MANIFEST}# edited\n`);
    expect(await refusal(fetchManifest(unreachable, counting, cache))).toContain("HTTP 404");
    expect(await fetchManifest(source, counting, cache)).toEqual(first);
    expect(readFileSync(join(cache, `${sha256}.yaml`), "utf8")).toBe(MANIFEST);
    expect(hits).toHaveLength(3);
  });
});

describe("fetchBytes", () => {
  it("stops a redirect loop", async () => {
    await expect(fetchBytes(`${base}/loop.yaml`)).rejects.toThrow("more than 5 redirects");
  });
});
