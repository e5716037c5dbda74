import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../catalog/types.js";
import { error, UserError } from "../diagnostics/diagnostic.js";

/**
 * An upstream operator manifest fetched from its pinned release URL, with images that can no longer
 * be pulled swapped for their maintained equivalents (`from` prefix → `to`).
 */
export async function fetchManifest(
  url: string,
  imageOverrides: { from: string; to: string }[],
  fetchImpl: typeof fetch = fetch,
): Promise<KubeObject[]> {
  let text: string;
  try {
    const res = await fetchImpl(url, { signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    text = await res.text();
  } catch (e) {
    throw new UserError(
      error(`cannot fetch the operator manifest ${url}: ${(e as Error).message}`, {
        fix: "make the URL reachable from where plinth runs (or a mirror of it), or turn the component off",
      }),
    );
  }
  const objects = parseAllDocuments(text)
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
