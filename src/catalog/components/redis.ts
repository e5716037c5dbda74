import type { ResolvedEnvironment } from "../../model/types.js";
import { type DumpTarget, dumpObjects, dumpSecrets } from "../backup-jobs.js";
import { helmChart, labels, memoryFor, namespaceOf, STORAGE_CLASS } from "../objects.js";
import type { Component } from "../types.js";
import { CHARTS, IMAGES } from "../versions.js";

const OPERATOR_NAMESPACE = "redis-operator";
const SECRET = "redis-auth";

function memory(env: ResolvedEnvironment): string {
  return memoryFor(env, "redis", { full: "512Mi", small: "128Mi" });
}

/** Redis persists (append-only file on its volume): with backups, a nightly RDB dump to the bucket. */
export function redisDumpTarget(env: ResolvedEnvironment): DumpTarget | undefined {
  if (!env.backups) return undefined;
  const namespace = namespaceOf(env, "redis", "data");
  return {
    component: "redis",
    kind: "redis",
    name: "redis",
    namespace,
    host: "redis",
    port: 6379,
    password: { secret: SECRET, key: "password" },
    image: IMAGES.redis,
    backups: env.backups,
  };
}

/**
 * Phase 2.2: Redis through the OT-Container-Kit operator and a standalone `Redis` resource.
 * The image is Redis 7.0 (BSD); Redis 7.4+ is RSALv2/SSPL.
 */
export const redis: Component = {
  id: "redis",
  title: "Redis",
  phase: "2",
  step: "2.2",
  layer: "L3",
  scope: "environment",
  dependsOn: ["k3s"],
  stateful: true,
  namespace: (env) => namespaceOf(env, "redis", "data"),
  objects(env) {
    const ns = namespaceOf(env, "redis", "data");
    return [
      helmChart(env, "redis", {
        name: "redis-operator",
        chart: CHARTS.redisOperator,
        targetNamespace: OPERATOR_NAMESPACE,
        stateful: false,
        values: { resources: { requests: { memory: "64Mi", cpu: "50m" } } },
      }),
      {
        apiVersion: "redis.redis.opstreelabs.in/v1beta2",
        kind: "Redis",
        metadata: { name: "redis", namespace: ns, labels: labels(env, "redis") },
        spec: {
          kubernetesConfig: {
            image: IMAGES.redis,
            imagePullPolicy: "IfNotPresent",
            redisSecret: { name: SECRET, key: "password" },
            resources: { requests: { memory: memory(env), cpu: "50m" }, limits: { memory: memory(env) } },
          },
          // OpenPanel's queues need noeviction: evicted jobs are lost jobs.
          redisConfig: { additionalRedisConfig: "redis-config" },
          storage: {
            volumeClaimTemplate: {
              spec: {
                storageClassName: STORAGE_CLASS,
                accessModes: ["ReadWriteOnce"],
                resources: { requests: { storage: env.storage.redis } },
              },
            },
          },
        },
      },
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "redis-config", namespace: ns, labels: labels(env, "redis") },
        data: { "redis-additional.conf": "maxmemory-policy noeviction\nappendonly yes\n" },
      },
      ...dumpObjects(env, redisDumpTarget(env)),
    ];
  },
  secrets: (env) => [
    {
      name: SECRET,
      namespace: namespaceOf(env, "redis", "data"),
      keys: { password: { length: 32, alphabet: "alphanumeric" } },
      consumers: ["redis", "openpanel", "apps"],
    },
    ...dumpSecrets(redisDumpTarget(env)),
  ],
  health: (env) => [
    { kind: "redis-ping", service: "redis", namespace: namespaceOf(env, "redis", "data"), port: 6379 },
  ],
  requests: (env) => ({ memory: memory(env), cpu: "100m" }),
};
