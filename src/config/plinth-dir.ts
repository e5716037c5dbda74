import {
  chmodSync,
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve, sep } from "node:path";

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

/**
 * A file plinth wrote for itself under `.plinth/` (a cache), read only when it is the user's own
 * and private (0600 or stricter): anyone else able to write it could change what plinth runs or
 * plans. Undefined when it is missing, unreadable or not private.
 */
export function readPrivateFile(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const stat = fstatSync(fd);
    if ((stat.mode & 0o077) !== 0 || (process.getuid && stat.uid !== process.getuid())) return undefined;
    return readFileSync(fd, "utf8");
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes a file under `.plinth/` whole or not at all (beside it, then renamed); false if it could not. */
export function writePrivateFile(path: string, data: string | Uint8Array): boolean {
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    makePrivateDir(dirname(path));
    // A folder made 0755 by an earlier plinth is tightened too.
    chmodSync(dirname(path), 0o700);
    writeFileSync(temp, data, { mode: 0o600, flag: "wx" });
    renameSync(temp, path);
    return true;
  } catch {
    rmSync(temp, { force: true });
    return false;
  }
}
