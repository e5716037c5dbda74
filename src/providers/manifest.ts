import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { labels } from "../catalog/objects.js";
import type { KubeObject, ManifestSource } from "../catalog/types.js";
import type { ComponentId } from "../config/ids.js";
import { PLINTH_DIR, writePrivateFile } from "../config/plinth-dir.js";
import { error, UserError } from "../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { fetchBytes, sha256Hex } from "./download.js";

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * An upstream operator manifest fetched from its pinned release URL, applied only when the bytes
 * downloaded have the pinned sha256 (it is applied with cluster-admin rights, so a moved branch or
 * a tampered copy must not get that far), with images that can no longer be pulled swapped for
 * their maintained equivalents (`from` prefix → `to`).
 */
export async function fetchManifest(
  source: ManifestSource,
  fetchImpl: typeof fetch = fetch,
  cacheDir?: string,
): Promise<KubeObject[]> {
  const { url, sha256, imageOverrides } = source;
  if (typeof sha256 !== "string" || !SHA256.test(sha256)) {
    // A plan saved before manifests were pinned, or one edited by hand.
    throw new UserError(
      error(`the operator manifest ${url} has no pinned sha256 in the plan`, {
        fix: "plan again with this version of plinth and apply the new plan",
      }),
    );
  }
  const kept = cacheDir ? await cached(cacheDir, sha256) : undefined;
  let bytes: Uint8Array;
  try {
    bytes = kept ?? (await fetchBytes(url, { fetchImpl, timeoutMs: 30_000 }));
  } catch (e) {
    throw new UserError(
      error(`cannot fetch the operator manifest ${url}: ${(e as Error).message}`, {
        fix: "make the URL reachable from where plinth runs (or a mirror of it), or turn the component off",
      }),
    );
  }
  const actual = sha256Hex(bytes);
  if (actual !== sha256) {
    throw new UserError(
      error(
        `the operator manifest ${url} has sha256 ${actual}, not the pinned ${sha256}; nothing from it was applied`,
        {
          fix: "check what answers at that URL (a proxy or mirror altering files?); if upstream really changed the file, pin the new commit URL and digest in src/catalog/versions.ts after reviewing it",
        },
      ),
    );
  }
  // Written aside and renamed: a concurrent reader sees the whole file or none. A cache that
  // cannot be written (read-only checkout) only costs the next plan a download.
  if (cacheDir && !kept) writePrivateFile(join(cacheDir, `${sha256}.yaml`), bytes);
  const objects = parseAllDocuments(new TextDecoder().decode(bytes))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => Boolean(o?.kind && o.apiVersion && o.metadata?.name));
  return JSON.parse(
    JSON.stringify(objects, (_k, v) => {
      if (typeof v !== "string") return v;
      const o = imageOverrides.find((x) => v.startsWith(x.from));
      return o ? o.to : v;
    }),
  ) as KubeObject[];
}

/** Where the config in `configDir` keeps its verified manifests (git-ignored, as all of `.plinth/`). */
export function manifestCacheOf(configDir: string): string {
  return join(configDir, PLINTH_DIR, "cache", "manifests");
}

/**
 * A verified download kept by its sha256: plan reads it on every run to compare the manifest's
 * objects with the cluster, which a fetch each time would make slow, and impossible offline. The
 * file is hashed again when read, so a truncated or edited copy is fetched anew, never used.
 */
async function cached(dir: string, sha256: string): Promise<Uint8Array | undefined> {
  try {
    const bytes = new Uint8Array(await readFile(join(dir, `${sha256}.yaml`)));
    return sha256Hex(bytes) === sha256 ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/** The annotation naming the manifest step an object came from (a plan that cannot read it keeps them). */
export const MANIFEST_ANNOTATION = "plinth.dev/manifest";

/**
 * A manifest's objects as plinth applies them (and plans them): labelled as the component's, and
 * annotated with the step they came from. Membership of the ApplySet is added by the provider.
 */
export function manifestMembers(
  objects: readonly KubeObject[],
  env: ResolvedEnvironment,
  component: ComponentId,
  step: string,
): KubeObject[] {
  return objects.map((object) => ({
    ...object,
    metadata: {
      ...object.metadata,
      labels: { ...object.metadata.labels, ...labels(env, component) },
      annotations: { ...object.metadata.annotations, [MANIFEST_ANNOTATION]: step },
    },
  }));
}
