import { existsSync } from "node:fs";
import { dirname } from "node:path";
import type { DrillChecks, DrillResult } from "../apply/drill.js";
import { summarizeCounts } from "../apply/drill-counts.js";
import { CANARY_OUTPUT } from "../apply/drill-vault.js";
import type { BackedUpDatabase } from "../catalog/backup-targets.js";
import { usesVault } from "../catalog/vault-layout.js";
import { readUnsealFile, unsealFilePath } from "../providers/vault/unseal-file.js";
import type { CommandContext } from "./command.js";
import type { Session } from "./session.js";

/** An empty variable counts as unset. */
const set = (v: string | undefined): string | undefined => (v ? v : undefined);

/**
 * What `plinth restore-drill` checks on each restore: row counts always; for the platform
 * PostgreSQL of an environment with Vault, the scratch Vault, unsealed with the unseal file's
 * keys (PLINTH_VAULT_PASSPHRASE) and reading the canary with VAULT_TOKEN or the file's tokens
 * (plinth's own, then root: a restore to an older time may predate plinth's current token).
 */
export async function drillChecks(
  session: Session,
  ctx: CommandContext,
  databases: readonly BackedUpDatabase[],
  outputs: Record<string, string> | undefined,
  timeoutMs: number,
): Promise<DrillChecks> {
  const checks: DrillChecks = { counts: true, timeoutMs };
  const env = session.env;
  if (!usesVault(env) || !databases.some((d) => d.component === "platform-postgres")) return checks;
  const tokens: string[] = [];
  const variable = set(ctx.env.VAULT_TOKEN);
  if (variable) tokens.push(variable);
  let keys: string[] | undefined;
  const file = unsealFilePath(dirname(session.loaded.file), env.cluster.name);
  const passphrase = set(ctx.env.PLINTH_VAULT_PASSPHRASE);
  if (passphrase && existsSync(file)) {
    const material = await readUnsealFile(file, {
      passphrase,
      cluster: env.cluster.name,
      address: `the scratch Vault of ${env.name}'s restore drill`,
      why: "unseals the restored Vault",
    });
    if (!material.recovery) keys = material.keys;
    for (const t of [material.token, material.rootToken]) if (t) tokens.push(t);
  }
  const expectedHash = outputs?.[CANARY_OUTPUT];
  checks.vault = { tokens, ...(keys ? { keys } : {}), ...(expectedHash ? { expectedHash } : {}) };
  return checks;
}

/** One word per check for the table and the state record. */
export function checkWords(r: DrillResult): { counts: string; vault: string } {
  return {
    counts: r.counts ? (r.counts.ok ? "ok" : "FAILED") : "-",
    vault: r.vault ? (r.vault.ok ? r.vault.canary : "FAILED") : "-",
  };
}

/** The lines under the table: what each check found. */
export function checkLines(r: DrillResult): string[] {
  return [
    ...(r.counts ? summarizeCounts(r.counts).map((l) => `  ${r.component}: rows: ${l}`) : []),
    ...(r.vault?.ok && r.vault.canary === "not-recorded"
      ? [
          `  ${r.component}: the scratch Vault unsealed and read the canary, but state holds no hash of it yet (plinth apply records it)`,
        ]
      : []),
  ];
}
