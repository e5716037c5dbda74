import * as z from "zod";
import { ALWAYS_SECRET, findLiteralSecrets } from "../config/secret-ref.js";
import { type Diagnostic, UserError, warning } from "../diagnostics/diagnostic.js";
import type { EnvironmentState, LockInfo } from "./types.js";

const ENV_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const isoTime = z.iso.datetime({ offset: true });

const appliedPlanSchema = z.strictObject({
  hash: z.string().min(1),
  who: z.string().min(1),
  startedAt: isoTime,
  finishedAt: isoTime.optional(),
  outcome: z.enum(["applied", "failed", "interrupted"]),
  changes: z.number().int().nonnegative(),
});

export const environmentStateSchema = z.strictObject({
  version: z.literal(1),
  env: z.string().regex(ENV_NAME, "must be an environment name"),
  owned: z.array(z.string().min(1)),
  applied: z.array(appliedPlanSchema),
  outputs: z.record(z.string(), z.string()),
});

export const lockInfoSchema = z.strictObject({
  env: z.string().regex(ENV_NAME, "must be an environment name"),
  holder: z.string().min(1),
  operation: z.string(),
  acquiredAt: isoTime,
  expiresAt: isoTime,
  id: z.string().min(8),
});

/** Where a piece of state lives, for messages: a file path or an `s3://bucket/key` URL. */
export interface StateObject {
  /** `.plinth/state/staging.json` or `s3://bucket/plinth/staging/state.json`. */
  where: string;
  env: string;
}

/** An environment name is used in file names and object keys: refuse anything that could escape them. */
export function assertEnvName(env: string): void {
  if (!ENV_NAME.test(env)) {
    throw new UserError({
      severity: "error",
      path: `environment "${env}"`,
      message: "is not a valid environment name for state",
      fix: "use a lower-case DNS label such as staging",
    });
  }
}

function issues(error: z.ZodError): string {
  const first = error.issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join(".") || "(top level)"}: ${i.message}`);
  const more = error.issues.length > 3 ? `, and ${error.issues.length - 3} more` : "";
  return `${first.join("; ")}${more}`;
}

/**
 * Parses state read back from storage. Damaged or foreign content is the user's to fix (it was
 * edited, truncated, or written by something else), so it is a UserError naming the object.
 */
export function parseState(text: string, object: StateObject): EnvironmentState {
  const recover = `move it aside and run plinth refresh ${object.env} to rebuild it from the cluster's ownership labels`;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UserError({
      severity: "error",
      path: object.where,
      message: `state of environment ${object.env} is not valid JSON (damaged or truncated)`,
      fix: recover,
    });
  }
  const version = (raw as { version?: unknown } | null)?.version;
  if (raw && typeof raw === "object" && typeof version === "number" && version > 1) {
    throw new UserError({
      severity: "error",
      path: object.where,
      message: `state of environment ${object.env} has format version ${version}, written by a newer plinth`,
      fix: "upgrade plinth to the version that wrote it",
    });
  }
  const parsed = environmentStateSchema.safeParse(raw);
  if (!parsed.success) {
    throw new UserError({
      severity: "error",
      path: object.where,
      message: `is not plinth state (${issues(parsed.error)})`,
      fix: recover,
    });
  }
  if (parsed.data.env !== object.env) {
    throw new UserError({
      severity: "error",
      path: object.where,
      message: `holds the state of environment ${parsed.data.env}, not ${object.env}`,
      fix: `put ${parsed.data.env}'s state back where it belongs, or ${recover}`,
    });
  }
  return parsed.data as EnvironmentState;
}

/** Parses a lock read back from storage; a damaged lock names the object and how to clear it. */
export function parseLock(text: string, object: StateObject): LockInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const parsed = lockInfoSchema.safeParse(raw);
  if (!parsed.success || parsed.data.env !== object.env) {
    throw new UserError({
      severity: "error",
      path: object.where,
      message: `the lock of environment ${object.env} is damaged or not plinth's${parsed.success ? "" : ` (${issues(parsed.error)})`}`,
      fix: `if no plinth run is using ${object.env}, run plinth unlock ${object.env}`,
    });
  }
  return parsed.data;
}

// Shapes that are only ever a credential (ALWAYS_SECRET, shared with the config's check): no host,
// id or name plinth writes can take them.
// Token shapes a name can also have by chance (`s.` and 24 letters, `xoxb-…`), each bounded so a
// longer dotted name (`r.mycompanyproductionservices.com`) is not taken for a token inside it.
const TOKEN_SHAPES: readonly [string, RegExp][] = [
  ["an AWS access key id", /\b(AKIA|ASIA)[A-Z0-9]{16}\b/],
  // 40 characters of base64 with upper, lower and digits: hex digests and names have no capitals.
  [
    "an AWS secret access key",
    /(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/,
  ],
  ["a GitHub token", /\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})\b/],
  // Current tokens: `hvs.`/`hvb.`/`hvr.` and 90-odd characters; legacy ones: `s.` and exactly 24.
  [
    "a Vault or OpenBao token",
    /(?<![A-Za-z0-9_.-])(hv[sbr]\.[A-Za-z0-9_-]{24,}|[sbr]\.[A-Za-z0-9]{24})(?![A-Za-z0-9_.-])/,
  ],
  ["a Slack token", /\bxox[abposr]-[A-Za-z0-9-]{10,}/],
];

