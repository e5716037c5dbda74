/**
 * unzipEntry against archives made by Debian's Info-ZIP `zip` (a real ZIP writer): seekable
 * output (sizes in the local header) and streamed output to a pipe (sizes only after the data
 * and in the central directory, as actions/upload-artifact writes its archives), stored and
 * deflated; then the refusals for data that is not to be trusted.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UnzipError, unzipEntry, zipEntries } from "../../src/util/unzip.js";

const dir = mkdtempSync(join(tmpdir(), "plinth-unzip-"));
const text = `${JSON.stringify({ body: "é ".repeat(5000) })}\n`;
writeFileSync(join(dir, "plinth-comment.json"), text);
writeFileSync(join(dir, "noise.bin"), randomBytes(3000));

/** Info-ZIP: `zip` to a file, or to stdout through a pipe (streamed: data descriptors). */
function zip(args: string[], streamed = false): Buffer {
  if (!streamed) {
    const out = join(dir, `${randomBytes(4).toString("hex")}.zip`);
    execFileSync("zip", ["-q", ...args, out, "plinth-comment.json", "noise.bin"], { cwd: dir });
    return readFileSync(out);
  }
  return execFileSync("sh", ["-c", `zip -q ${args.join(" ")} - plinth-comment.json noise.bin | cat`], {
    cwd: dir,
    maxBuffer: 1 << 24,
  });
}

describe("unzipEntry", () => {
  for (const [what, archive] of [
    ["deflated", () => zip([])],
    ["stored", () => zip(["-0"])],
    ["deflated, streamed (data descriptors)", () => zip([], true)],
  ] as const) {
    it(`reads the one file it is asked for: ${what}`, () => {
      const z = archive();
      expect(zipEntries(z).map((e) => e.name)).toEqual(["plinth-comment.json", "noise.bin"]);
      expect(unzipEntry(z, "plinth-comment.json", 1 << 20)?.toString("utf8")).toBe(text);
      expect(unzipEntry(z, "missing.json", 1 << 20)).toBeUndefined();
    });
  }

  it("refuses an entry larger than the cap, before and while inflating", () => {
    const z = zip([]);
    expect(() => unzipEntry(z, "plinth-comment.json", 1000)).toThrow(/more than 1000/);
    // A directory that lies about the size: inflating stops at the cap all the same.
    const lying = Buffer.from(z);
    const entry = zipEntries(lying)[0];
    if (!entry) throw new Error("no entry");
    const end = lying.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    const central = lying.readUInt32LE(end + 16);
    lying.writeUInt32LE(10, central + 24);
    expect(() => unzipEntry(lying, "plinth-comment.json", 1000)).toThrow(/does not inflate within 1000/);
  });

  it("refuses what is not a sound archive", () => {
    expect(() => unzipEntry(Buffer.from("not a zip at all"), "x", 100)).toThrow(UnzipError);
    const z = zip(["-0"]);
    // One byte of the stored file changed: its CRC-32 no longer holds.
    const at = z.indexOf(Buffer.from('{"body"'));
    z[at + 3] = "x".charCodeAt(0);
    expect(() => unzipEntry(z, "plinth-comment.json", 1 << 20)).toThrow(/CRC-32/);
    expect(() => unzipEntry(z.subarray(0, z.length - 30), "plinth-comment.json", 1 << 20)).toThrow(
      UnzipError,
    );
  });
});
