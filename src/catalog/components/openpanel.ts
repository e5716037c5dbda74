import type { ResolvedEnvironment } from "../../model/types.js";
import { publishHosts } from "../gate.js";
import { hostOf, labels, namespaceOf } from "../objects.js";
import { ownerSecret } from "../owners.js";
import { ownerSecretName } from "../postgres-cluster.js";
import type { Component, KubeObject } from "../types.js";
import { IMAGES } from "../versions.js";
import { CLICKHOUSE_SECRET, clickhouseNamespace } from "./clickhouse.js";
import { businessPostgresOptions } from "./postgres.js";

const ENV_SECRET = "openpanel-env";

function namespace(env: ResolvedEnvironment): string {
  return namespaceOf(env, "openpanel", "observability");
}

interface Part {
  name: "api" | "dashboard" | "worker";
  port?: number;
  health?: string;
  memory: string;
}

const PARTS: readonly Part[] = [
  { name: "api", port: 3000, health: "/healthcheck", memory: "256Mi" },
  { name: "dashboard", port: 3000, health: "/api/healthcheck", memory: "256Mi" },
  { name: "worker", memory: "256Mi" },
];

function workload(env: ResolvedEnvironment, part: Part): KubeObject[] {
  const ns = namespace(env);
  const name = `openpanel-${part.name}`;
  const selector = { "app.kubernetes.io/name": name };
  const podLabels = { ...labels(env, "openpanel"), ...selector };
  const dashboardHost = hostOf(env, "openpanel");
  const apiHost = hostOf(env, "openpanel-api");
  const container: Record<string, unknown> = {
    name: part.name,
    image: IMAGES.openpanel[part.name],
    envFrom: [{ secretRef: { name: ENV_SECRET } }],
    env: [
      // Unset, anyone may register (packages/trpc/src/routers/auth.ts, getIsRegistrationAllowed);
      // "false" lets only the first user in (plinth's owner, apply/owners.ts), then invites.
      { name: "ALLOW_REGISTRATION", value: "false" },
      ...(dashboardHost ? [{ name: "NEXT_PUBLIC_DASHBOARD_URL", value: `https://${dashboardHost}` }] : []),
      ...(apiHost ? [{ name: "NEXT_PUBLIC_API_URL", value: `https://${apiHost}` }] : []),
    ],
    resources: { requests: { memory: part.memory, cpu: "50m" }, limits: { memory: part.memory } },
    ...(part.port
      ? {
          ports: [{ name: "http", containerPort: part.port }],
          readinessProbe: { httpGet: { path: part.health, port: "http" }, periodSeconds: 10 },
        }
      : {}),
  };
  const deployment: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns, labels: podLabels },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      template: { metadata: { labels: podLabels }, spec: { containers: [container] } },
    },
  };
  if (!part.port) return [deployment];
  const service: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: ns, labels: podLabels },
    spec: { selector, ports: [{ name: "http", port: part.port, targetPort: "http" }] },
  };
  return [deployment, service];
}

function ingress(env: ResolvedEnvironment): KubeObject[] {
  // The dashboard behind the SSO gate; the event API open to the product's visitors (catalog/gate.ts).
  return publishHosts(env, {
    component: "openpanel",
    scope: "environment",
    namespace: namespace(env),
    name: "openpanel",
    routes: [
      { service: "openpanel", backend: { name: "openpanel-dashboard", port: "http" } },
      { service: "openpanel-api", backend: { name: "openpanel-api", port: "http" } },
    ],
  });
}

/** Phase 3.2: OpenPanel (api, dashboard, worker) on the environment's PostgreSQL, Redis and ClickHouse. */
export const openpanel: Component = {
  id: "openpanel",
  title: "OpenPanel",
  phase: "3",
  step: "3.2",
  layer: "L2",
  scope: "environment",
  dependsOn: ["postgres", "redis", "clickhouse"],
  stateful: false,
  namespace,
  objects: (env) => [...PARTS.flatMap((p) => workload(env, p)), ...ingress(env)],
  secrets(env) {
    const pg = businessPostgresOptions(env);
    const redisNs = namespaceOf(env, "redis", "data");
    return [
      {
        name: ENV_SECRET,
        namespace: namespace(env),
        keys: {
          COOKIE_SECRET: { length: 48, alphabet: "base64url" },
          DATABASE_URL: {
            length: 0,
            alphabet: "alphanumeric",
            template: `postgresql://${pg.owner}:{${ownerSecretName(pg)}.password}@${pg.name}-rw.${pg.namespace}.svc:5432/${pg.database}`,
          },
          REDIS_URL: {
            length: 0,
            alphabet: "alphanumeric",
            template: `redis://:{redis-auth.password}@redis.${redisNs}.svc:6379`,
          },
          CLICKHOUSE_URL: {
            length: 0,
            alphabet: "alphanumeric",
            template: `http://openpanel:{${CLICKHOUSE_SECRET}.openpanel}@clickhouse-clickhouse.${clickhouseNamespace(env)}.svc:8123/openpanel`,
          },
        },
        consumers: ["openpanel"],
      },
      // Its first sign-up becomes the owner: plinth signs up first, as this account (owners.ts).
      ownerSecret(env, "openpanel"),
    ];
  },
  health: (env) => [
    { kind: "http", service: "openpanel-api", namespace: namespace(env), port: 3000, path: "/healthcheck" },
    {
      kind: "http",
      service: "openpanel-dashboard",
      namespace: namespace(env),
      port: 3000,
      path: "/api/healthcheck",
    },
  ],
  requests: () => ({ memory: "768Mi", cpu: "150m" }),
};
