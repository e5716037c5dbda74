import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { missedObjectives } from "../../src/apply/drill.js";
import {
  BARMAN_PLUGIN,
  barmanCloudArgs,
  barmanConfiguration,
  CHECKSUM_ENV,
} from "../../src/catalog/backups.js";
import type { KubeObject } from "../../src/catalog/types.js";
import { BARMAN_CLOUD_PLUGIN_MANIFEST, IMAGES } from "../../src/catalog/versions.js";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { buildGraph } from "../../src/graph/graph.js";
import { resolve } from "../../src/model/resolve.js";
import { desiredComponents } from "../../src/plan/desired.js";
import { fetchManifest } from "../../src/providers/manifest.js";
import { longestGapMs, parseCron } from "../../src/util/cron.js";
import { crdFiles } from "../../testbed/crds.js";
import { cli, EXAMPLE_PATH, exampleWith } from "../helpers/config.js";
import { objectValidator } from "../helpers/schemas.js";
import { backupsSettings } from "./config.js";

const withBackups = () =>
  exampleWith((raw) => {
    raw.defaults = { ...raw.defaults, backups: backupsSettings() };
    // dev and ci have no cert-manager, which the plugin needs: no backups there.
    for (const env of ["dev", "ci"] as const) {
      const e = raw.environments[env];
      if (e) e.backups = { enabled: false };
    }
  });

function desired(env: string) {
  const resolved = resolve(withBackups(), env);
  return { resolved, components: desiredComponents(resolved, buildGraph(resolved)) };
}

/** The object of that kind and name, seen as the shape the test reads (rendered objects are plain data). */
const find = <T = KubeObject>(objects: KubeObject[], kind: string, name: string): T | undefined =>
  objects.find((o) => o.kind === kind && o.metadata.name === name) as unknown as T | undefined;

