/**
 * What is really in a backup bucket, read the way barman-cloud lays it out (what CloudNativePG's
 * Barman Cloud plugin writes): `<destination>/<server>/base/<backup id>/backup.info` beside the
 * tar files, and `<destination>/<server>/wals/<timeline+log>/<segment>[.gz]`. Reads a list of
 * the server's folder and each base backup's `backup.info`, the dump jobs' folders likewise; its
 * one write is plinth's recovery material (putIfChanged). The client is the S3 state backend's
 * (s3-client.ts).
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { UserError } from "../diagnostics/diagnostic.js";
import { openS3, type S3Sdk } from "./s3-client.js";
import { codeOf, DEFAULT_RETRY, describeS3Failure, networkCodeOf, statusOf, withRetry } from "./s3-errors.js";

export interface BackupStoreOptions {
  endpoint: string;
  bucket: string;
  region: string;
  /** The environment's folder in the bucket (`<path>/<env>`). */
  prefix: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Names of the variables the credentials came from, for messages. */
  variables: { accessKeyId: string; secretAccessKey: string };
}

/** Where a bucket is and which variables hold its token (the model's ResolvedBackups has these). */
export interface BackupDestination {
  endpoint: string;
  bucket: string;
  region: string;
  prefix: string;
  accessKeyIdVariable: string;
  secretAccessKeyVariable: string;
}

/**
 * The bucket's options with the token read from `variables`, or the token's variables that are
 * unset (each caller says what that means for it).
 */
export function backupStoreOptions(
  b: BackupDestination,
  variables: Readonly<Record<string, string | undefined>>,
): { options: BackupStoreOptions; missing?: undefined } | { missing: string[] } {
  const missing = [b.accessKeyIdVariable, b.secretAccessKeyVariable].filter((v) => !variables[v]?.trim());
  if (missing.length) return { missing };
  return {
    options: {
      endpoint: b.endpoint,
      bucket: b.bucket,
      region: b.region,
      prefix: b.prefix,
      credentials: {
        accessKeyId: variables[b.accessKeyIdVariable] as string,
        secretAccessKey: variables[b.secretAccessKeyVariable] as string,
      },
      variables: { accessKeyId: b.accessKeyIdVariable, secretAccessKey: b.secretAccessKeyVariable },
    },
  };
}

export interface BaseBackup {
  id: string;
  name?: string;
  status: string;
  beginTime?: Date;
  endTime?: Date;
  /** Bytes stored for it (its tar files and backup.info, compressed as uploaded). */
  storedBytes: number;
}

export interface ServerCatalog {
  server: string;
  /** Oldest first. */
  backups: BaseBackup[];
  wal: { files: number; storedBytes: number; newest?: { name: string; archivedAt: Date } };
}

/** One dump folder (`<path>/<env>/<name>/<stamp>/`), as a dump job left it. */
export interface StoredDump {
  /** When the dump started, `20260501T030000Z`: the folder's name. */
  stamp: string;
  /** Its completion marker is there: everything before it was uploaded. */
  complete: boolean;
  /** When the marker was stored. */
  finishedAt?: Date;
  files: number;
  storedBytes: number;
}

export interface DumpCatalog {
  folder: string;
  /** Oldest first. */
  dumps: StoredDump[];
}

interface Listed {
  key: string;
  size: number;
  lastModified?: Date;
}

export class BackupStore {
  private client?: Promise<{ sdk: S3Sdk; client: S3Client }>;
  constructor(private readonly o: BackupStoreOptions) {}

  private connect(): Promise<{ sdk: S3Sdk; client: S3Client }> {
    this.client ??= openS3(this.o);
    return this.client;
  }

  close(): void {
    void this.client?.then(({ client }) => client.destroy());
  }

  /** One server's (one Cluster's) base backups and archived WAL, as stored now. */
  async read(server: string): Promise<ServerCatalog> {
    const root = `${this.o.prefix}/${server}/`;
    const objects = await this.list(root);
    const backups = new Map<string, BaseBackup>();
    const wal: ServerCatalog["wal"] = { files: 0, storedBytes: 0 };
    const infos: string[] = [];
    for (const obj of objects) {
      const rest = obj.key.slice(root.length);
      const base = /^base\/([^/]+)\/(.+)$/.exec(rest);
      if (base?.[1] && base[2]) {
        const b = backups.get(base[1]) ?? { id: base[1], status: "UNKNOWN", storedBytes: 0 };
        b.storedBytes += obj.size;
        backups.set(base[1], b);
        if (base[2] === "backup.info") infos.push(obj.key);
        continue;
      }
      const segment = /^wals\/[0-9A-F]{16}\/([0-9A-F]{24})(\.[a-z0-9]+)?$/.exec(rest);
      if (segment?.[1]) {
        wal.files += 1;
        wal.storedBytes += obj.size;
        if (obj.lastModified && (!wal.newest || obj.lastModified > wal.newest.archivedAt)) {
          wal.newest = { name: segment[1], archivedAt: obj.lastModified };
        }
      } else if (rest.startsWith("wals/")) {
        wal.storedBytes += obj.size; // history and .backup files
      }
    }
    for (const key of infos) {
      const id = key.slice(root.length).split("/")[1] ?? "";
      const b = backups.get(id);
      if (b) Object.assign(b, parseBackupInfo(await this.text(key)));
    }
    return { server, backups: [...backups.values()].sort((a, b) => a.id.localeCompare(b.id)), wal };
  }

