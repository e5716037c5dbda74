import { describe, expect, it } from "vitest";
import {
  DUMP_MARKER,
  dumpScript,
  rcloneMinAge,
  rcloneProvider,
  uploadScript,
} from "../../src/catalog/backup-jobs.js";
import { backedUpDumps } from "../../src/catalog/backup-targets.js";
import type { KubeObject } from "../../src/catalog/types.js";
import { IMAGES } from "../../src/catalog/versions.js";
import { buildGraph } from "../../src/graph/graph.js";
import { resolve } from "../../src/model/resolve.js";
import { desiredComponents } from "../../src/plan/desired.js";
import { exampleConfig, exampleWith } from "../helpers/config.js";
import { backupsSettings } from "./config.js";

const withBackups = () =>
  exampleWith((raw) => {
    raw.defaults = { ...raw.defaults, backups: backupsSettings() };
    for (const env of ["dev", "ci"] as const) {
      const e = raw.environments[env];
      if (e) e.backups = { enabled: false };
    }
  });

function rendered(env: string, config = withBackups()) {
  const resolved = resolve(config, env);
  return { resolved, components: desiredComponents(resolved, buildGraph(resolved)) };
}

interface Container {
  name: string;
  image: string;
  command: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
}
interface CronJob {
  metadata: { name: string; namespace: string };
  spec: {
    schedule: string;
    timeZone: string;
    concurrencyPolicy: string;
    jobTemplate: {
      spec: { template: { spec: { initContainers: Container[]; containers: Container[] } } };
    };
  };
}

const cronJobs = (objects: KubeObject[]) =>
  objects.filter((o) => o.kind === "CronJob") as unknown as CronJob[];
const envOf = (c: Container) => Object.fromEntries(c.env.map((e) => [e.name, e.value ?? e.valueFrom]));