describe("backups: what plinth renders", () => {
  it("GIVEN backups in defaults WHEN staging is rendered THEN each PostgreSQL archives WAL to its own ObjectStore on a schedule", () => {
    const { components } = desired("staging");
    for (const [id, name, ns] of [
      ["platform-postgres", "platform-postgres", "platform"],
      ["postgres", "postgres", "data"],
    ] as const) {
      const c = components.find((x) => x.id === id);
      if (!c) throw new Error(`${id} missing`);
      const cluster = find<{ spec: { plugins: unknown[] } }>(c.objects, "Cluster", name);
      expect(cluster?.spec.plugins).toEqual([
        {
          name: BARMAN_PLUGIN,
          isWALArchiver: true,
          parameters: { barmanObjectName: `${name}-backups`, serverName: name },
        },
      ]);
      const store = find<{
        metadata: { namespace: string };
        spec: Record<string, unknown>;
      }>(c.objects, "ObjectStore", `${name}-backups`);
      expect(store?.metadata.namespace).toBe(ns);
      expect(store?.spec).toEqual({
        configuration: {
          destinationPath: "s3://acme-backups/backups/staging",
          endpointURL: "https://0123456789abcdef.r2.cloudflarestorage.com",
          s3Credentials: {
            accessKeyId: { name: `${name}-backup-credentials`, key: "ACCESS_KEY_ID" },
            secretAccessKey: { name: `${name}-backup-credentials`, key: "ACCESS_SECRET_KEY" },
            region: { name: `${name}-backup-credentials`, key: "REGION" },
          },
          wal: { compression: "gzip", maxParallel: 2 },
          data: { compression: "gzip", immediateCheckpoint: true },
        },
        retentionPolicy: "30d",
        instanceSidecarConfiguration: {
          env: [
            { name: "AWS_REQUEST_CHECKSUM_CALCULATION", value: "when_required" },
            { name: "AWS_RESPONSE_CHECKSUM_VALIDATION", value: "when_required" },
          ],
        },
      });
      expect(find(c.objects, "ScheduledBackup", `${name}-scheduled`)?.spec).toEqual({
        schedule: "0 0 3 * * *",
        immediate: true,
        backupOwnerReference: "self",
        cluster: { name },
        method: "plugin",
        pluginConfiguration: { name: BARMAN_PLUGIN },
      });
      // The token comes from the operator's environment, never from config or Vault.
      const creds = c.secrets.find((s) => s.name === `${name}-backup-credentials`);
      expect(creds?.namespace).toBe(ns);
      expect(creds?.keys.ACCESS_KEY_ID?.fromEnv?.variable).toBe("BACKUP_S3_KEY_ID");
      expect(creds?.keys.ACCESS_SECRET_KEY?.fromEnv?.variable).toBe("BACKUP_S3_SECRET");
      expect(creds?.keys.REGION?.fixed).toBe("auto");
    }
  });

  it("installs the pinned plugin with the operator, after cert-manager", () => {
    const { components } = desired("prod");
    const cnpg = components.find((c) => c.id === "cnpg-operator");
    expect(cnpg?.external.map((e) => e.name)).toEqual(["plugin-barman-cloud"]);
    expect(cnpg?.external[0]?.source?.sha256).toBe(BARMAN_CLOUD_PLUGIN_MANIFEST.sha256);
    const graph = buildGraph(resolve(withBackups(), "prod"));
    const node = graph.phases.flatMap((p) => p.components).find((n) => n.id === "cnpg-operator");
    expect(node?.dependsOn).toContain("cert-manager");
  });

  it("renders nothing for backups where they are off, and no plugin entry on the Cluster", () => {
    const { components } = desired("ci");
    const objects = components.flatMap((c) => c.objects);
    expect(objects.filter((o) => ["ObjectStore", "ScheduledBackup"].includes(o.kind))).toEqual([]);
    expect(find<{ spec: object }>(objects, "Cluster", "postgres")?.spec).not.toHaveProperty("plugins");
    expect(components.flatMap((c) => c.external)).toEqual([]);
  });

  it("every backup object is valid against the upstream CRDs (CloudNativePG 1.28, plugin v0.15.0)", async () => {
    const { validate } = await objectValidator();
    const objects = ["staging", "prod"].flatMap((env) => desired(env).components.flatMap((c) => c.objects));
    const backup = objects.filter((o) => ["ObjectStore", "ScheduledBackup", "Cluster"].includes(o.kind));
    expect(backup.map((o) => o.kind).sort()).toEqual([
      ...Array(4).fill("Cluster"),
      ...Array(4).fill("ObjectStore"),
      ...Array(4).fill("ScheduledBackup"),
    ]);
    for (const o of backup) expect(validate(o), `${o.kind} ${o.metadata.name}`).toEqual([]);
  });

  it("the pinned manifest (the v0.15.0 bytes, from the Go module proxy's zip) runs the release images", async () => {
    // Not a hosted-API stand-in: the same bytes the tag serves, read from the checksum-verified module.
    const crd = (await crdFiles()).find((c) => c.kind === "ObjectStore");
    if (!crd) throw new Error("the plugin's CRD is not pinned in testbed/go/crds/go.mod");
    expect(crd.version).toBe("v0.15.0");
    const bytes = readFileSync(join(dirname(crd.file), "../../../manifest.yaml"));
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(BARMAN_CLOUD_PLUGIN_MANIFEST.sha256);
    const source = desired("prod").components.find((c) => c.id === "cnpg-operator")?.external[0]?.source;
    if (!source) throw new Error("no manifest source");
    const served = (async () => new Response(bytes)) as unknown as typeof fetch;
    const objects = await fetchManifest(source, served);
    const deployment = find<{
      spec: { template: { spec: { containers: { image: string }[] } } };
    }>(objects, "Deployment", "barman-cloud");
    expect(deployment?.spec.template.spec.containers.map((c) => c.image)).toEqual([IMAGES.barmanCloudPlugin]);
    const sidecar = objects.find((o) => o.kind === "Secret") as unknown as {
      data: { SIDECAR_IMAGE: string };
    };
    expect(Buffer.from(sidecar.data.SIDECAR_IMAGE, "base64").toString()).toBe(IMAGES.barmanCloudSidecar);
    expect(JSON.stringify(objects)).not.toMatch(/testing:main|LXRlc3Rpbmc6bWFpbg/);
    expect(objects.map((o) => o.kind)).toContain("CustomResourceDefinition");
  });

  it("turns the ObjectStore into barman-cloud options the way the plugin does", () => {
    const { resolved } = desired("staging");
    if (!resolved.backups) throw new Error("no backups");
    const c = barmanConfiguration(resolved.backups, {
      cluster: "postgres",
      namespace: "data",
      component: "postgres",
    });
    const where = [
      "--endpoint-url",
      c.endpointURL,
      "--cloud-provider",
      "aws-s3",
      c.destinationPath,
      "postgres",
    ];
    expect(barmanCloudArgs(c, "backup", "postgres")).toEqual(["--gzip", "--immediate-checkpoint", ...where]);
    expect(barmanCloudArgs(c, "wal-archive", "postgres")).toEqual(["--gzip", ...where]);
    expect(barmanCloudArgs(c, "wal-restore", "postgres")).toEqual(where);
    expect(CHECKSUM_ENV).toEqual({
      AWS_REQUEST_CHECKSUM_CALCULATION: "when_required",
      AWS_RESPONSE_CHECKSUM_VALIDATION: "when_required",
    });
  });
});

