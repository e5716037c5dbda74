/**
 * Issue 10, item 3: Vault's keys are never lost at init, on a real, fresh, non-dev OpenBao (the
 * test bed's `bao` binary, started uninitialized by ./server.ts). And item 9's `secrets sync
 * --plan`, which must only read: it neither initializes nor unseals.
 *
 * The one fault that cannot be made by a path alone, "writing fails after the probe passed", is
 * injected by a small HTTP proxy in front of that real server (`faultInjectingProxy`): when it
 * sees `PUT /v1/sys/init` it replaces the unseal file's folder with a regular file, then forwards
 * the request. plinth's own write then fails for real (ENOTDIR, which stops root too).
 */
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/main.js";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { unsealFilePath, VaultClient } from "../../src/providers/vault/index.js";
import {
  ENVELOPE_BEGIN,
  ENVELOPE_END,
  ensureVaultReady,
  UnsealFileNotWritten,
} from "../../src/providers/vault/lifecycle.js";
import {
  proveWritable,
  readUnsealFile,
  writeFileDurably,
  writeUnsealFile,
} from "../../src/providers/vault/unseal-file.js";
import { tempDir } from "../helpers/config.js";
import { type BaoServer, startBao } from "./server.js";

const PASSPHRASE = `correct horse battery ${randomBytes(3).toString("hex")}`;

const CONFIG = `import { defineConfig } from "plinth";
export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org" },
  clusters: { bed: { type: "existing", kubeconfig: "kubeconfig.yaml" } },
  environments: {
    staging: { cluster: "bed", domainPrefix: "x-staging", features: { observability: true } },
  },
});
`;

function project(): string {
  const dir = tempDir("plinth-vault-init-");
  writeFileSync(join(dir, "plinth.config.ts"), CONFIG);
  return dir;
}

