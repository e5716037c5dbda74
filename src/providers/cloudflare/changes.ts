/**
 * Live records compared with desired ones: pure functions that turn what Cloudflare holds into
 * plan changes (with field diffs), conflicts and the version apply checks before it writes.
 */
import { type Diagnostic, error, UserError } from "../../diagnostics/diagnostic.js";
import type { DesiredResource, FieldDiff, ProviderContext, ResourceChange } from "../types.js";
import { describeOwner, formatMark, type OwnerMark, parseMark, sameOwner } from "./ownership.js";
import {
  DNS_COMPONENT,
  type DnsRecordSpec,
  normalizeContent,
  normalizeName,
  PROVIDER_NAME,
  recordId,
} from "./records.js";

/** A record as Cloudflare holds it, normalized. */
export interface LiveRecord {
  id: string;
  zone: string;
  name: string;
  type: string;
  content: string;
  proxied: boolean;
  ttl: number;
  comment: string;
  modifiedOn: string;
}

export function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Record types that cannot share a name with the one plinth wants (a CNAME shares with nothing). */
export function interferes(liveType: string, desiredType: string): boolean {
  return desiredType === "CNAME" || liveType === "A" || liveType === "AAAA" || liveType === "CNAME";
}

export function markOf(spec: DnsRecordSpec, ctx: ProviderContext, project: string): OwnerMark {
  return spec.scope === "cluster"
    ? { tooling: ctx.tooling, project, cluster: spec.cluster }
    : { tooling: ctx.tooling, project, env: ctx.env };
}

export function ownedBy(record: LiveRecord, mark: OwnerMark): boolean {
  const live = parseMark(record.comment);
  return live !== undefined && sameOwner(live, mark);
}

export function matches(record: LiveRecord, spec: DnsRecordSpec): boolean {
  return (
    record.type === spec.type &&
    normalizeContent(record.type, record.content) === spec.content &&
    record.proxied === spec.proxied &&
    record.ttl === spec.ttl
  );
}

export function identical(record: LiveRecord | undefined, spec: DnsRecordSpec): boolean {
  return record !== undefined && matches(record, spec);
}

/** The mark plan computed: apply writes exactly what plan showed. */
export function plannedMark(spec: DnsRecordSpec, change: ResourceChange<DnsRecordSpec>): string {
  if (spec.comment) return spec.comment;
  throw new Error(`plinth bug: ${change.action} of ${change.id} carries no ownership mark`);
}

export function changeFor(
  d: DesiredResource<DnsRecordSpec>,
  live: LiveRecord | undefined,
  action: "adopt" | "create" | undefined,
  mark: OwnerMark,
): ResourceChange<DnsRecordSpec> {
  const spec = d.spec;
  const comment = formatMark(mark);
  const diff: FieldDiff[] = [];
  if (!live) {
    diff.push({ path: "content", after: spec.content }, { path: "proxied", after: spec.proxied });
  } else {
    const content = normalizeContent(live.type, live.content);
    if (content !== spec.content) diff.push({ path: "content", before: content, after: spec.content });
    if (live.proxied !== spec.proxied)
      diff.push({ path: "proxied", before: live.proxied, after: spec.proxied });
    if (live.ttl !== spec.ttl) diff.push({ path: "ttl", before: live.ttl, after: spec.ttl });
    const liveMark = parseMark(live.comment);
    if (!liveMark || !sameOwner(liveMark, mark)) {
      diff.push({ path: "comment", before: live.comment || undefined, after: comment });
    }
  }
  const resolved = action ?? (diff.length > 0 ? "update" : "no-op");
  const planned: DnsRecordSpec = { ...spec, comment: liveComment(live, mark) ?? comment };
  return {
    provider: PROVIDER_NAME,
    id: d.id,
    component: d.component,
    action: resolved,
    kind: `DNS ${spec.type}`,
    name: spec.name,
    namespace: spec.zone,
    diff,
    spec: planned,
    ...(live ? { liveVersion: versionOf(live) } : {}),
  };
}

/** Keep the live mark when it is already ours (a plinth upgrade alone rewrites nothing). */
export function liveComment(live: LiveRecord | undefined, mark: OwnerMark): string | undefined {
  const liveMark = live ? parseMark(live.comment) : undefined;
  return live && liveMark && sameOwner(liveMark, mark) ? live.comment : undefined;
}

export function deleteOf(record: LiveRecord): ResourceChange<DnsRecordSpec> {
  return {
    provider: PROVIDER_NAME,
    id: recordId(record.name, record.type),
    component: DNS_COMPONENT,
    action: "delete",
    kind: `DNS ${record.type}`,
    name: record.name,
    namespace: record.zone,
    diff: [
      { path: "content", before: normalizeContent(record.type, record.content) },
      { path: "proxied", before: record.proxied },
    ],
    liveVersion: versionOf(record),
  };
}

export function versionOf(record: LiveRecord): string {
  return `${record.id}@${record.modifiedOn}`;
}

export function parseVersion(version: string | undefined): { recordId: string; modifiedOn: string } {
  const at = version?.indexOf("@") ?? -1;
  if (!version || at <= 0) throw new Error(`plinth bug: DNS change without a live record version`);
  return { recordId: version.slice(0, at), modifiedOn: version.slice(at + 1) };
}

/** What create and edit send: the record and its ownership mark. */
export function body(spec: DnsRecordSpec, comment: string) {
  const { name, type, content, proxied, ttl } = spec;
  return { name, type, content, proxied, ttl, comment };
}

export interface SdkRecord {
  id: string;
  name: string;
  type: string;
  content?: unknown;
  proxied?: boolean;
  ttl: number;
  comment?: string | null;
  modified_on: string;
}

export function toLive(record: SdkRecord, zone: string): LiveRecord {
  return {
    id: record.id,
    zone,
    name: normalizeName(record.name),
    type: record.type,
    content: typeof record.content === "string" ? record.content : JSON.stringify(record.content ?? ""),
    proxied: record.proxied ?? false,
    ttl: record.ttl,
    comment: record.comment ?? "",
    modifiedOn: record.modified_on,
  };
}

export function conflict(record: LiveRecord, spec: DnsRecordSpec, env: string): Diagnostic {
  const owner = parseMark(record.comment);
  const whose = owner ? `belongs to ${describeOwner(owner)}` : "was not created by plinth";
  const content = normalizeContent(record.type, record.content);
  return error(
    `DNS record ${record.type} ${record.name} -> ${content} (zone ${record.zone}) already exists and ${whose}; plinth wants ${spec.type} ${spec.name} -> ${spec.content} for ${spec.service}`,
    {
      path: spec.source,
      fix: owner
        ? `give ${spec.service} another host in environments.${env}.hosts.${spec.service}, or remove it from the other ${owner.cluster !== undefined ? "cluster" : "environment"}`
        : `delete or rename that record in Cloudflare, or make it ${spec.type} ${spec.content} with proxied ${spec.proxied} and TTL auto so plinth adopts it, or give ${spec.service} another host in environments.${env}.hosts.${spec.service}`,
    },
  );
}

export function stale(message: string, path?: string): UserError {
  return new UserError(
    error(message, { ...(path ? { path } : {}), fix: "run plan again and review the new changes" }),
  );
}