/** A change to the example: these backups in `defaults`. */
const inDefaults =
  (backups: ReturnType<typeof backupsSettings>) =>
  (raw: Parameters<Parameters<typeof exampleWith>[0]>[0]): void => {
    raw.defaults = { ...raw.defaults, backups };
  };

describe("backups: bad input", () => {
  const attempt = (change: Parameters<typeof exampleWith>[0], env = "staging") => {
    try {
      resolve(exampleWith(change), env);
    } catch (e) {
      if (e instanceof UserError) return e.message;
      throw e;
    }
    return "accepted";
  };

  it("names each missing field of the merged settings and the fix", () => {
    const message = attempt((raw) => {
      raw.defaults = { ...raw.defaults, backups: { schedule: "0 3 * * *", destination: {} } };
    });
    expect(message).toContain("environments.staging.backups.destination.bucket: is required");
    expect(message).toContain("environments.staging.backups.destination.endpoint: is required");
    expect(message).toContain('accessKeyId: secret.env("BACKUP_S3_KEY_ID")');
  });

  it("an environment narrows defaults field by field", () => {
    const config = exampleWith((raw) => {
      raw.defaults = { ...raw.defaults, backups: backupsSettings() };
      const prod = raw.environments.prod;
      if (prod) prod.backups = { retention: "3m", destination: { path: "db" } };
    });
    const b = resolve(config, "prod").backups;
    expect(b?.retention).toBe("3m");
    expect(b?.prefix).toBe("db/prod");
    expect(b?.bucket).toBe("acme-backups");
  });

  it("refuses a schedule that is not cron, and a retention Barman cannot read", () => {
    expect(attempt(inDefaults(backupsSettings({ schedule: "daily" })))).toContain(
      "environments.staging.backups.schedule: is not a cron schedule: has 1 fields",
    );
    expect(() => exampleWith(inDefaults(backupsSettings({ retention: "30 days" })))).toThrow(
      /retention.*"30d"/,
    );
  });

  it("refuses plinth's own or the state backend's credentials as the bucket token", () => {
    const message = attempt((raw) => {
      const b = backupsSettings();
      raw.defaults = {
        ...raw.defaults,
        backups: {
          ...b,
          destination: {
            ...b.destination,
            credentials: {
              accessKeyId: { fromEnv: "AWS_ACCESS_KEY_ID" },
              secretAccessKey: { fromEnv: "AWS_SECRET_ACCESS_KEY" },
            },
          },
        },
      };
    });
    expect(message).toContain("AWS_ACCESS_KEY_ID holds plinth's own credentials");
  });

  it("refuses backups where cert-manager is off (the plugin's certificates)", () => {
    const message = attempt(inDefaults(backupsSettings()), "dev");
    expect(message).toContain("environments.dev.backups: need cert-manager");
  });
});

