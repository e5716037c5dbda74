import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** Hex sha256 of the exact bytes, the form `sha256sum` prints and the pins in catalog/versions.ts use. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

const MAX_REDIRECTS = 5;

export interface FetchBytesOptions {
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

/**
 * The bytes at an `https:`/`http:` or `file:` URL. A redirect is followed only within the same
 * origin (scheme, host and port): a mirror may move a file, but a hop to another host (or from
 * https down to http) would hand what runs as root to whoever answers there, so it is refused.
 * Errors are plain, for the caller to name its own input and fix.
 */
export async function fetchBytes(url: string, o: FetchBytesOptions = {}): Promise<Uint8Array> {
  if (url.startsWith("file:")) return readFile(fileURLToPath(url));
  const fetchImpl = o.fetchImpl ?? fetch;
  const signal = AbortSignal.timeout(o.timeoutMs ?? 60_000);
  let current = new URL(url);
  for (let hop = 0; ; hop++) {
    const res = await fetchImpl(current, { redirect: "manual", signal });
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      const location = res.headers.get("location");
      if (!location) throw new Error(`HTTP ${res.status} without a Location header`);
      const next = new URL(location, current);
      if (next.origin !== current.origin) {
        throw new Error(
          `redirected to another host (${current.origin} → ${next.origin}), which plinth refuses`,
        );
      }
      if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
      current = next;
      continue;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`);
    return new Uint8Array(await res.arrayBuffer());
  }
}
