import type Cloudflare from "cloudflare";
import { NotFoundError } from "cloudflare";
import { type Diagnostic, error, UserError } from "../../diagnostics/diagnostic.js";
import type { DesiredResource, Provider, ProviderContext, ResourceChange } from "../types.js";
import {
  body,
  byId,
  changeFor,
  conflict,
  deleteOf,
  identical,
  interferes,
  type LiveRecord,
  markOf,
  matches,
  ownedBy,
  parseVersion,
  plannedMark,
  stale,
  toLive,
} from "./changes.js";
import { type CallContext, type CloudflareClientOptions, createClient, translate } from "./client.js";
import { type OwnerMark, parseMark } from "./ownership.js";
import { type DnsRecordSpec, normalizeName, PROVIDER_NAME, parseRecordId } from "./records.js";

export interface CloudflareDnsProviderOptions extends Omit<CloudflareClientOptions, "apiToken"> {
  /** Passed in by the CLI from `CLOUDFLARE_API_TOKEN`; undefined gives a UserError on first use. */
  apiToken: string | undefined;
  /** Records per page when listing a zone (Cloudflare's default is 100). */
  perPage?: number;
}

export type Access = "read" | "write";

export interface DnsPlanOptions {
  /** Zones to look in besides those of the desired records (so removed hosts are pruned). */
  zones?: readonly string[];
  /** Config path of each zone (`environments.prod.baseDomain`), for messages. */
  zoneSources?: Readonly<Record<string, string>>;
  /** Ownership marks name the project, so two projects in one account never touch each other. */
  project?: string;
  /** The environment's cluster: records marked `cluster=<name>` are shared by its environments. */
  cluster?: string;
  /** Whether this environment deletes the cluster's shared records it no longer wants (its primary environment). */
  pruneCluster?: boolean;
  /** `write` (default) also checks the token may edit DNS, so a plan that apply would fail says so now. */
  access?: Access;
}

export interface CloudflareDnsProvider extends Provider<DnsRecordSpec> {
  plan(
    desired: DesiredResource<DnsRecordSpec>[],
    ctx: ProviderContext,
    options?: DnsPlanOptions,
  ): Promise<ResourceChange<DnsRecordSpec>[]>;
  /**
   * Finds every zone and checks the token's access to it before anything is written: one UserError
   * listing every missing zone and missing permission.
   */
  preflight(
    zones: readonly string[],
    access: Access,
    zoneSources?: Readonly<Record<string, string>>,
  ): Promise<void>;
}

interface ZoneInfo {
  id: string;
  name: string;
  account?: string;
  /** Cloudflare's (deprecated, still returned) effective permissions, e.g. `#dns_records:edit`. */
  permissions?: string[];
}

const DEFAULT_PROJECT = "plinth";

export function cloudflareDnsProvider(options: CloudflareDnsProviderOptions): CloudflareDnsProvider {
  return new CloudflareDns(options);
}

class CloudflareDns implements CloudflareDnsProvider {
  readonly name = PROVIDER_NAME;
  readonly #token: string;
  readonly #client: Cloudflare | undefined;
  readonly #perPage: number;
  readonly #zones = new Map<string, ZoneInfo>();
  readonly #checked = new Map<string, Access>();
  /** Every zone named in this run, for the token fix. */
  readonly #known = new Set<string>();

  constructor(o: CloudflareDnsProviderOptions) {
    this.#token = o.apiToken ?? "";
    this.#client = o.apiToken ? createClient({ ...o, apiToken: o.apiToken }) : undefined;
    this.#perPage = o.perPage ?? 500;
  }