describe("cron: how late a backup may be", () => {
  const gapHours = (s: string) => {
    const c = parseCron(s);
    if (typeof c === "string") throw new Error(c);
    return longestGapMs(c) / 3_600_000;
  };
  it("measures the longest gap between runs", () => {
    expect(gapHours("0 3 * * *")).toBe(24);
    expect(gapHours("30 */6 * * *")).toBe(6);
    expect(gapHours("0 3 * * 0")).toBe(24 * 7);
    expect(gapHours("0 1,13 * * 1-5")).toBe(60); // Friday 13:00 to Monday 01:00
    expect(gapHours("0 3 1 * *")).toBe(24 * 31);
  });
  it("says what is wrong with a bad schedule", () => {
    expect(parseCron("0 25 * * *")).toBe('hour "25": must lie within 0-23');
    expect(parseCron("0 3 * *")).toContain("has 4 fields");
    const never = parseCron("0 3 30 2 *");
    if (typeof never === "string") throw new Error(never);
    expect(longestGapMs(never)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("backup commands: bad input, before anything is read", () => {
  it("backup status of an environment without backups says how to add them (exit 2)", async () => {
    const out = await cli(["backup", "status", "staging", "--config", EXAMPLE_PATH], process.cwd());
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("environments.staging.backups: staging has no backups");
  });
  it("backup without an action, and an unknown one, show the usage (exit 2)", async () => {
    for (const argv of [["backup"], ["backup", "list", "staging"]]) {
      const out = await cli([...argv, "--config", EXAMPLE_PATH], process.cwd());
      expect(out.code).toBe(2);
      expect(out.stderr).toContain("usage: plinth backup status <env>");
    }
  });
  it("restore-drill refuses a target time without its offset (exit 2)", async () => {
    const out = await cli(
      ["restore-drill", "staging", "--target-time", "2026-05-01 03:00", "--config", EXAMPLE_PATH],
      process.cwd(),
    );
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("--target-time: is not a point in time with its offset");
  });
});

describe("restore objectives", () => {
  it("are read from config as seconds, and a malformed one is refused", () => {
    const config = exampleWith(inDefaults(backupsSettings({ objectives: { rpo: "15m", rto: "1h30m" } })));
    expect(resolve(config, "prod").backups?.objectives).toEqual({ rpoSeconds: 900, rtoSeconds: 5400 });
    expect(() => exampleWith(inDefaults(backupsSettings({ objectives: { rto: "an hour" } })))).toThrow(
      /objectives\.rto.*"15m"/,
    );
    expect(() => exampleWith(inDefaults(backupsSettings({ objectives: { rpo: "" } })))).toThrow(
      /objectives\.rpo/,
    );
  });
  it("fail a drill that restored too slowly or from too old a WAL, and say by how much", () => {
    const objectives = { rpoSeconds: 900, rtoSeconds: 3600 };
    expect(missedObjectives({ ready: true, rtoSeconds: 1200 }, 60, objectives)).toEqual([]);
    expect(missedObjectives({ ready: true, rtoSeconds: 4000 }, 1000, objectives)).toEqual([
      "RTO 4000 s is over the objective of 3600 s",
      "RPO 1000 s is over the objective of 900 s",
    ]);
    expect(missedObjectives({ ready: true, rtoSeconds: 10 }, undefined, objectives)).toEqual([
      "RPO not measured (the bucket could not be read), objective unproven",
    ]);
    expect(missedObjectives({ ready: true, rtoSeconds: 4000 }, 1000, {})).toEqual([]);
  });
});
