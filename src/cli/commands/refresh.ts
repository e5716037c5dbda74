import { activeClusterOutputs } from "../../model/backups.js";
import { parseIdentity } from "../../providers/kubernetes/identity.js";
import { defineCommand } from "../command.js";
import { requireEnvArg } from "../load.js";
import { ownedIds } from "../run-plan.js";
import { openSession } from "../session.js";

/** The CloudNativePG Clusters among owned object ids. */
function ownedClusters(ids: readonly string[]): string[] {
  return ids
    .filter((id) => id.startsWith("kubernetes:postgresql.cnpg.io/v1:Cluster:"))
    .map((id) => parseIdentity(id).name);
}

export const refresh = defineCommand({
  name: "refresh",
  summary: "Rebuild an environment's state from the cluster (its ApplySet members are the truth)",
  usage: "plinth refresh <env> [--config PATH]",
  options: {},
  positionals: ["env"],
  async handler(args, ctx) {
    const session = await openSession(args, ctx, requireEnvArg(args, "refresh"));
    const owned = await ownedIds(session);
    const previous = await session.state.read(session.env.name);
    await session.state.write({
      version: 1,
      env: session.env.name,
      owned,
      applied: previous?.applied ?? [],
      // A restored database's generation is known from the Cluster the ApplySet owns, state or not.
      outputs: { ...(previous?.outputs ?? {}), ...activeClusterOutputs(ownedClusters(owned)) },
    });
    ctx.stdout(`${session.env.name}: ${owned.length} objects owned (state at ${session.state.describe()})\n`);
    return 0;
  },
});