/** A DNS name as plinth renders hosts (lower case): an identifier, never a credential. */
const HOST = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+\.?$/;

export interface SecretFinding {
  /** Dotted path in the state, e.g. `outputs.vaultToken`. */
  path: string;
  /** What it looks like (never the value). */
  looksLike: string;
  /** `error`: refused. `warning`: a host or id with a token's shape, written and said. */
  severity: "error" | "warning";
}

/**
 * What plinth writes into state is typed (types.ts), so each field is judged for what it can hold:
 * - `version`, `env`, times, `outcome`, `changes`: checked by the schema, nothing to scan;
 * - identifiers: `owned` (ids plinth builds from object identities), `applied[].hash`, and output
 *   values that are host names (`host.vault`): a token shape there is a name that happens to look
 *   like one, so a warning; a private key, JWT or URL with a password never is a name, so an error;
 * - free text: `applied[].who` (the holder, from `PLINTH_HOLDER` or CI) and the other outputs,
 *   keys included: any credential shape is an error. Outputs are a free-form record, so their keys
 *   are also judged as config keys are (`rootToken: …`, a `change-me` value); the holder is a name,
 *   so a placeholder-looking one (`<ci>`) is fine.
 */
function scanState(state: EnvironmentState): SecretFinding[] {
  const findings: SecretFinding[] = findLiteralSecrets(state.outputs, ["outputs"]).map((s) => ({
    path: s.path,
    looksLike: s.looksLike ?? (s.kind === "literal" ? "a secret (by its key)" : "a placeholder password"),
    severity: "error" as const,
  }));
  const judge = (value: string, path: string, identifier: boolean): void => {
    const always = ALWAYS_SECRET.find(([, re]) => re.test(value));
    if (always) {
      findings.push({ path, looksLike: always[0], severity: "error" });
      return;
    }
    const token = TOKEN_SHAPES.find(([, re]) => re.test(value));
    if (token) findings.push({ path, looksLike: token[0], severity: identifier ? "warning" : "error" });
  };
  for (const [i, id] of state.owned.entries()) judge(id, `owned.${i}`, true);
  for (const [i, plan] of state.applied.entries()) {
    judge(plan.hash, `applied.${i}.hash`, true);
    judge(plan.who, `applied.${i}.who`, false);
  }
  for (const [key, value] of Object.entries(state.outputs)) {
    judge(key, `outputs.(key ${key.length > 40 ? `${key.slice(0, 8)}…` : key})`, false);
    judge(value, `outputs.${key}`, HOST.test(value));
  }
  const seen = new Set<string>();
  return findings.filter((f) => !seen.has(f.path) && seen.add(f.path));
}

/** Every value in a state that is refused: a secret by its key, or by its shape in free text. */
export function findSecretsInState(state: EnvironmentState): SecretFinding[] {
  return scanState(state).filter((f) => f.severity === "error");
}

/** Hosts and ids written although they have a token's shape, said after the write. */
export function stateWarnings(state: EnvironmentState, where: string): Diagnostic[] {
  return scanState(state)
    .filter((f) => f.severity === "warning")
    .map((f) =>
      warning(`${f.path} has the shape of ${f.looksLike}; written, as it is a host or id, not a secret`, {
        path: where,
        fix: "nothing to do if it is a name from your config; if it is a credential, take it out of the config",
      }),
    );
}

/** Thrown when plinth itself tried to store a secret: a bug in plinth, never the user's input. */
export class SecretInStateError extends Error {
  constructor(
    readonly env: string,
    readonly findings: readonly SecretFinding[],
  ) {
    super(
      `refused to write the state of environment ${env}: ${findings
        .map((f) => `${f.path} looks like ${f.looksLike}`)
        .join("; ")} (state never holds secret values; they belong in the secret store)`,
    );
    this.name = "SecretInStateError";
  }
}

/**
 * Checks a state before it is written: the right shape, and no secret values. Writing a malformed
 * state or a secret is a bug in plinth, so these throw plain errors, never UserError.
 */
export function checkStateForWrite(state: EnvironmentState): string {
  assertEnvName(state.env);
  const parsed = environmentStateSchema.safeParse(state);
  if (!parsed.success) {
    throw new Error(`refused to write a malformed state for ${state.env}: ${issues(parsed.error)}`);
  }
  const secrets = findSecretsInState(state);
  if (secrets.length > 0) throw new SecretInStateError(state.env, secrets);
  // Deterministic bytes: outputs in key order (the rest follows the schema's order).
  const outputs = Object.fromEntries(
    Object.entries(parsed.data.outputs).sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  return `${JSON.stringify({ ...parsed.data, outputs }, null, 2)}\n`;
}
