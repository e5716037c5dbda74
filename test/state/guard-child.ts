/**
 * One of several processes racing through the same stale guard (see guard.test.ts): waits until
 * the agreed instant, then runs a critical section under the guard that would show any overlap
 * (a marker file created exclusively) and any lost update (a counter read, then written back).
 * Prints `broke` if this process broke the stale guard, `waited` otherwise, then `overlap` if it
 * found another process inside.
 */
import { open, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { withGuard } from "../../src/state/guard.js";

const [dir = ".", at = "0"] = process.argv.slice(2);
const guard = join(dir, "staging.lock.guard");
await new Promise((r) => setTimeout(r, Math.max(0, Number(at) - Date.now())));
let broke = false;
let overlap = false;
await withGuard(guard, { where: guard, env: "staging", onStaleBroken: () => (broke = true) }, async () => {
  const inside = join(dir, "inside");
  try {
    await (await open(inside, "wx")).close();
  } catch {
    overlap = true;
  }
  const count = Number(await readFile(join(dir, "counter"), "utf8"));
  await new Promise((r) => setTimeout(r, 10));
  await writeFile(join(dir, "counter"), String(count + 1));
  if (!overlap) await unlink(inside);
});
process.stdout.write(`${broke ? "broke" : "waited"}${overlap ? " overlap" : ""}\n`);
