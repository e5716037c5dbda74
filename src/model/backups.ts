import type { BackupSettings } from "../config/schema.js";
import { AWS_CREDENTIAL_VARIABLES, PLINTH_SECRET_VARIABLES } from "../config/secret-env.js";
import { type Diagnostic, error, UserError } from "../diagnostics/diagnostic.js";
import { longestGapMs, parseCron } from "../util/cron.js";

/**
 * Where and how often one environment's PostgreSQL clusters are backed up, complete and checked.
 * No credential values: the names of the variables that fill the bucket token's Secret.
 */
export interface ResolvedBackups {
  /** Five-field cron, UTC. */
  schedule: string;
  /** The longest time between two scheduled base backups: older than this (plus grace) is late. */
  scheduleGapMs: number;
  /** Barman's retention (`30d`, `4w`, `3m`). */
  retention: string;
  bucket: string;
  endpoint: string;
  region: string;
  /** Folder of this environment in the bucket, `<path>/<env>` without slashes at the ends. */
  prefix: string;
  accessKeyIdVariable: string;
  secretAccessKeyVariable: string;
  /** A restore drill fails when it misses one of these (seconds). */
  objectives: { rpoSeconds?: number; rtoSeconds?: number };
}

const DEFAULT_RETENTION = "30d";
const DEFAULT_PATH = "backups";
/** R2 answers to any region name but signs with `auto`; AWS needs the bucket's own. */
const DEFAULT_REGION = "auto";

/** Variables the cluster must never get a copy of: plinth's own and the state backend's credentials. */
const RESERVED: ReadonlySet<string> = new Set([...PLINTH_SECRET_VARIABLES, ...AWS_CREDENTIAL_VARIABLES]);

/**
 * The environment's `backups` (defaults merged with its own), checked for completeness. Absent or
 * `enabled: false`: no backups. Every problem is a diagnostic naming the field and the fix.
 */
export function resolveBackups(
  env: string,
  settings: BackupSettings | undefined,
): { backups?: ResolvedBackups; diagnostics: Diagnostic[] } {
  if (!settings || settings.enabled === false) return { diagnostics: [] };
  const path = `environments.${env}.backups`;
  const diagnostics: Diagnostic[] = [];
  const missing = (field: string, fix: string) =>
    diagnostics.push(error("is required", { path: `${path}.${field}`, fix }));

  let scheduleGapMs = 0;
  if (settings.schedule === undefined) {
    missing("schedule", 'set schedule to a five-field cron in UTC, e.g. "0 3 * * *" (daily at 03:00)');
  } else {
    const cron = parseCron(settings.schedule);
    if (typeof cron === "string") {
      diagnostics.push(error(`is not a cron schedule: ${cron}`, { path: `${path}.schedule` }));
    } else {
      scheduleGapMs = longestGapMs(cron);
      if (!Number.isFinite(scheduleGapMs)) {
        diagnostics.push(
          error("runs once or never in two years", {
            path: `${path}.schedule`,
            fix: 'choose a schedule that runs at least weekly, e.g. "0 3 * * *"',
          }),
        );
      }
    }
  }
  const d = settings.destination ?? {};
  if (d.bucket === undefined) missing("destination.bucket", "set the bucket the backups go to");
  if (d.endpoint === undefined) {
    missing(
      "destination.endpoint",
      "set the bucket's S3 endpoint, e.g. https://<account id>.r2.cloudflarestorage.com for Cloudflare R2",
    );
  }
  const accessKeyIdVariable = variable(d.credentials?.accessKeyId, "accessKeyId", path, diagnostics);
  const secretAccessKeyVariable = variable(
    d.credentials?.secretAccessKey,
    "secretAccessKey",
    path,
    diagnostics,
  );
  if (diagnostics.length || !d.bucket || !d.endpoint || !accessKeyIdVariable || !secretAccessKeyVariable) {
    return { diagnostics };
  }
  return {
    backups: {
      schedule: (settings.schedule ?? "").trim().split(/\s+/).join(" "),
      scheduleGapMs,
      retention: settings.retention ?? DEFAULT_RETENTION,
      bucket: d.bucket,
      endpoint: d.endpoint.replace(/\/+$/, ""),
      region: d.region ?? DEFAULT_REGION,
      prefix: `${d.path ?? DEFAULT_PATH}/${env}`,
      accessKeyIdVariable,
      secretAccessKeyVariable,
      objectives: {
        ...(settings.objectives?.rpo ? { rpoSeconds: seconds(settings.objectives.rpo) } : {}),
        ...(settings.objectives?.rto ? { rtoSeconds: seconds(settings.objectives.rto) } : {}),
      },
    },
    diagnostics,
  };
}

