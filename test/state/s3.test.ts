/**
 * The S3 backend against the test bed's real S3 server (versitygw, which enforces conditional
 * writes as R2 does): the shared behaviour suite, where the objects live, the errors a user can
 * act on, and retries through a fault-injecting proxy in front of the real server.
 */
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { holdLock, LockLostError, type StateBackend, stateBackend } from "../../src/state/index.js";
import { testbedEnv } from "../testbed/env.js";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.js";
import { s3Env, s3Place, uniquePrefix } from "./s3-place.js";
import { backendBehaviour, sampleState } from "./suite.js";

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("s3 state (test bed's S3 server)", () => {
  backendBehaviour({
    name: "s3",
    fresh: async () => s3Place(),
    objectName: (env, what) =>
      new RegExp(`s3://${reEscape(testbedEnv("S3_BUCKET"))}/state-test-[^ ]*/${env}/${what}\\.json`),
  });

  const backend = (overrides: { bucket?: string; endpoint?: string; prefix?: string } = {}, env = s3Env()) =>
    stateBackend(
      {
        state: {
          backend: "s3",
          endpoint: overrides.endpoint ?? testbedEnv("S3_ENDPOINT"),
          bucket: overrides.bucket ?? testbedEnv("S3_BUCKET"),
          prefix: overrides.prefix ?? uniquePrefix(),
          region: testbedEnv("AWS_REGION"),
        },
      },
      { configDir: "/nonexistent", env, retry: { attempts: 3, baseDelayMs: 10 } },
    );

  async function failure(promise: Promise<unknown>): Promise<UserError> {
    const e = await promise.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }

  describe("objects", () => {
    it("keeps state at <prefix><env>/state.json and the lock at <prefix><env>/lock.json", async () => {
      const place = s3Place();
      const b = stateBackend(place.config, { configDir: "/", env: place.env });
      expect(b.describe()).toBe(
        `s3: ${testbedEnv("S3_ENDPOINT")}/${testbedEnv("S3_BUCKET")}/${place.prefix}`,
      );
      await b.read("staging");
      await b.write(sampleState("staging"));
      const lock = await b.lock("staging", "alice@laptop", "apply staging", 60_000);
      expect(JSON.parse((await place.readRaw("staging", "state")) ?? "")).toEqual(sampleState("staging"));
      expect(JSON.parse((await place.readRaw("staging", "lock")) ?? "")).toEqual(lock);
      await b.release(lock);
      expect(await place.readRaw("staging", "lock")).toBeUndefined();
      await place.cleanup();
    });

    it("adds the missing / to a prefix", async () => {
      const place = s3Place();
      const b = backend({ prefix: place.prefix.replace(/\/$/, "") });
      await b.read("prod");
      await b.write(sampleState("prod"));
      expect(await place.readRaw("prod", "state")).toBeDefined();
      await place.cleanup();
    });
  });

  describe("errors a user can act on", () => {
    it("missing credentials: names the bucket, the endpoint and the variables to set", () => {
      const e = (() => {
        try {
          backend({}, { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE" });
        } catch (err) {
          return err as UserError;
        }
      })();
      expect(e).toBeInstanceOf(UserError);
      expect(e?.message).toContain(
        `state.backend: is s3 (bucket ${testbedEnv("S3_BUCKET")} at ${testbedEnv("S3_ENDPOINT")}), but AWS_SECRET_ACCESS_KEY is not set`,
      );
      expect(e?.message).toContain(
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, never in the config",
      );
    });

    it("bucket not found: names it and the fix", async () => {
      const e = await failure(backend({ bucket: "no-such-bucket-plinth" }).read("staging"));
      expect(e.message).toContain(
        `bucket no-such-bucket-plinth does not exist at ${testbedEnv("S3_ENDPOINT")}`,
      );
      expect(e.message).toContain("state.bucket");
    });

    it("access denied: names the bucket and the variables, never the key", async () => {
      const wrong = "not-the-secret-0123456789";
      const e = await failure(
        backend(
          {},
          { AWS_ACCESS_KEY_ID: testbedEnv("AWS_ACCESS_KEY_ID"), AWS_SECRET_ACCESS_KEY: wrong },
        ).lock("staging", "alice@laptop", "apply", 60_000),
      );
      expect(e.message).toContain(
        `access to bucket ${testbedEnv("S3_BUCKET")} at ${testbedEnv("S3_ENDPOINT")} was denied`,
      );
      expect(e.message).toContain("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
      expect(e.message).not.toContain(wrong);
      expect(e.message).not.toContain(testbedEnv("AWS_SECRET_ACCESS_KEY"));
    });

    it("endpoint unreachable: names the endpoint and the bucket, after bounded retries", async () => {
      // A port that was just free: nothing listens there.
      const port = await new Promise<number>((resolve) => {
        const s = createServer().listen(0, "127.0.0.1", () => {
          const p = (s.address() as { port: number }).port;
          s.close(() => resolve(p));
        });
      });
      const endpoint = `http://127.0.0.1:${port}`;
      const e = await failure(backend({ endpoint }).read("staging"));
      expect(e.message).toContain(
        `cannot reach the S3 endpoint ${endpoint} for bucket ${testbedEnv("S3_BUCKET")} (ECONNREFUSED, after 3 tries)`,
      );
      expect(e.message).toContain("state.endpoint");
    });
  });

  describe("through a fault-injecting proxy in front of the real server", () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(testbedEnv("S3_ENDPOINT"));
    });
    afterAll(async () => {
      await proxy?.close();
    });
    const viaProxy = (): { b: StateBackend; place: ReturnType<typeof s3Place> } => {
      const place = s3Place({ endpoint: proxy.endpoint });
      return {
        b: stateBackend(place.config, {
          configDir: "/",
          env: place.env,
          retry: { attempts: 4, baseDelayMs: 10 },
        }),
        place,
      };
    };

    it("retries 503, 500, 429 and reset connections, and converges", async () => {
      const { b, place } = viaProxy();
      proxy.inject({ kind: "status", status: 503, code: "ServiceUnavailable" }, 1);
      proxy.inject({ kind: "status", status: 500, code: "InternalError" }, 1);
      proxy.inject({ kind: "status", status: 429, code: "SlowDown" }, 1);
      const before = proxy.seen.length;
      expect(await b.read("staging")).toBeUndefined();
      expect(proxy.seen.length - before).toBe(4);
      proxy.inject({ kind: "reset" }, 2);
      await b.write(sampleState("staging"));
      proxy.inject({ kind: "reset" }, 1);
      proxy.inject({ kind: "status", status: 503, code: "ServiceUnavailable" }, 1);
      const lock = await b.lock("staging", "alice@laptop", "apply staging", 60_000);
      expect(lock.holder).toBe("alice@laptop");
      expect(await s3Place({ prefix: place.prefix }).readRaw("staging", "state")).toBeDefined();
      await place.cleanup();
    });

    it("gives up after the bounded number of tries, naming the status", async () => {
      const { b, place } = viaProxy();
      proxy.inject({ kind: "status", status: 503, code: "ServiceUnavailable" }, 10);
      const before = proxy.seen.length;
      const e = await failure(b.read("staging"));
      expect(proxy.seen.length - before).toBe(4);
      expect(e.message).toMatch(/answered 503 ServiceUnavailable after 4 tries/);
      proxy.clear();
      await place.cleanup();
    });

    it("a conditional write whose answer was lost, retried, is recognised as its own (lock and state)", async () => {
      const { b, place } = viaProxy();
      const isPut = (what: string) => (method: string, path: string) =>
        method === "PUT" && path.includes(what);
      proxy.inject({ kind: "lose-answer" }, 1, isPut("lock.json"));
      const before = proxy.seen.length;
      const lock = await b.lock("staging", "alice@laptop", "apply staging", 60_000);
      // The create landed, its answer was lost; the retry got 412 and found its own lock.
      expect(proxy.seen.slice(before).filter((r) => r.startsWith("PUT"))).toHaveLength(2);
      expect(JSON.parse((await place.readRaw("staging", "lock")) ?? "")).toEqual(lock);
      await b.read("staging");
      proxy.inject({ kind: "lose-answer" }, 1, isPut("state.json"));
      await b.write(sampleState("staging", 1));
      proxy.inject({ kind: "lose-answer" }, 1, isPut("state.json"));
      await b.write(sampleState("staging", 2));
      expect(
        (await stateBackend(place.config, { configDir: "/", env: place.env }).read("staging"))?.owned,
      ).toHaveLength(2);
      await place.cleanup();
    });

    it("a renewal whose answer was lost, retried against its own new ETag, is recognised as its own", async () => {
      const { b, place } = viaProxy();
      const held = await holdLock(b, "staging", "alice@laptop", "apply staging", {
        ttlMs: 2_000,
        renewEveryMs: 300,
      });
      const before = proxy.seen.length;
      proxy.inject(
        { kind: "lose-answer" },
        1,
        (method, path) => method === "PUT" && path.includes("lock.json"),
      );
      await new Promise((r) => setTimeout(r, 1_000));
      // The renewal's PUT landed, its answer was lost; the retry (If-Match on the ETag read before)
      // got 412 and found its own renewal: the run keeps its lock.
      expect(proxy.seen.slice(before).filter((r) => r.startsWith("PUT")).length).toBeGreaterThanOrEqual(2);
      expect(held.signal.aborted).toBe(false);
      expect(JSON.parse((await place.readRaw("staging", "lock")) ?? "{}")).toEqual(held.lock);
      await held.release();
      expect(await place.readRaw("staging", "lock")).toBeUndefined();
      await place.cleanup();
    }, 20_000);

    it("a lock that cannot be renewed before it expires (the store unreachable) stops the run", async () => {
      const { b, place } = viaProxy();
      const held = await holdLock(b, "staging", "alice@laptop", "apply staging", {
        ttlMs: 2_000,
        renewEveryMs: 500,
      });
      const expiresAt = held.lock.expiresAt;
      proxy.inject({ kind: "status", status: 503, code: "ServiceUnavailable" }, 10_000, (_, path) =>
        path.includes("lock.json"),
      );
      await new Promise((resolve) => held.signal.addEventListener("abort", resolve, { once: true }));
      proxy.clear();
      // Given up before its term ended: after it, another run may take the lock.
      expect(Date.now()).toBeLessThan(Date.parse(expiresAt));
      expect(held.signal.reason).toBeInstanceOf(LockLostError);
      expect((held.signal.reason as Error).message).toMatch(
        new RegExp(
          `lost the lock of staging: could not renew it before it expired at ${reEscape(expiresAt)} \\(.*503 ServiceUnavailable`,
        ),
      );
      await held.release();
      await place.cleanup();
    }, 20_000);
  });
});
