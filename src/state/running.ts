import { type ActiveClusters, withActiveClusters } from "../model/backups.js";
import type { StateBackend } from "./types.js";

/**
 * The environment as it runs: each restored database's generation as its state records (plinth
 * restore), so every live command renders what is really there. Read before anything is touched:
 * unreadable state stops the command there.
 */
export async function runningFromState<E extends { name: string; activeClusters?: ActiveClusters }>(
  state: Pick<StateBackend, "read">,
  env: E,
): Promise<E> {
  return withActiveClusters(env, (await state.read(env.name))?.outputs);
}
