/**
 * The behaviour every state backend must have, written once and run against each (local files,
 * the test bed's S3 server): read-back, atomic and lost-update-safe writes, the lock and its
 * races, damaged content, and the secret guard.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/schema.js";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { holdLock, LockLostError, stateBackend } from "../../src/state/index.js";
import type { EnvironmentState, LockInfo, StateBackend } from "../../src/state/types.js";
import { SecretInStateError } from "../../src/state/validate.js";

/** One isolated place to keep state (a fresh folder, a fresh key prefix) and raw access to it. */
export interface Place {
  config: Pick<Config, "state">;
  configDir: string;
  env: Record<string, string | undefined>;
  /** Writes an object as-is, bypassing plinth (damaged or foreign content). */
  writeRaw(env: string, what: "state" | "lock", text: string): Promise<void>;
  readRaw(env: string, what: "state" | "lock"): Promise<string | undefined>;
  cleanup(): Promise<void>;
}

export interface Harness {
  name: string;
  fresh(): Promise<Place>;
  /** Matches how the backend names an environment's objects in messages. */
  objectName(env: string, what: "state" | "lock"): RegExp;
}

/** A new backend instance for the place, built the way the CLI builds it. */
export function open(place: Place): StateBackend {
  return stateBackend(place.config, { configDir: place.configDir, env: place.env });
}

export function sampleState(env: string, n = 1): EnvironmentState {
  return {
    version: 1,
    env,
    owned: Array.from({ length: n }, (_, i) => `kubernetes:v1:ConfigMap:data-${env}/cm-${i}`),
    applied: [
      {
        hash: "a".repeat(64),
        who: "alice@laptop",
        startedAt: "2026-01-02T03:04:05.000Z",
        finishedAt: "2026-01-02T03:05:00.000Z",
        outcome: "applied",
        changes: n,
      },
    ],
    outputs: { frontend: `x-${env}.example.com`, kubeconfig: ".plinth/kubeconfig/staging.yaml" },
  };
}

async function userError(promise: Promise<unknown>): Promise<UserError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, "expected a UserError").toBeInstanceOf(UserError);
  return e as UserError;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CHILD = fileURLToPath(new URL("./lock-child.ts", import.meta.url));

/** Runs `count` real processes that each try to take `env`'s lock at the same instant. */
async function lockInProcesses(place: Place, env: string, count: number): Promise<string[]> {
  const at = Date.now() + 2_500; // all start together, after their (slow) module loading
  const spec = JSON.stringify({ config: place.config, configDir: place.configDir, env, at });
  const runs = Array.from({ length: count }, (_, i) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, spec, `proc-${i}`], {
      env: { ...process.env, ...place.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    return new Promise<string>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) =>
        code === 0 ? resolve(out.trim()) : reject(new Error(`lock child exited ${code}: ${err}`)),
      );
    });
  });
  return Promise.all(runs);
}

