import { type SecretEntry, secretEntries, type VaultLayout } from "../../catalog/vault-layout.js";
import { UserError } from "../../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import { templateSources } from "../../secrets/generate.js";
import type { ProviderContext } from "../types.js";
import type { VaultClient } from "./client.js";
import { readMetadata, readSecret, writeMetadata, writeSecret } from "./kv.js";
import { VaultProvider } from "./provider.js";

/** One row of `plinth secrets list`: names, paths, versions and ages, never a value. */
export interface SecretListing {
  component: string;
  secret: string;
  namespace: string;
  path: string;
  keys: string[];
  /** 0 when not written yet. */
  version: number;
  versions: number;
  createdTime?: string;
  updatedTime?: string;
  managed: boolean;
}

export interface OperationOptions {
  client: VaultClient;
  env: ResolvedEnvironment;
  layout: VaultLayout;
}

export async function listSecrets(o: OperationOptions): Promise<SecretListing[]> {
  const out: SecretListing[] = [];
  for (const e of secretEntries(o.env)) {
    const meta = await readMetadata(o.client, o.layout.mount, e.path);
    const live = meta ? await readSecret(o.client, o.layout.mount, e.path) : undefined;
    out.push({
      component: e.component,
      secret: e.spec.name,
      namespace: e.spec.namespace,
      path: `${o.layout.mount}/${e.path}`,
      keys: Object.keys(live?.data ?? {}).sort(),
      version: meta?.currentVersion ?? 0,
      versions: meta?.versions ?? 0,
      ...(meta?.createdTime ? { createdTime: meta.createdTime } : {}),
      ...(meta?.updatedTime ? { updatedTime: meta.updatedTime } : {}),
      managed: meta?.custom["managed-by"] === "plinth",
    });
  }
  return out;
}

function componentEntries(env: ResolvedEnvironment, component: string): SecretEntry[] {
  const all = secretEntries(env);
  const mine = all.filter((e) => e.component === component);
  if (mine.length === 0) {
    const known = [...new Set(all.map((e) => e.component))].join(", ");
    throw new UserError({
      severity: "error",
      path: `plinth secrets ${env.name} ${component}`,
      message: `environment ${env.name} has no secrets for component "${component}"`,
      fix: `use one of: ${known}`,
    });
  }
  return mine;
}

/** `key` or `<secret>/<key>`: which secret of the component holds it. */
/** The one secret and key `<component> <key>` (or `<component> <secret>/<key>`) names. */
export function locateSecret(
  env: ResolvedEnvironment,
  component: string,
  key: string,
): { entry: SecretEntry; key: string } {
  const mine = componentEntries(env, component);
  const [secretName, keyName] = key.includes("/")
    ? (key.split("/", 2) as [string, string])
    : [undefined, key];
  const hits = mine.filter((e) => (!secretName || e.spec.name === secretName) && keyName in e.spec.keys);
  const choices = mine.flatMap((e) => Object.keys(e.spec.keys).map((k) => `${e.spec.name}/${k}`));
  if (hits.length !== 1) {
    throw new UserError({
      severity: "error",
      path: `plinth secrets ${env.name} ${component} ${key}`,
      message:
        hits.length === 0 ? `no key "${key}" in ${component}'s secrets` : `"${key}" is in several secrets`,
      fix: `name one of: ${choices.join(", ")}`,
    });
  }
  return { entry: hits[0] as SecretEntry, key: keyName };
}

function notWritten(path: string, env: string): UserError {
  return new UserError({
    severity: "error",
    path,
    message: "has not been written yet",
    fix: `run plinth secrets sync ${env} (or plinth apply ${env}) first`,
  });
}

/** One value, for `plinth secrets get` (the only command that prints one, on request). */
export async function getSecretValue(
  o: OperationOptions & { component: string; key: string },
): Promise<string> {
  const { entry, key } = locateSecret(o.env, o.component, o.key);
  const live = await readSecret(o.client, o.layout.mount, entry.path);
  const value = live?.data[key];
  if (value === undefined) throw notWritten(`${o.layout.mount}/${entry.path}`, o.env.name);
  return value;
}