describe("dumps of ArangoDB, Redis and ClickHouse: what plinth renders", () => {
  it("GIVEN backups in defaults WHEN staging is rendered THEN each of its databases has one dump CronJob on the backup schedule", () => {
    const { components } = rendered("staging");
    const jobs = components.flatMap((c) => cronJobs(c.objects).map((j) => [c.id, j] as const));
    expect(jobs.map(([id, j]) => `${id} ${j.metadata.namespace}/${j.metadata.name}`).sort()).toEqual([
      "arangodb data/arangodb-backup",
      "clickhouse data/clickhouse-backup",
      "redis data/redis-backup",
      "signoz observability/signoz-clickhouse-backup",
    ]);
    for (const [, j] of jobs) {
      expect(j.spec.schedule).toBe("0 3 * * *");
      expect(j.spec.timeZone).toBe("Etc/UTC");
      expect(j.spec.concurrencyPolicy).toBe("Forbid");
      const pod = j.spec.jobTemplate.spec.template.spec;
      expect(pod.containers.map((c) => c.image)).toEqual([IMAGES.rclone]);
      expect(pod.containers[0]?.command).toEqual(["sh", "-c", uploadScript()]);
    }
  });

  it("GIVEN the rendered jobs THEN each dumps with its server's own image and logs in from a Secret, and uploads with the backup token's Secret", () => {
    const { components } = rendered("staging");
    const job = (id: string) => {
      const j = cronJobs(components.find((c) => c.id === id)?.objects ?? [])[0];
      if (!j) throw new Error(`${id}: no CronJob`);
      return j.spec.jobTemplate.spec.template.spec;
    };
    const redis = job("redis");
    expect(redis.initContainers[0]?.image).toBe(IMAGES.redis);
    expect(redis.initContainers[0]?.command).toEqual(["sh", "-c", dumpScript("redis")]);
    expect(envOf(redis.initContainers[0] as Container)).toEqual({
      DUMP_DIR: "/work",
      DB_HOST: "redis.data.svc",
      DB_PORT: "6379",
      REDISCLI_AUTH: { secretKeyRef: { name: "redis-auth", key: "password" } },
    });
    expect(envOf(redis.containers[0] as Container)).toEqual({
      DUMP_DIR: "/work",
      DUMP_COMPONENT: "redis",
      DUMP_TOOL: "redis-cli --rdb",
      S3_BUCKET: "acme-backups",
      S3_FOLDER: "backups/staging/redis",
      RETENTION: "30d",
      RCLONE_CONFIG_BACKUP_TYPE: "s3",
      RCLONE_CONFIG_BACKUP_PROVIDER: "Cloudflare",
      RCLONE_CONFIG_BACKUP_ENDPOINT: "https://0123456789abcdef.r2.cloudflarestorage.com",
      RCLONE_CONFIG_BACKUP_REGION: "auto",
      RCLONE_CONFIG_BACKUP_ENV_AUTH: "false",
      RCLONE_CONFIG_BACKUP_NO_CHECK_BUCKET: "true",
      RCLONE_CONFIG_BACKUP_ACCESS_KEY_ID: {
        secretKeyRef: { name: "redis-backup-credentials", key: "ACCESS_KEY_ID" },
      },
      RCLONE_CONFIG_BACKUP_SECRET_ACCESS_KEY: {
        secretKeyRef: { name: "redis-backup-credentials", key: "ACCESS_SECRET_KEY" },
      },
    });

    const arango = job("arangodb").initContainers[0] as Container;
    expect(arango.image).toBe(IMAGES.arangodb);
    expect(envOf(arango).DB_PASSWORD).toEqual({ secretKeyRef: { name: "arangodb-root", key: "password" } });
    expect(arango.command[2]).toContain("arangodump");
    expect(arango.command[2]).toContain("--all-databases true");

    for (const [id, image, user, secret, key, host, folder] of [
      [
        "clickhouse",
        IMAGES.clickhouse,
        "app",
        "clickhouse-users",
        "app",
        "clickhouse-clickhouse.data.svc",
        "clickhouse",
      ],
      [
        "signoz",
        IMAGES.signozClickhouse,
        "signoz",
        "signoz-clickhouse",
        "password",
        "clickhouse-signoz.observability.svc",
        "signoz-clickhouse",
      ],
    ] as const) {
      const ch = job(id).initContainers[0] as Container;
      expect(ch.image).toBe(image);
      expect(ch.command).toEqual(["sh", "-c", dumpScript("clickhouse")]);
      const e = envOf(ch);
      expect(e.DB_USER).toBe(user);
      expect(e.DB_HOST).toBe(host);
      expect(e.DB_PASSWORD).toEqual({ secretKeyRef: { name: secret, key } });
      expect(e.S3_FOLDER).toBe(`backups/staging/${folder}`);
      expect(e.S3_ACCESS_KEY_ID).toEqual({
        secretKeyRef: { name: `${folder}-backup-credentials`, key: "ACCESS_KEY_ID" },
      });
    }
  });

  it("GIVEN the rendered environment THEN each job's token Secret is filled from the backups' variables, never from config", () => {
    const { components } = rendered("prod");
    const specs = components.flatMap((c) => c.secrets).filter((s) => s.name.endsWith("-backup-credentials"));
    const names = specs.map((s) => `${s.namespace}/${s.name}`).sort();
    expect(names).toEqual(
      expect.arrayContaining([
        "data/arangodb-backup-credentials",
        "data/clickhouse-backup-credentials",
        "data/redis-backup-credentials",
        "observability/signoz-clickhouse-backup-credentials",
      ]),
    );
    const redis = specs.find((s) => s.name === "redis-backup-credentials");
    expect(redis?.keys.ACCESS_KEY_ID?.fromEnv?.variable).toBe("BACKUP_S3_KEY_ID");
    expect(redis?.keys.ACCESS_SECRET_KEY?.fromEnv?.variable).toBe("BACKUP_S3_SECRET");
    expect(redis?.consumers).toEqual(["CronJob redis-backup"]);
  });

  it("GIVEN an environment without backups THEN no dump CronJob and no token Secret", () => {
    const { resolved, components } = rendered("dev");
    expect(backedUpDumps(resolved)).toEqual([]);
    expect(components.flatMap((c) => cronJobs(c.objects))).toEqual([]);
    const plain = rendered("prod", exampleConfig());
    expect(plain.components.flatMap((c) => cronJobs(c.objects))).toEqual([]);
    expect(
      plain.components.flatMap((c) => c.secrets).filter((s) => s.name.endsWith("-backup-credentials")),
    ).toEqual([]);
  });

  it("GIVEN Barman's retention forms THEN rclone's --min-age keeps at least as long (a month is 31 days)", () => {
    expect(rcloneMinAge("30d")).toBe("30d");
    expect(rcloneMinAge("4w")).toBe("4w");
    expect(rcloneMinAge("3m")).toBe("93d");
    expect(rcloneProvider("https://abc.r2.cloudflarestorage.com")).toBe("Cloudflare");
    expect(rcloneProvider("http://127.0.0.1:19000")).toBe("Other");
  });

  it("GIVEN the upload script THEN the marker goes up after the dump and the retention pass comes last", () => {
    const s = uploadScript();
    const copy = s.indexOf("rclone copy ");
    const marker = s.indexOf(`rclone copyto "$DUMP_DIR/${DUMP_MARKER}"`);
    const retention = s.indexOf("rclone delete");
    expect(copy).toBeGreaterThan(0);
    expect(marker).toBeGreaterThan(copy);
    expect(retention).toBeGreaterThan(marker);
    expect(s.startsWith("set -eu\n")).toBe(true);
  });
});
