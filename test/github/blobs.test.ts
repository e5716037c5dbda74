/**
 * Blobs beside the state (the pull-request workflow's stored plans and reservations) in the local
 * backend; the S3 backend's are exercised end to end in pull-request.test.ts on the test bed's S3.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import {
  assertNotReserved,
  LocalStateBackend,
  releaseReservation,
  reservationsOf,
  reserve,
} from "../../src/state/index.js";
import { tempDir } from "../helpers/config.js";

const backend = () => new LocalStateBackend({ dir: join(tempDir(), ".plinth", "state") });

describe("state blobs (local)", () => {
  it("writes, reads, lists under a prefix and deletes; ifAbsent only takes a free key", async () => {
    const b = backend();
    expect(await b.readBlob("github/pr-1/abc/staging.json")).toBeUndefined();
    expect(await b.writeBlob("github/pr-1/abc/staging.json", "one")).toBe(true);
    expect(await b.writeBlob("github/pr-1/def/prod.json", "two")).toBe(true);
    expect(await b.writeBlob("github/pr-2/abc/staging.json", "three")).toBe(true);
    expect(await b.readBlob("github/pr-1/abc/staging.json")).toBe("one");
    expect(await b.listBlobs("github/pr-1/")).toEqual([
      "github/pr-1/abc/staging.json",
      "github/pr-1/def/prod.json",
    ]);
    expect(await b.writeBlob("github/pr-1/abc/staging.json", "other", { ifAbsent: true })).toBe(false);
    expect(await b.readBlob("github/pr-1/abc/staging.json")).toBe("one");
    await b.deleteBlob("github/pr-1/abc/staging.json");
    await b.deleteBlob("github/pr-1/abc/staging.json");
    expect(await b.listBlobs("github/pr-1/")).toEqual(["github/pr-1/def/prod.json"]);
    // Environments' state files sit beside, untouched by the blobs' folder.
    expect(existsSync(join(b.dir, "_blobs", "github", "pr-2", "abc", "staging.json"))).toBe(true);
  });

  it("refuses a key that could leave the state folder", async () => {
    const b = backend();
    await expect(b.readBlob("../escape.json")).rejects.toThrow(/not a state blob key/);
    await expect(b.writeBlob("github/../../x", "x")).rejects.toThrow(/not a state blob key/);
    await expect(b.listBlobs("/etc/")).rejects.toThrow(/not a state blob key/);
  });
});

describe("reservations held by a pull request", () => {
  const pr12 = {
    env: "staging",
    holder: "github.com/acme/platform#12",
    url: "https://github.com/acme/platform/pull/12",
    by: "bob",
    at: "2026-12-02T08:00:00.000Z",
  };

  it("is taken once; another holder is told who has it; its own runs may apply; released by its holder only", async () => {
    const b = backend();
    expect(await reserve(b, pr12)).toEqual(pr12);
    const other = {
      ...pr12,
      holder: "github.com/acme/platform#14",
      url: "https://github.com/acme/platform/pull/14",
    };
    expect(await reserve(b, other)).toEqual(pr12);
    await assertNotReserved(b, "staging", "github.com/acme/platform#12 @bob run 42");
    await expect(assertNotReserved(b, "staging", "ops@laptop")).rejects.toThrow(UserError);
    await expect(assertNotReserved(b, "staging", "ops@laptop")).rejects.toThrow(
      /environment staging is reserved by pull request https:\/\/github.com\/acme\/platform\/pull\/12 .*comment \/unlock staging on it/,
    );
    // #120 is not #12.
    await expect(assertNotReserved(b, "staging", "github.com/acme/platform#120 @eve")).rejects.toThrow(
      UserError,
    );
    expect(await reservationsOf(b, pr12.holder)).toEqual([pr12]);
    expect(await releaseReservation(b, "staging", other.holder)).toBeUndefined();
    expect(await releaseReservation(b, "staging", pr12.holder)).toEqual(pr12);
    await assertNotReserved(b, "staging", "ops@laptop");
  });
});