/** `1h30m` → 5400 (the schema has checked the form). */
function seconds(text: string): number {
  const unit: Record<string, number> = { d: 86_400, h: 3_600, m: 60, s: 1 };
  return [...text.matchAll(/(\d+)([dhms])/g)].reduce(
    (n, [, v, u]) => n + Number(v) * (unit[u ?? "s"] ?? 0),
    0,
  );
}

function variable(
  ref: { fromEnv: string } | undefined,
  field: "accessKeyId" | "secretAccessKey",
  path: string,
  diagnostics: Diagnostic[],
): string | undefined {
  const where = `${path}.destination.credentials.${field}`;
  if (!ref) {
    const name = field === "accessKeyId" ? "BACKUP_S3_KEY_ID" : "BACKUP_S3_SECRET";
    diagnostics.push(
      error("is required", {
        path: where,
        fix: `set ${field}: secret.env("${name}") and export it at plan and apply: a token that can only write to this bucket`,
      }),
    );
    return undefined;
  }
  if (RESERVED.has(ref.fromEnv)) {
    diagnostics.push(
      error(`${ref.fromEnv} holds plinth's own credentials and is never copied into the cluster`, {
        path: where,
        fix: "create a separate token that can only write to the backup bucket and name its own variable, e.g. BACKUP_S3_KEY_ID",
      }),
    );
    return undefined;
  }
  return ref.fromEnv;
}

/** `plinth data clone` into an environment: its scrub SQL, inline and/or a file beside the config. */
export interface ResolvedClone {
  scrub: string[];
  /** Relative to the config file's folder; read by the command, run after the inline statements. */
  scrubFile?: string;
}

export function resolveClone(settings: NonNullable<BackupSettings["clone"]>): ResolvedClone {
  return {
    scrub: settings.scrub ?? [],
    ...(settings.scrubFile ? { scrubFile: settings.scrubFile } : {}),
  };
}

/** The databases `plinth restore` can replace: plinth's own CloudNativePG Clusters. */
export const RESTORABLE = ["platform-postgres", "postgres"] as const;
export type RestorableDatabase = (typeof RESTORABLE)[number];
export type ActiveClusters = Partial<Record<RestorableDatabase, string>>;

/** The state output naming a restored database's active Cluster (state holds names, never data). */
export const activeClusterOutput = (component: RestorableDatabase): string => `database.${component}.cluster`;

/**
 * A restored generation's Cluster name: the catalog's name and the restore's UTC time to the
 * second (`postgres-r20260501030512`), so each restore gets its own Barman server folder and a
 * later restore never collides with an earlier one.
 */
export function generationName(base: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return `${base}-r${stamp}`;
}

const GENERATION = /^-r\d{14}$/;

/** Whether `name` is a generation of `base` (or `base` itself): the only names state may set. */
export function isGenerationOf(base: string, name: string): boolean {
  return name === base || (name.startsWith(base) && GENERATION.test(name.slice(base.length)));
}

/**
 * The environment as it runs after restores: each restored database's active Cluster, read from
 * the state's outputs. Every live command (plan, apply, status, destroy, drills, GitHub) resolves
 * through this, so the next plan after a restore is at zero. A value that is not a generation name
 * of that database is refused (state edited by hand), never rendered.
 */
export function withActiveClusters<E extends { name: string; activeClusters?: ActiveClusters }>(
  env: E,
  outputs: Readonly<Record<string, string>> | undefined,
): E {
  const active: ActiveClusters = {};
  for (const component of RESTORABLE) {
    const name = outputs?.[activeClusterOutput(component)];
    if (name === undefined) continue;
    if (!isGenerationOf(component, name)) {
      throw new UserError(
        error(`names ${JSON.stringify(name)}, which is not a Cluster of ${component}`, {
          path: `state of ${env.name}: outputs["${activeClusterOutput(component)}"]`,
          fix: `set it to the Cluster ${component} runs as (${component} or ${component}-r<14 digits>), or remove it to use ${component}`,
        }),
      );
    }
    if (name !== component) active[component] = name;
  }
  return Object.keys(active).length ? { ...env, activeClusters: active } : env;
}

/**
 * The state outputs `plinth refresh` rebuilds from the Clusters the environment's ApplySet owns:
 * a restored generation that is a member is the one in use (a restore records it before its
 * switch makes it one), the newest if a removal of an older one did not finish.
 */
export function activeClusterOutputs(ownedClusters: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const component of RESTORABLE) {
    const newest = ownedClusters
      .filter((n) => n !== component && isGenerationOf(component, n))
      .sort()
      .at(-1);
    if (newest) out[activeClusterOutput(component)] = newest;
  }
  return out;
}
