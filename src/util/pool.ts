/** Maps with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * A bound on concurrent calls: the returned function runs `fn` once fewer than `limit` calls are
 * running. A finishing call hands its place straight to the next waiting one, so a newcomer never
 * slips in between and the bound always holds.
 */
export function limiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let free = limit;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (free > 0) free--;
    else await new Promise<void>((r) => waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

/**
 * Runs each item once every item `before(item)` names has finished, at most `limit` at a time.
 * Every item runs to its end (nothing is left half done); the first failure is then rethrown.
 */
export async function inDependencyOrder<T, R>(
  items: readonly T[],
  before: (item: T) => readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const bounded = limiter(limit);
  const started = new Map<T, Promise<R>>();
  const start = (item: T): Promise<R> => {
    let p = started.get(item);
    if (!p) {
      p = (async () => {
        await Promise.all(before(item).map(start));
        return bounded(() => fn(item));
      })();
      started.set(item, p);
    }
    return p;
  };
  const results = await Promise.allSettled(items.map(start));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<R>).value);
}
