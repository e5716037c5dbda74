/**
 * `plinth data clone <source> <target>`: the source's latest backup of the business database
 * restored into a new generation of the target's, with the target's own credentials, and the
 * target's scrub SQL run in it before any consumer is switched to it. A restore from another
 * environment plus the scrub: the same path (apply/restore.ts), so the old database stays in use
 * until the scrubbed copy is ready. Only the business database: the platform one is Vault's
 * storage, encrypted with the source's keys, and of no use to another environment.
 */
import { scrubObjects, scrubScript } from "../catalog/restore.js";
import { error, UserError } from "../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { planRestore, type RestoreStep } from "./restore.js";

export interface CloneRequest {
  source: ResolvedEnvironment;
  target: ResolvedEnvironment;
  /** The scrub statements: the target's `backups.clone.scrub`, then its `scrubFile`'s content. */
  scrub: readonly string[];
  credentials: { accessKeyId: string; secretAccessKey: string };
  at: Date;
}

/** The clone's one step, or a UserError saying why it cannot be done. Pure. */
export function planClone(r: CloneRequest): RestoreStep {
  if (r.source.name === r.target.name) {
    throw new UserError(
      error(`the source and the target are both ${r.source.name}`, {
        path: "plinth data clone",
        fix: `name another environment as the target, e.g. plinth data clone ${r.source.name} staging; to restore ${r.source.name} from its own backups use plinth restore`,
      }),
    );
  }
  for (const [env, role] of [
    [r.source, "source"],
    [r.target, "target"],
  ] as const) {
    const c = env.components.postgres;
    if (!c.enabled || c.placement.kind !== "local") {
      throw new UserError(
        error(`the ${role} ${env.name} runs no business PostgreSQL of its own`, {
          path: `environments.${env.name}.components.postgres`,
          fix: "clone between environments that both run the postgres component on their cluster",
        }),
      );
    }
  }
  const [step] = planRestore({
    env: r.target,
    components: ["postgres"],
    from: { kind: "environment", env: r.source, credentials: r.credentials },
    at: r.at,
  });
  if (!step) throw new Error("planRestore returned no step for postgres");
  const next = { ...r.target, activeClusters: { ...r.target.activeClusters, postgres: step.next } };
  const script = scrubScript(r.scrub, { source: r.source.name, target: r.target.name });
  return { ...step, scrub: scrubObjects(next, "postgres", script) };
}
