import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve, sep } from "node:path";

/** The folder beside the config file where plinth keeps what must not be committed. */
export const PLINTH_DIR = ".plinth";

/**
 * Creates `dir` (and its parents) readable by its owner only. When it lies inside a `.plinth`
 * folder, that folder gets a `.gitignore` of `*`: it holds an admin kubeconfig, known hosts, the
 * encrypted unseal file, the config cache and local state, none of which belongs in git, and a
 * project whose own .gitignore forgot it would otherwise commit them on the next `git add -A`.
 */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const parts = resolve(dir).split(sep);
  const at = parts.lastIndexOf(PLINTH_DIR);
  if (at < 0) return;
  try {
    // `wx`: an existing .gitignore is the user's to keep.
    writeFileSync(join(parts.slice(0, at + 1).join(sep) || sep, ".gitignore"), "*\n", {
      flag: "wx",
      mode: 0o600,
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
}