  async plan(
    desired: DesiredResource<DnsRecordSpec>[],
    ctx: ProviderContext,
    options: DnsPlanOptions = {},
  ): Promise<ResourceChange<DnsRecordSpec>[]> {
    const zones = [...new Set([...(options.zones ?? []), ...desired.map((d) => d.spec.zone)])].sort();
    if (zones.length === 0) return [];
    await this.preflight(zones, options.access ?? "write", options.zoneSources);
    const live: LiveRecord[] = [];
    for (const zone of zones) live.push(...(await this.#list(zone, ctx)));
    const project = options.project ?? DEFAULT_PROJECT;
    const owns = (mark: OwnerMark | undefined, prune: boolean): boolean =>
      mark !== undefined &&
      mark.project === project &&
      (mark.env === ctx.env ||
        (mark.cluster !== undefined &&
          mark.cluster === options.cluster &&
          (!prune || options.pruneCluster === true)));

    const byName = new Map<string, LiveRecord[]>();
    for (const record of live) byName.set(record.name, [...(byName.get(record.name) ?? []), record]);
    const claimed = new Set<string>();
    const changes: ResourceChange<DnsRecordSpec>[] = [];
    const conflicts: Diagnostic[] = [];

    for (const d of [...desired].sort(byId)) {
      const spec = d.spec;
      const mark = markOf(spec, ctx, project);
      const atName = byName.get(spec.name) ?? [];
      const ours = atName.find((r) => r.type === spec.type && owns(parseMark(r.comment), false));
      const others = atName.filter(
        (r) => r !== ours && interferes(r.type, spec.type) && !owns(parseMark(r.comment), true),
      );
      const adoptable =
        !ours && others.length === 1 && !parseMark(others[0]?.comment) && identical(others[0], spec)
          ? others[0]
          : undefined;
      if (others.length > 0 && !adoptable) {
        conflicts.push(...others.map((r) => conflict(r, spec, ctx.env)));
        continue;
      }
      const target = ours ?? adoptable;
      if (target) claimed.add(target.id);
      changes.push(changeFor(d, target, adoptable ? "adopt" : target ? undefined : "create", mark));
    }
    if (conflicts.length > 0) throw new UserError(conflicts);

    for (const record of live) {
      if (claimed.has(record.id) || !owns(parseMark(record.comment), true)) continue;
      changes.push(deleteOf(record));
    }
    return changes.sort((a, b) => byId(a, b) || a.action.localeCompare(b.action));
  }

  async preflight(
    zones: readonly string[],
    access: Access,
    zoneSources: Readonly<Record<string, string>> = {},
  ): Promise<void> {
    const client = this.#requireClient(zones);
    for (const zone of zones) this.#known.add(zone);
    const missing: string[] = [];
    for (const zone of zones) {
      if (this.#zones.has(zone)) continue;
      const found = await this.#call({ action: "list the account's zones" }, async () => {
        const page = await client.zones.list({ name: zone, per_page: 50 });
        return page.result.find((z) => normalizeName(z.name) === zone);
      });
      if (!found) {
        missing.push(zone);
        continue;
      }
      this.#zones.set(zone, {
        id: found.id,
        name: zone,
        ...(found.account?.name ? { account: found.account.name } : {}),
        ...(Array.isArray(found.permissions) ? { permissions: found.permissions } : {}),
      });
    }
    const diagnostics: Diagnostic[] = [];
    if (missing.length > 0) {
      const accounts = await this.#accountNames();
      const seen = accounts.length > 0 ? `account ${accounts.join(", ")}` : "any account this token can see";
      for (const zone of missing) {
        diagnostics.push(
          error(`zone ${zone} is not in the Cloudflare account of this API token (${seen})`, {
            ...(zoneSources[zone] ? { path: zoneSources[zone] } : {}),
            fix: `add ${zone} to that Cloudflare account (or give the token access to it), or correct baseDomain/internalDomain`,
          }),
        );
      }
    }
    for (const zone of zones) {
      const info = this.#zones.get(zone);
      if (!info?.permissions || this.#satisfied(zone, access)) continue;
      const needed = access === "write" ? "#dns_records:edit" : "#dns_records:read";
      if (!info.permissions.includes(needed)) {
        const permission = access === "write" ? "Zone.DNS:Edit" : "Zone.DNS:Read";
        diagnostics.push(
          error(`the API token may not ${access === "write" ? "edit" : "read"} DNS records in zone ${zone}`, {
            ...(zoneSources[zone] ? { path: zoneSources[zone] } : {}),
            fix: `give the token the ${permission} permission for zone ${zone} (plinth needs Zone.Zone:Read and Zone.DNS:Edit)`,
          }),
        );
      }
    }
    if (diagnostics.length > 0) throw new UserError(diagnostics);
    for (const zone of zones) if (!this.#satisfied(zone, access)) this.#checked.set(zone, access);
  }

  async apply(change: ResourceChange<DnsRecordSpec>, ctx: ProviderContext): Promise<void> {
    if (change.action === "no-op") return;
    if (change.action === "delete") return this.#delete(change, ctx);
    const spec = change.spec;
    if (!spec) throw new Error(`plinth bug: ${change.action} of ${change.id} carries no spec`);
    const zoneId = await this.#zoneId(spec.zone);
    if (change.action === "create") return this.#create(change, zoneId, ctx);
    const planned = parseVersion(change.liveVersion);
    const live = await this.#get(spec.zone, zoneId, planned.recordId, ctx);
    const comment = plannedMark(spec, change);
    if (live && matches(live, spec) && live.comment === comment) return;
    const label = `${spec.type} record ${spec.name}`;
    if (!live) {
      throw stale(`${label} was deleted since the plan`, spec.source);
    }
    if (live.modifiedOn !== planned.modifiedOn) {
      throw stale(`${label} was changed in Cloudflare since the plan`, spec.source);
    }
    await this.#call({ action: `update ${label}`, zone: spec.zone, write: true, path: spec.source }, () =>
      this.#sdk().dns.records.edit(
        live.id,
        { zone_id: zoneId, ...body(spec, comment) },
        ctx.signal ? { signal: ctx.signal } : {},
      ),
    );
  }

  async #create(change: ResourceChange<DnsRecordSpec>, zoneId: string, ctx: ProviderContext): Promise<void> {
    const spec = change.spec as DnsRecordSpec;
    const label = `${spec.type} record ${spec.name}`;
    const comment = plannedMark(spec, change);
    // Idempotent: an earlier, interrupted apply may have created it already.
    const atName = await this.#call({ action: `read ${spec.name}`, zone: spec.zone }, async () => {
      const page = await this.#sdk().dns.records.list(
        { zone_id: zoneId, name: { exact: spec.name }, per_page: 100 },
        ctx.signal ? { signal: ctx.signal } : {},
      );
      return page.result.map((r) => toLive(r, spec.zone));
    });
    const mark = parseMark(comment) as OwnerMark;
    const ours = atName.find((r) => r.type === spec.type && ownedBy(r, mark));
    if (ours) {
      if (matches(ours, spec)) return;
      throw stale(`${label} was created by another run since the plan`, spec.source);
    }
    const other = atName.find((r) => interferes(r.type, spec.type));
    if (other) throw new UserError(conflict(other, spec, ctx.env));
    await this.#call({ action: `create ${label}`, zone: spec.zone, write: true, path: spec.source }, () =>
      this.#sdk().dns.records.create(
        { zone_id: zoneId, ...body(spec, comment) },
        ctx.signal ? { signal: ctx.signal } : {},
      ),
    );
  }

  async #delete(change: ResourceChange<DnsRecordSpec>, ctx: ProviderContext): Promise<void> {
    const ref = parseRecordId(change.id);
    const zone = change.namespace;
    if (!ref || !zone) throw new Error(`plinth bug: delete of ${change.id} names no zone or record`);
    const zoneId = await this.#zoneId(zone);
    const planned = parseVersion(change.liveVersion);
    const live = await this.#get(zone, zoneId, planned.recordId, ctx);
    if (!live) return;
    const label = `${live.type} record ${live.name}`;
    // Only the very record plan judged ours: unchanged since, and still carrying plinth's mark.
    if (live.modifiedOn !== planned.modifiedOn || !parseMark(live.comment)) {
      throw stale(`${label} was changed in Cloudflare since the plan`);
    }
    await this.#call({ action: `delete ${label}`, zone, write: true }, () =>
      this.#sdk().dns.records.delete(live.id, { zone_id: zoneId }, ctx.signal ? { signal: ctx.signal } : {}),
    );
  }

  async #get(
    zone: string,
    zoneId: string,
    id: string,
    ctx: ProviderContext,
  ): Promise<LiveRecord | undefined> {
    return this.#call({ action: `read a DNS record of zone ${zone}`, zone }, async () => {
      try {
        const record = await this.#sdk().dns.records.get(
          id,
          { zone_id: zoneId },
          ctx.signal ? { signal: ctx.signal } : {},
        );
        return toLive(record, zone);
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    });
  }

  /** Every record of a zone, page by page. */
  async #list(zone: string, ctx: ProviderContext): Promise<LiveRecord[]> {
    const zoneId = await this.#zoneId(zone);
    return this.#call({ action: `list the DNS records of zone ${zone}`, zone }, async () => {
      const records: LiveRecord[] = [];
      const first = this.#sdk().dns.records.list(
        { zone_id: zoneId, per_page: this.#perPage, page: 1 },
        ctx.signal ? { signal: ctx.signal } : {},
      );
      // The server may cap per_page below what was asked: trust its page count, else read to an empty page.
      for await (const page of (await first).iterPages()) {
        records.push(...page.result.map((r) => toLive(r, zone)));
        const info = page.result_info as { page?: number; total_pages?: number };
        if (info.total_pages !== undefined && (info.page ?? 1) >= info.total_pages) break;
      }
      return records;
    });
  }

  async #zoneId(zone: string): Promise<string> {
    if (!this.#zones.has(zone)) await this.preflight([zone], "write");
    return (this.#zones.get(zone) as ZoneInfo).id;
  }

  #satisfied(zone: string, access: Access): boolean {
    const checked = this.#checked.get(zone);
    return checked === "write" || checked === access;
  }

  /** Names of the accounts the token reaches, best effort (an account-owned token may not list them). */
  async #accountNames(): Promise<string[]> {
    const fromZones = [...this.#zones.values()].map((z) => z.account).filter((a): a is string => !!a);
    if (fromZones.length > 0) return [...new Set(fromZones)].sort();
    try {
      const page = await this.#sdk().accounts.list({ per_page: 50 });
      return page.result.map((a) => a.name).sort();
    } catch {
      return [];
    }
  }

  async #call<T>(c: Omit<CallContext, "zones" | "token">, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw translate(err, { ...c, zones: [...this.#known].sort(), token: this.#token });
    }
  }

  #requireClient(zones: readonly string[]): Cloudflare {
    if (this.#client) return this.#client;
    throw new UserError(
      error("no Cloudflare API token: CLOUDFLARE_API_TOKEN is not set", {
        fix: `create an API token with Zone.Zone:Read and Zone.DNS:Edit for ${zones.join(", ")} and export it as CLOUDFLARE_API_TOKEN`,
      }),
    );
  }

  #sdk(): Cloudflare {
    return this.#requireClient([...this.#known]);
  }
}
