/**
 * Ownership of DNS records lives on the records themselves, in their comment (every Cloudflare plan
 * has comments; tags need a paid plan): `managed by plinth/0.1.0 project=acme env=staging`, or
 * `cluster=<name>` for hosts every environment of a cluster shares (Vault, dashboard, k3s API).
 * A record without such a comment was not created by plinth and is never changed or deleted.
 */

/** Cloudflare's comment limit on the free plan. */
export const COMMENT_MAX = 100;

export interface OwnerMark {
  /** `plinth/<version>` that last wrote the record. */
  tooling: string;
  project: string;
  env?: string;
  cluster?: string;
}

const MARK = /^managed by (plinth\/\S+)((?: [a-z]+=[^\s=]+)+)$/;

export function formatMark(mark: OwnerMark): string {
  const owner = mark.cluster !== undefined ? `cluster=${mark.cluster}` : `env=${mark.env}`;
  return `managed by ${mark.tooling} project=${mark.project} ${owner}`;
}

/** The mark in a record's comment, or undefined when the record is not plinth's. */
export function parseMark(comment: string | null | undefined): OwnerMark | undefined {
  const match = MARK.exec((comment ?? "").trim());
  if (!match) return undefined;
  const fields = new Map<string, string>();
  for (const pair of (match[2] as string).trim().split(" ")) {
    const [key, value] = pair.split("=") as [string, string];
    fields.set(key, value);
  }
  const project = fields.get("project");
  const env = fields.get("env");
  const cluster = fields.get("cluster");
  if (!project || (env === undefined) === (cluster === undefined)) return undefined;
  return {
    tooling: match[1] as string,
    project,
    ...(env !== undefined ? { env } : {}),
    ...(cluster !== undefined ? { cluster } : {}),
  };
}

/** Same owner, whatever plinth version wrote it (an upgrade alone never rewrites records). */
export function sameOwner(a: OwnerMark, b: OwnerMark): boolean {
  return a.project === b.project && a.env === b.env && a.cluster === b.cluster;
}

export function describeOwner(mark: OwnerMark): string {
  return mark.cluster !== undefined
    ? `plinth project ${mark.project}, cluster ${mark.cluster}`
    : `plinth project ${mark.project}, environment ${mark.env}`;
}