  /**
   * One database's dumps (catalog/backup-jobs.ts): each folder under `<prefix>/<folder>/`, its
   * size, and whether its marker (`marker`, written last) is there. Objects outside a folder of
   * their own are not a dump and are left out.
   */
  async readDumps(folder: string, marker: string): Promise<DumpCatalog> {
    const root = `${this.o.prefix}/${folder}/`;
    const dumps = new Map<string, StoredDump>();
    for (const obj of await this.list(root)) {
      const [stamp, ...rest] = obj.key.slice(root.length).split("/");
      if (!stamp || rest.length === 0) continue;
      const d = dumps.get(stamp) ?? { stamp, complete: false, files: 0, storedBytes: 0 };
      d.files += 1;
      d.storedBytes += obj.size;
      if (rest.join("/") === marker) {
        d.complete = true;
        if (obj.lastModified) d.finishedAt = obj.lastModified;
      }
      dumps.set(stamp, d);
    }
    return { folder, dumps: [...dumps.values()].sort((a, b) => a.stamp.localeCompare(b.stamp)) };
  }

  /**
   * Puts `body` at `<prefix>/<key>` unless the same bytes are already there (plinth's recovery
   * material, copied at every apply: a write only when it changed). The one write this store does.
   */
  async putIfChanged(key: string, body: Buffer): Promise<"created" | "updated" | "unchanged"> {
    const full = `${this.o.prefix}/${key}`;
    const existing = await this.send(full, async () => {
      const { sdk, client } = await this.connect();
      try {
        const got = await client.send(new sdk.GetObjectCommand({ Bucket: this.o.bucket, Key: full }));
        return Buffer.from((await got.Body?.transformToByteArray()) ?? []);
      } catch (e) {
        if (codeOf(e) === "NoSuchKey" || statusOf(e) === 404) return undefined;
        throw e;
      }
    });
    if (existing?.equals(body)) return "unchanged";
    await this.send(full, async () => {
      const { sdk, client } = await this.connect();
      return client.send(new sdk.PutObjectCommand({ Bucket: this.o.bucket, Key: full, Body: body }));
    });
    return existing ? "updated" : "created";
  }

  /** Whether anything is stored at `<prefix>/<key>`. */
  async exists(key: string): Promise<boolean> {
    const full = `${this.o.prefix}/${key}`;
    return (await this.list(full)).some((o) => o.key === full);
  }

  private async list(prefix: string): Promise<Listed[]> {
    const out: Listed[] = [];
    let token: string | undefined;
    do {
      const page = await this.send(prefix, async () => {
        const { sdk, client } = await this.connect();
        return client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.o.bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      });
      for (const c of page.Contents ?? []) {
        if (c.Key)
          out.push({
            key: c.Key,
            size: c.Size ?? 0,
            ...(c.LastModified ? { lastModified: c.LastModified } : {}),
          });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  private async text(key: string): Promise<string> {
    return this.send(key, async () => {
      const { sdk, client } = await this.connect();
      const got = await client.send(new sdk.GetObjectCommand({ Bucket: this.o.bucket, Key: key }));
      return (await got.Body?.transformToString("utf8")) ?? "";
    });
  }

  private async send<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let attempts = 0;
    try {
      return await withRetry(() => {
        attempts += 1;
        return fn();
      }, DEFAULT_RETRY);
    } catch (e) {
      throw this.failure(e, key, attempts);
    }
  }

  /** The usual S3 failures said in terms of the backups' config and variables. */
  private failure(e: unknown, key: string, attempts: number): Error {
    const { bucket, endpoint, variables } = this.o;
    const where = `s3://${bucket}/${key}`;
    const status = statusOf(e);
    const code = codeOf(e);
    const fix = (f: string) => ({ severity: "error" as const, path: where, fix: f });
    if (code === "NoSuchBucket") {
      return new UserError({
        ...fix(`create it, or set backups.destination.bucket to the bucket the backups go to`),
        message: `bucket ${bucket} does not exist at ${endpoint}`,
      });
    }
    if (status === 401 || status === 403) {
      return new UserError({
        ...fix(
          `set ${variables.accessKeyId} and ${variables.secretAccessKey} to a token with object read and write on bucket ${bucket} (on R2: Object Read & Write, scoped to that bucket)`,
        ),
        message: `access to bucket ${bucket} at ${endpoint} was denied (${code ?? status})`,
      });
    }
    if (networkCodeOf(e)) {
      return new UserError({
        ...fix("check backups.destination.endpoint, and that this machine can reach it"),
        message: `cannot reach ${endpoint} for bucket ${bucket} (${networkCodeOf(e)}, after ${attempts} tries)`,
      });
    }
    return describeS3Failure(e, { endpoint, bucket, object: where }, attempts);
  }
}

/** barman's backup.info: `key=value` lines (Python reprs for the few structured fields). */
export function parseBackupInfo(text: string): Partial<BaseBackup> {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const time = (k: string) => {
    const v = fields.get(k);
    const d = v && v !== "None" ? new Date(v.replace(" ", "T")) : undefined;
    return d && !Number.isNaN(d.getTime()) ? d : undefined;
  };
  const name = fields.get("backup_name");
  const begin = time("begin_time");
  const end = time("end_time");
  return {
    status: fields.get("status") ?? "UNKNOWN",
    ...(name && name !== "None" ? { name } : {}),
    ...(begin ? { beginTime: begin } : {}),
    ...(end ? { endTime: end } : {}),
  };
}
