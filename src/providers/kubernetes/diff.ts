import type { FieldDiff } from "../types.js";

/** Fields the server owns or that change on every write: never part of a diff. */
const IGNORED = new Set([
  "metadata.managedFields",
  "metadata.resourceVersion",
  "metadata.generation",
  "metadata.creationTimestamp",
  "metadata.uid",
  "metadata.selfLink",
  "status",
]);

export const REDACTED = "(redacted)";

/**
 * Field-by-field differences between a live object and what the server says it would become
 * (a server-side dry run of the same apply), with secret paths' values replaced by `(redacted)`.
 */
export function diffObjects(before: unknown, after: unknown, secretPaths: string[] = []): FieldDiff[] {
  const out: FieldDiff[] = [];
  walk(before, after, "", out);
  return out.map((d) => {
    const secret = secretPaths.some((p) => d.path === p || d.path.startsWith(`${p}.`));
    if (!secret) return d;
    return {
      path: d.path,
      ...(d.before !== undefined ? { before: REDACTED } : {}),
      ...(d.after !== undefined ? { after: REDACTED } : {}),
      secret: true,
    };
  });
}

function walk(a: unknown, b: unknown, path: string, out: FieldDiff[]): void {
  if (IGNORED.has(path)) return;
  if (isObject(a) && isObject(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      walk(a[key], b[key], path ? `${path}.${key}` : key, out);
    }
    return;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  out.push({ path, ...(a !== undefined ? { before: a } : {}), ...(b !== undefined ? { after: b } : {}) });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Secret objects' values are secret wherever they appear. */
export function secretPathsOf(kind: string): string[] {
  return kind === "Secret"
    ? ["data", "stringData", "metadata.annotations.kubectl.kubernetes.io/last-applied-configuration"]
    : [];
}
