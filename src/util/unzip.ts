import { crc32, inflateRawSync } from "node:zlib";

/**
 * One file out of a ZIP archive, for archives that are untrusted data (a GitHub Actions artifact
 * made by a fork's run): read from the central directory (archives written as a stream, as
 * actions/upload-artifact's are, carry their sizes only there), stored or deflated, inflated with
 * a cap on the output so a small archive cannot expand without bound, and its CRC-32 checked.
 * ZIP64, encryption and multi-disk archives are refused: nothing plinth reads needs them.
 */
export class UnzipError extends Error {
  override name = "UnzipError";
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The End Of Central Directory record: at the end, before a comment of up to 65,535 bytes. */
function findEnd(zip: Buffer): number {
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at--) {
    if (zip.readUInt32LE(at) === EOCD) return at;
  }
  throw new UnzipError("not a ZIP archive (no end of central directory)");
}

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** The archive's entries as its central directory lists them. */
export function zipEntries(zip: Buffer): ZipEntry[] {
  const end = findEnd(zip);
  const count = zip.readUInt16LE(end + 10);
  const dirSize = zip.readUInt32LE(end + 12);
  let at = zip.readUInt32LE(end + 16);
  if (zip.readUInt16LE(end + 4) !== 0 || zip.readUInt16LE(end + 6) !== 0)
    throw new UnzipError("a multi-disk archive");
  if (count === 0xffff || dirSize === 0xffffffff || at === 0xffffffff)
    throw new UnzipError("a ZIP64 archive");
  if (at + dirSize > end) throw new UnzipError("the central directory runs past its end");
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > end || zip.readUInt32LE(at) !== CENTRAL) throw new UnzipError("a broken central directory");
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const entry: ZipEntry = {
      flags: zip.readUInt16LE(at + 8),
      method: zip.readUInt16LE(at + 10),
      crc: zip.readUInt32LE(at + 16),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      name: zip.subarray(at + 46, at + 46 + nameLength).toString("utf8"),
      localOffset: zip.readUInt32LE(at + 42),
    };
    if (entry.compressedSize === 0xffffffff || entry.size === 0xffffffff || entry.localOffset === 0xffffffff)
      throw new UnzipError(`${entry.name}: a ZIP64 entry`);
    entries.push(entry);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * The bytes of the entry named `name` (undefined when the archive has none), at most `maxBytes`
 * once inflated. Throws UnzipError for anything else: a broken or unusual archive, an encrypted
 * entry, an entry larger than the cap, a CRC mismatch.
 */
export function unzipEntry(zip: Buffer, name: string, maxBytes: number): Buffer | undefined {
  const entry = zipEntries(zip).find((e) => e.name === name);
  if (!entry) return undefined;
  if (entry.flags & 0x1) throw new UnzipError(`${name} is encrypted`);
  if (entry.size > maxBytes) throw new UnzipError(`${name} is ${entry.size} bytes, more than ${maxBytes}`);
  const local = entry.localOffset;
  if (local + 30 > zip.length || zip.readUInt32LE(local) !== LOCAL)
    throw new UnzipError(`${name}: no local header where the directory says`);
  // The local header's extra field may differ in length from the central directory's.
  const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
  if (start + entry.compressedSize > zip.length) throw new UnzipError(`${name} runs past the archive's end`);
  const raw = zip.subarray(start, start + entry.compressedSize);
  let data: Buffer;
  if (entry.method === 0) data = Buffer.from(raw);
  else if (entry.method === 8) {
    try {
      data = inflateRawSync(raw, { maxOutputLength: maxBytes });
    } catch (e) {
      throw new UnzipError(`${name} does not inflate within ${maxBytes} bytes: ${(e as Error).message}`);
    }
  } else throw new UnzipError(`${name} uses compression method ${entry.method} (only stored and deflate)`);
  if (data.length !== entry.size)
    throw new UnzipError(`${name} is ${data.length} bytes, the directory says ${entry.size}`);
  if (crc32(data) >>> 0 !== entry.crc) throw new UnzipError(`${name} fails its CRC-32 check`);
  return data;
}
