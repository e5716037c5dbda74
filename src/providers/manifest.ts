import { parseAllDocuments } from "yaml";
import type { KubeObject, ManifestSource } from "../catalog/types.js";
import { error, UserError } from "../diagnostics/diagnostic.js";
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
  let bytes: Uint8Array;
  try {
    bytes = await fetchBytes(url, { fetchImpl, timeoutMs: 30_000 });
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