async function cli(cwd: string, args: string[], env: Record<string, string>) {
  let stdout = "";
  let stderr = "";
  const code = await run(args, {
    cwd,
    env: { PATH: process.env.PATH, PLINTH_VAULT_PASSPHRASE: PASSPHRASE, ...env },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr };
}

async function health(address: string): Promise<number> {
  return (await fetch(`${address}/v1/sys/health`)).status;
}

async function sealStatus(
  address: string,
): Promise<{ initialized: boolean; sealed: boolean; progress: number }> {
  return (await (await fetch(`${address}/v1/sys/seal-status`)).json()) as {
    initialized: boolean;
    sealed: boolean;
    progress: number;
  };
}

/** Files left in a folder by a probe or a temporary write. */
const leftovers = (dir: string) => readdirSync(dir).filter((f) => /\.(probe|tmp)$/.test(f));

/**
 * Fault injection, named as such: a proxy to the real server that, on `PUT /v1/sys/init`, first
 * runs `beforeInit` (here: the unseal folder becomes a regular file), then forwards the request.
 */
async function faultInjectingProxy(
  target: string,
  beforeInit: () => void,
): Promise<Server & { url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      if (req.method === "PUT" && req.url?.startsWith("/v1/sys/init")) beforeInit();
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === "string" && !["host", "connection", "content-length"].includes(k)) headers[k] = v;
      const body = Buffer.concat(chunks);
      const r = await fetch(`${target}${req.url}`, {
        method: req.method ?? "GET",
        headers,
        ...(body.length > 0 ? { body } : {}),
      });
      res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/json" });
      res.end(Buffer.from(await r.arrayBuffer()));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(server, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

let bao: BaoServer;
const cleanup: string[] = [];

beforeAll(async () => {
  bao = await startBao();
});

afterAll(async () => {
  await bao?.stop();
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

describe("the unseal file's folder is proven writable before init, and written durably", () => {
  it("durable write: mode 0600 in a 0700 folder, no temporary file left, an existing file is not replaced", async () => {
    const dir = tempDir("plinth-unseal-write-");
    cleanup.push(dir);
    const file = join(dir, ".plinth", "vault", "bed.unseal.enc");
    proveWritable(file);
    expect(statSync(dirname(file)).mode & 0o777).toBe(0o700);
    expect(readdirSync(dirname(file))).toEqual([]);
    const material = { keys: ["a2V5"], threshold: 1, shares: 1, rootToken: "r" };
    const o = { passphrase: PASSPHRASE, cluster: "bed", address: "http://127.0.0.1:1" };
    await writeUnsealFile(file, material, o);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(leftovers(dirname(file))).toEqual([]);
    expect(await readUnsealFile(file, o)).toEqual(material);
    expect(() => writeFileDurably(file, "other", { replace: false })).toThrow(/refusing to replace/);
    expect(await readUnsealFile(file, o)).toEqual(material);
  });

  it("a folder that cannot exist (its parent is a regular file, or under /proc) is refused before init; Vault stays uninitialized", async () => {
    const dir = tempDir("plinth-unseal-nowhere-");
    cleanup.push(dir);
    writeFileSync(join(dir, "not-a-folder"), "x");
    for (const file of [
      join(dir, "not-a-folder", "vault", "bed.unseal.enc"),
      `/proc/plinth-${randomBytes(3).toString("hex")}/vault/bed.unseal.enc`,
    ]) {
      const e = await ensureVaultReady(new VaultClient({ address: bao.address }), {
        cluster: "bed",
        unsealFile: file,
        passphrase: PASSPHRASE,
      }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(UserError);
      expect((e as Error).message).toContain(file);
      expect((e as Error).message).toMatch(
        /cannot be written \((ENOTDIR|ENOENT|EACCES|EROFS)[^)]*\), so Vault was not initialized/,
      );
      expect(await health(bao.address)).toBe(501);
      expect((await sealStatus(bao.address)).initialized).toBe(false);
    }
  });

  it("plinth secrets sync with .plinth/vault a regular file: exit 2 naming the path and the fix, Vault untouched", async () => {
    const dir = project();
    cleanup.push(dir);
    mkdirSync(join(dir, ".plinth"));
    writeFileSync(join(dir, ".plinth", "vault"), "in the way\n");
    const r = await cli(dir, ["secrets", "sync", "staging"], { VAULT_ADDR: bao.address });
    expect(r.code).toBe(2);
    const file = unsealFilePath(dir, "bed");
    expect(r.stderr).toContain(`${file}: cannot be written (ENOTDIR`);
    expect(r.stderr).toContain("so Vault was not initialized");
    expect(r.stderr).toContain(`make ${dirname(file)} a folder plinth can create and write`);
    expect(await health(bao.address)).toBe(501);
    expect(readFileSync(join(dir, ".plinth", "vault"), "utf8")).toBe("in the way\n");
  });
});

describe("secrets sync --plan reads and reports; it never initializes or unseals", () => {
  it("on an uninitialized Vault: says sync would initialize it, exit 0, Vault still uninitialized and no unseal file", async () => {
    const dir = project();
    cleanup.push(dir);
    const r = await cli(dir, ["secrets", "sync", "staging", "--plan", "--shares", "4", "--threshold", "2"], {
      VAULT_ADDR: bao.address,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `Vault at ${bao.address} is not initialized: plinth secrets sync staging would initialize it (4 key shares, 2 to unseal) and write its keys, encrypted, to ${unsealFilePath(dir, "bed")}`,
    );
    expect(await health(bao.address)).toBe(501);
    expect(existsSync(join(dir, ".plinth", "vault"))).toBe(false);
  });
});

describe("Vault initialized but the unseal file cannot be written: the encrypted envelope goes to stderr", () => {
  let dir: string;
  let proxy: Server & { url: string };
  let failed: { code: number; stdout: string; stderr: string };
  let envelope: string;

  beforeAll(async () => {
    dir = project();
    cleanup.push(dir);
    const folder = dirname(unsealFilePath(dir, "bed"));
    proxy = await faultInjectingProxy(bao.address, () => {
      // The probe passed a moment ago; now the folder is gone and a file stands in its way.
      rmSync(folder, { recursive: true, force: true });
      writeFileSync(folder, "the disk changed under plinth\n");
    });
    expect(await health(bao.address)).toBe(501);
    failed = await cli(dir, ["secrets", "sync", "staging", "--json"], { VAULT_ADDR: proxy.url });
  });

  afterAll(async () => {
    await new Promise((resolve) => proxy?.close(resolve));
  });

  it("exits non-zero, Vault is initialized, and stderr carries the envelope and how to save it (stdout does not)", async () => {
    expect(failed.code).toBe(2);
    expect((await sealStatus(bao.address)).initialized).toBe(true);
    const file = unsealFilePath(dir, "bed");
    const begin = failed.stderr.indexOf(`${ENVELOPE_BEGIN}\n`);
    const end = failed.stderr.indexOf(`\n${ENVELOPE_END}`);
    expect(begin).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(begin);
    envelope = `${failed.stderr.slice(begin + ENVELOPE_BEGIN.length + 1, end)}\n`;
    expect(JSON.parse(envelope)).toMatchObject({ format: "plinth-vault-unseal/v1", cluster: "bed" });
    expect(failed.stderr).toContain(
      `${file}: Vault at ${proxy.url} is now initialized, but its unseal file could not be written (ENOTDIR`,
    );
    expect(failed.stderr).toContain(`exactly as ${file} (mode 0600: chmod 600 ${file})`);
    expect(failed.stderr).toContain("PLINTH_VAULT_PASSPHRASE decrypts it");
    expect(failed.stdout).not.toContain(ENVELOPE_BEGIN);
    expect(failed.stdout).not.toContain(JSON.parse(envelope).ciphertext);
  });

  it("the printed envelope, saved where it says, decrypts with the passphrase to keys that unseal the server; no plaintext key was printed", async () => {
    const file = unsealFilePath(dir, "bed");
    rmSync(dirname(file), { force: true });
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, envelope, { mode: 0o600 });
    chmodSync(file, 0o600);
    const material = await readUnsealFile(file, {
      passphrase: PASSPHRASE,
      cluster: "bed",
      address: bao.address,
    });
    expect(material.keys).toHaveLength(5);
    expect(material.threshold).toBe(3);
    for (const secret of [...material.keys, material.rootToken as string]) {
      expect(failed.stderr).not.toContain(secret);
      expect(failed.stdout).not.toContain(secret);
    }

    // Sealed now: a plan says sync would unseal, and enters no key (progress stays 0).
    const planned = await cli(dir, ["secrets", "sync", "staging", "--plan"], { VAULT_ADDR: bao.address });
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain(`is sealed: plinth secrets sync staging would unseal it from ${file}`);
    expect(await sealStatus(bao.address)).toMatchObject({ initialized: true, sealed: true, progress: 0 });

    for (const key of material.keys.slice(0, material.threshold)) {
      const r = await fetch(`${bao.address}/v1/sys/unseal`, { method: "PUT", body: JSON.stringify({ key }) });
      expect(r.status).toBe(200);
    }
    expect(await health(bao.address)).toBe(200);
    const root = new VaultClient({ address: bao.address, token: material.rootToken as string });
    expect((await root.request("GET", "auth/token/lookup-self")).status).toBe(200);
  });

  it("on an active Vault, --plan lists what sync would change and sends Vault nothing but reads (its audit log)", async () => {
    const file = unsealFilePath(dir, "bed");
    const before = existsSync(bao.auditLog) ? readFileSync(bao.auditLog, "utf8").length : 0;
    const unsealBefore = readFileSync(file, "utf8");
    const r = await cli(dir, ["secrets", "sync", "staging", "--plan"], { VAULT_ADDR: bao.address });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("would make plinth's own Vault token");
    expect(r.stdout).toMatch(/would create VaultMount /);
    expect(r.stdout).toMatch(/would create VaultSecret /);
    // The file plinth would add its token to is untouched.
    expect(readFileSync(file, "utf8")).toBe(unsealBefore);
    const requests = readFileSync(bao.auditLog, "utf8")
      .slice(before)
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; request?: { operation: string; path: string } })
      .filter((e) => e.type === "request");
    expect(requests.length).toBeGreaterThan(3);
    const writes = requests.filter((e) => !["read", "list"].includes(e.request?.operation ?? ""));
    expect(writes.map((e) => `${e.request?.operation} ${e.request?.path}`)).toEqual([]);
  });
});

describe("ensureVaultReady's failed write is a value carrying the envelope (for callers other than the CLI)", () => {
  it("UnsealFileNotWritten: a UserError naming the file, whose envelope decrypts to the keys of the server it initialized", async () => {
    const second = await startBao();
    const dir = tempDir("plinth-unseal-value-");
    cleanup.push(dir);
    const file = join(dir, "vault", "bed.unseal.enc");
    const proxy = await faultInjectingProxy(second.address, () => {
      rmSync(dirname(file), { recursive: true, force: true });
      writeFileSync(dirname(file), "x");
    });
    try {
      const e = await ensureVaultReady(new VaultClient({ address: proxy.url }), {
        cluster: "bed",
        unsealFile: file,
        passphrase: PASSPHRASE,
        shares: 3,
        threshold: 2,
      }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(UnsealFileNotWritten);
      expect(e).toBeInstanceOf(UserError);
      const failure = e as UnsealFileNotWritten;
      expect(failure.file).toBe(file);
      expect(failure.message).toContain(failure.envelope.trimEnd());
      rmSync(dirname(file), { force: true });
      mkdirSync(dirname(file), { mode: 0o700 });
      writeFileSync(file, failure.envelope, { mode: 0o600 });
      const material = await readUnsealFile(file, {
        passphrase: PASSPHRASE,
        cluster: "bed",
        address: second.address,
      });
      expect(material.keys).toHaveLength(3);
      expect(failure.message).not.toContain(material.rootToken as string);
      for (const key of material.keys.slice(0, 2))
        await fetch(`${second.address}/v1/sys/unseal`, { method: "PUT", body: JSON.stringify({ key }) });
      expect(await health(second.address)).toBe(200);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
      await second.stop();
    }
  });
});
