import type { UserConfig } from "../../src/config/schema.js";
import { secret } from "../../src/config/secret-ref.js";

type Backups = NonNullable<NonNullable<UserConfig["defaults"]>["backups"]>;

/** A complete `backups` block as a user writes it (R2-style endpoint; values are names, not secrets). */
export function backupsSettings(over: Partial<Backups> = {}): Backups {
  return {
    schedule: "0 3 * * *",
    retention: "30d",
    destination: {
      bucket: "acme-backups",
      endpoint: "https://0123456789abcdef.r2.cloudflarestorage.com",
      credentials: {
        accessKeyId: secret.env("BACKUP_S3_KEY_ID"),
        secretAccessKey: secret.env("BACKUP_S3_SECRET"),
      },
    },
    ...over,
  } as Backups;
}