export interface RotationResult {
  path: string;
  keys: string[];
  fromVersion: number;
  toVersion: number;
  /** Why this secret changed: `rotated`, or `derived` (a template built from a rotated key). */
  reason: "rotated" | "derived";
}

/**
 * New values for one key (or every generated key) of a component's secrets, as a new KV version:
 * the old one stays in the version history. Keys built from a rotated key by template (a
 * connection URL holding a password), in this secret or another of the environment, are rebuilt.
 */
export async function rotateSecret(
  o: OperationOptions & { component: string; key?: string; ctx: ProviderContext },
): Promise<RotationResult[]> {
  const targets: { entry: SecretEntry; keys: string[] }[] = [];
  if (o.key) {
    const { entry, key } = locateSecret(o.env, o.component, o.key);
    if (entry.spec.notRotated) {
      throw new UserError({
        severity: "error",
        path: `${entry.spec.name}/${key}`,
        message: "is not rotated by plinth",
        fix: entry.spec.notRotated,
      });
    }
    const rule = entry.spec.keys[key];
    if (rule?.fixed !== undefined || rule?.template !== undefined) {
      throw new UserError({
        severity: "error",
        path: `${entry.spec.name}/${key}`,
        message:
          rule.fixed !== undefined
            ? "is a fixed value, not a generated secret"
            : "is built from other secrets",
        fix: "rotate the generated key it is built from; plinth rebuilds it",
      });
    }
    targets.push({ entry, keys: [key] });
  } else {
    for (const entry of componentEntries(o.env, o.component)) {
      if (entry.spec.notRotated) continue;
      const keys = Object.entries(entry.spec.keys)
        .filter(([, r]) => r.fixed === undefined && r.template === undefined)
        .map(([k]) => k);
      if (keys.length) targets.push({ entry, keys });
    }
  }
  const provider = new VaultProvider({ client: o.client, env: o.env, layout: o.layout });
  const results: RotationResult[] = [];
  /** Writes a new version without `drop`'s keys: fillSecret regenerates or rebuilds them. */
  const rewrite = async (entry: SecretEntry, drop: string[], reason: RotationResult["reason"]) => {
    const path = `${o.layout.mount}/${entry.path}`;
    const live = await readSecret(o.client, o.layout.mount, entry.path);
    if (!live) throw notWritten(path, o.env.name);
    const kept = Object.fromEntries(Object.entries(live.data).filter(([k]) => !drop.includes(k)));
    const values = await provider.fill(entry.spec, kept);
    const version = await writeSecret(o.client, o.layout.mount, entry.path, values, live.version);
    await writeMetadata(
      o.client,
      o.layout.mount,
      entry.path,
      provider.marks(entry.component, entry.spec, o.ctx),
    );
    results.push({ path, keys: [...drop].sort(), fromVersion: live.version, toVersion: version, reason });
  };
  const rotated = new Set(targets.flatMap((t) => t.keys.map((k) => `${t.entry.spec.name}.${k}`)));
  /** Template keys of `entry` built from a rotated key. */
  const derivedKeys = (entry: SecretEntry) =>
    Object.entries(entry.spec.keys)
      .filter(
        ([, r]) => r.template && templateSources(r.template).some((s) => rotated.has(`${s.secret}.${s.key}`)),
      )
      .map(([k]) => k);
  for (const t of targets) await rewrite(t.entry, [...t.keys, ...derivedKeys(t.entry)], "rotated");
  for (const e of secretEntries(o.env)) {
    if (targets.some((t) => t.entry.path === e.path)) continue;
    const derived = derivedKeys(e);
    if (derived.length) await rewrite(e, derived, "derived");
  }
  return results;
}
