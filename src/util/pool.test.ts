import { describe, expect, it } from "vitest";
import { inDependencyOrder, limiter } from "./pool.js";

const tick = () => new Promise((r) => setTimeout(r, 1));

describe("bounded concurrency", () => {
  it("a limiter never runs more than its limit at once, newcomers included", async () => {
    const bounded = limiter(2);
    let running = 0;
    let most = 0;
    const job = () =>
      bounded(async () => {
        most = Math.max(most, ++running);
        await tick();
        running--;
      });
    await Promise.all(Array.from({ length: 10 }, job));
    expect(most).toBe(2);
  });

  it("runs items after those they depend on, finishes all, then rethrows the first failure", async () => {
    const order: string[] = [];
    const deps: Record<string, string[]> = { a: [], b: ["a"], c: ["a"], d: ["b", "c"] };
    const result = await inDependencyOrder(
      Object.keys(deps),
      (x) => deps[x] ?? [],
      2,
      async (x) => {
        await tick();
        order.push(x);
        return x.toUpperCase();
      },
    );
    expect(result).toEqual(["A", "B", "C", "D"]);
    expect(order[0]).toBe("a");
    expect(order[3]).toBe("d");

    const ran: string[] = [];
    await expect(
      inDependencyOrder(
        ["x", "y"],
        () => [],
        1,
        async (x) => {
          ran.push(x);
          if (x === "x") throw new Error("x failed");
        },
      ),
    ).rejects.toThrow("x failed");
    expect(ran).toEqual(["x", "y"]);
  });
});