export function backendBehaviour(harness: Harness): void {
  describe(`state backend: ${harness.name}`, () => {
    const places: Place[] = [];
    const fresh = async () => {
      const place = await harness.fresh();
      places.push(place);
      return place;
    };
    afterEach(async () => {
      for (const place of places.splice(0)) await place.cleanup();
    });

    describe("state", () => {
      it("reads nothing for an environment never written", async () => {
        expect(await open(await fresh()).read("staging")).toBeUndefined();
      });

      it("reads back exactly what was written, from another instance", async () => {
        const place = await fresh();
        const a = open(place);
        expect(await a.read("staging")).toBeUndefined();
        await a.write(sampleState("staging"));
        expect(await open(place).read("staging")).toEqual(sampleState("staging"));
        // And the same instance may write again after its own write.
        const next = { ...sampleState("staging", 3), outputs: { b: "2", a: "1" } };
        await a.write(next);
        expect(await open(place).read("staging")).toEqual(next);
        expect(await place.readRaw("staging", "state")).toContain('"a": "1",\n    "b": "2"');
      });

      it("keeps environments apart", async () => {
        const place = await fresh();
        const b = open(place);
        await b.read("staging");
        await b.read("prod");
        await b.write(sampleState("staging", 1));
        await b.write(sampleState("prod", 2));
        const again = open(place);
        expect((await again.read("staging"))?.owned).toHaveLength(1);
        expect((await again.read("prod"))?.owned).toHaveLength(2);
      });

      it("writes atomically: a reader during many writes always sees a whole state", async () => {
        const place = await fresh();
        const writer = open(place);
        await writer.read("staging");
        await writer.write(sampleState("staging", 500));
        let writing = true;
        const writes = (async () => {
          for (let i = 0; i < 15; i++) await writer.write(sampleState("staging", 400 + (i % 2) * 200));
          writing = false;
        })();
        const reader = open(place);
        let reads = 0;
        while (writing) {
          const state = await reader.read("staging");
          expect([400, 500, 600]).toContain(state?.owned.length);
          reads++;
        }
        await writes;
        expect(reads).toBeGreaterThan(0);
      });

      it("refuses a lost update: a run that read an older state cannot overwrite a newer one", async () => {
        const place = await fresh();
        const first = open(place);
        await first.read("staging");
        await first.write(sampleState("staging", 1));
        const a = open(place);
        const b = open(place);
        await a.read("staging");
        await b.read("staging");
        await a.write(sampleState("staging", 2));
        const e = await userError(b.write(sampleState("staging", 3)));
        expect(e.message).toMatch(/state of environment staging changed since this run read it/);
        expect(e.message).toMatch(harness.objectName("staging", "state"));
        expect((await open(place).read("staging"))?.owned).toHaveLength(2);
      });

      it("refuses a blind write over an existing state (write without read)", async () => {
        const place = await fresh();
        const a = open(place);
        await a.read("staging");
        await a.write(sampleState("staging", 1));
        await userError(open(place).write(sampleState("staging", 9)));
        expect((await open(place).read("staging"))?.owned).toHaveLength(1);
      });

      it("refuses two racing first writes but one", async () => {
        const place = await fresh();
        const writers = Array.from({ length: 4 }, () => open(place));
        for (const w of writers) await w.read("staging");
        const results = await Promise.allSettled(
          writers.map((w, i) => w.write(sampleState("staging", i + 1))),
        );
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(UserError);
      });

      it("names the object when the stored state is damaged, foreign, misplaced or from a newer plinth", async () => {
        const place = await fresh();
        const cases: [string, RegExp][] = [
          ['{"version": 1, "env": "stag', /not valid JSON/],
          ['{"kind": "terraform", "serial": 4}', /is not plinth state/],
          [JSON.stringify({ ...sampleState("staging"), owned: "all" }), /owned: /],
          [JSON.stringify(sampleState("prod")), /holds the state of environment prod, not staging/],
          [JSON.stringify({ ...sampleState("staging"), version: 2 }), /format version 2.*newer plinth/],
        ];
        for (const [text, message] of cases) {
          await place.writeRaw("staging", "state", text);
          const e = await userError(open(place).read("staging"));
          expect(e.message).toMatch(message);
          expect(e.message).toMatch(harness.objectName("staging", "state"));
        }
      });

      it("never writes a secret: by key or by shape, naming the path and not the value", async () => {
        const place = await fresh();
        const a = open(place);
        await a.read("staging");
        await a.write(sampleState("staging"));
        const token = `hvs.${"Q3x9".repeat(8)}`;
        const pem =
          "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
        const bad: EnvironmentState[] = [
          { ...sampleState("staging"), outputs: { vaultRootToken: "0123456789abcdef" } },
          { ...sampleState("staging"), outputs: { note: token } },
          { ...sampleState("staging"), outputs: { sshKey: pem } },
          { ...sampleState("staging"), outputs: { db: "postgres://app:s3cr3tpw@db.example.com/app" } },
          { ...sampleState("staging"), outputs: { adminPassword: "change-me" } },
        ];
        for (const state of bad) {
          const e = await a.write(state).then(
            () => undefined,
            (err: unknown) => err as Error,
          );
          expect(e).toBeInstanceOf(SecretInStateError);
          expect(e?.message).toMatch(/outputs\.\w+ looks like/);
          for (const value of Object.values(state.outputs)) expect(e?.message).not.toContain(value);
        }
        expect(await open(place).read("staging")).toEqual(sampleState("staging"));
      });

      it("refuses environment names that would escape the state's folder or prefix", async () => {
        const b = open(await fresh());
        await userError(b.read("../prod"));
        await userError(b.lock("a/b", "alice@laptop", "apply", 60_000));
      });
    });

    describe("lock", () => {
      it("blocks a second run, naming the holder, what it runs, since and until when", async () => {
        const place = await fresh();
        const held = await open(place).lock("staging", "alice@laptop", "apply staging", 60_000);
        expect(held).toMatchObject({ env: "staging", holder: "alice@laptop", operation: "apply staging" });
        expect(Date.parse(held.expiresAt) - Date.parse(held.acquiredAt)).toBe(60_000);
        const e = await userError(open(place).lock("staging", "bob@ci", "apply staging", 60_000));
        expect(e.message).toContain(
          `environment staging is locked by alice@laptop (apply staging) since ${held.acquiredAt}, until ${held.expiresAt}`,
        );
        expect(e.message).toContain(
          "(wait for it to finish, or run plinth unlock staging if that run is dead)",
        );
        expect(e.message).toMatch(harness.objectName("staging", "lock"));
        // Other environments are not affected.
        await open(place).lock("prod", "bob@ci", "apply prod", 60_000);
      });

      it("releases only by id: a release with someone else's id leaves the lock", async () => {
        const place = await fresh();
        const held = await open(place).lock("staging", "alice@laptop", "apply staging", 60_000);
        const forged: LockInfo = { ...held, id: "0".repeat(32) };
        await open(place).release(forged);
        await userError(open(place).lock("staging", "bob@ci", "apply staging", 60_000));
        await open(place).release(held);
        const next = await open(place).lock("staging", "bob@ci", "apply staging", 60_000);
        expect(next.holder).toBe("bob@ci");
        expect(next.id).not.toBe(held.id);
      });

      it("lets an expired lock be taken over; the old holder's release then leaves the new lock", async () => {
        const place = await fresh();
        const old = await open(place).lock("staging", "alice@laptop", "apply staging", 30);
        await sleep(60);
        const taken = await open(place).lock("staging", "bob@ci", "apply staging", 60_000);
        expect(taken.holder).toBe("bob@ci");
        await open(place).release(old);
        const e = await userError(open(place).lock("staging", "carol@desk", "apply staging", 60_000));
        expect(e.message).toContain("locked by bob@ci");
      });

      it("of many concurrent lockers exactly one wins; the rest are told who holds it", async () => {
        const place = await fresh();
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) =>
            open(place).lock("staging", `user${i}@host`, "apply staging", 60_000),
          ),
        );
        const won = results.filter((r) => r.status === "fulfilled");
        expect(won).toHaveLength(1);
        const winner = (won[0] as PromiseFulfilledResult<LockInfo>).value.holder;
        for (const r of results) {
          if (r.status === "rejected") expect((r.reason as Error).message).toContain(`locked by ${winner}`);
        }
      });

      it("of many concurrent takers of one expired lock exactly one wins", async () => {
        const place = await fresh();
        await open(place).lock("staging", "dead@host", "apply staging", 20);
        await sleep(50);
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) =>
            open(place).lock("staging", `user${i}@host`, "apply staging", 60_000),
          ),
        );
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(UserError);
      });

      it("of lockers in separate processes exactly one wins", async () => {
        const place = await fresh();
        const outcomes = await lockInProcesses(place, "staging", 3);
        expect(outcomes.filter((o) => o.startsWith("won"))).toHaveLength(1);
        expect(outcomes.filter((o) => o.startsWith("held"))).toHaveLength(2);
        const lock = JSON.parse((await place.readRaw("staging", "lock")) ?? "{}") as LockInfo;
        expect(outcomes).toContain(`won ${lock.holder}`);
      }, 60_000);

      it("plinth unlock's forceUnlock removes any lock and says whose it was", async () => {
        const place = await fresh();
        expect(await open(place).forceUnlock("staging")).toBeUndefined();
        const held = await open(place).lock("staging", "alice@laptop", "apply staging", 60_000);
        expect(await open(place).forceUnlock("staging")).toEqual(held);
        expect(await place.readRaw("staging", "lock")).toBeUndefined();
        await open(place).lock("staging", "bob@ci", "apply staging", 60_000);
      });

      it("renewal: a run that outlives its lock's first term still holds it", async () => {
        const place = await fresh();
        const held = await holdLock(open(place), "staging", "alice@laptop", "apply staging", {
          ttlMs: 2_000,
          renewEveryMs: 500,
        });
        const first = held.lock;
        await sleep(3_000); // past the first term's end
        expect(Date.parse(first.expiresAt)).toBeLessThan(Date.now());
        const e = await userError(open(place).lock("staging", "bob@ci", "apply staging", 60_000));
        expect(e.message).toContain("environment staging is locked by alice@laptop (apply staging)");
        expect(held.signal.aborted).toBe(false);
        expect(held.lock.id).toBe(first.id);
        expect(Date.parse(held.lock.expiresAt)).toBeGreaterThan(Date.now());
        const stored = JSON.parse((await place.readRaw("staging", "lock")) ?? "{}") as LockInfo;
        expect(stored).toEqual(held.lock);
        await held.release();
        expect(await place.readRaw("staging", "lock")).toBeUndefined();
        await open(place).lock("staging", "bob@ci", "apply staging", 60_000);
      }, 20_000);

      it("renewal: a lock taken over stops the run, saying by whom; its release leaves the new lock", async () => {
        const place = await fresh();
        const held = await holdLock(open(place), "staging", "alice@laptop", "apply staging", {
          ttlMs: 2_000,
          renewEveryMs: 500,
        });
        // Another run's lock lands in its place in one write (as a takeover after expiry does).
        const now = new Date();
        const bob: LockInfo = {
          env: "staging",
          holder: "bob@ci",
          operation: "apply staging",
          acquiredAt: now.toISOString(),
          expiresAt: new Date(now.getTime() + 60_000).toISOString(),
          id: "b".repeat(32),
        };
        await place.writeRaw("staging", "lock", JSON.stringify(bob));
        const reason = await new Promise<unknown>((resolve) =>
          held.signal.addEventListener("abort", () => resolve(held.signal.reason), { once: true }),
        );
        expect(reason).toBeInstanceOf(LockLostError);
        expect((reason as Error).message).toContain(
          `lost the lock of staging: it was taken over by bob@ci (apply staging) since ${bob.acquiredAt}`,
        );
        expect((reason as Error).message).toMatch(harness.objectName("staging", "lock"));
        await held.release();
        expect(JSON.parse((await place.readRaw("staging", "lock")) ?? "{}")).toEqual(bob);
      }, 20_000);

      it("renewal: a lock removed under the run stops it", async () => {
        const place = await fresh();
        const held = await holdLock(open(place), "staging", "alice@laptop", "apply staging", {
          ttlMs: 2_000,
          renewEveryMs: 300,
        });
        await open(place).forceUnlock("staging");
        await new Promise((resolve) => held.signal.addEventListener("abort", resolve, { once: true }));
        expect((held.signal.reason as Error).message).toContain(
          "lost the lock of staging: its lock was removed (plinth unlock?)",
        );
        await held.release();
        expect(await place.readRaw("staging", "lock")).toBeUndefined();
      }, 20_000);

      it("a damaged lock blocks with a clear message, and unlock clears it", async () => {
        const place = await fresh();
        await place.writeRaw("staging", "lock", "{not json");
        const e = await userError(open(place).lock("staging", "bob@ci", "apply staging", 60_000));
        expect(e.message).toMatch(/lock of environment staging is damaged/);
        expect(e.message).toContain("plinth unlock staging");
        expect(e.message).toMatch(harness.objectName("staging", "lock"));
        expect((await open(place).forceUnlock("staging"))?.holder).toMatch(/unknown/);
        await open(place).lock("staging", "bob@ci", "apply staging", 60_000);
      });
    });
  });
}
