import type { ResolvedEnvironment } from "../../model/types.js";
import { publishHosts } from "../gate.js";
import { helmChart, namespaceOf } from "../objects.js";
import { ownerSecretName } from "../postgres-cluster.js";
import type { Component } from "../types.js";
import { CHARTS, IMAGES } from "../versions.js";
import { businessPostgresOptions } from "./postgres.js";

const ENV_SECRET = "backstage-env";

function namespace(env: ResolvedEnvironment): string {
  return namespaceOf(env, "backstage", "observability");
}

/** Phase 3.3 (off by default, `features.backstage`): the developer portal, on the business PostgreSQL. */
export const backstage: Component = {
  id: "backstage",
  title: "Backstage",
  phase: "3",
  step: "3.3",
  layer: "L2",
  scope: "environment",
  dependsOn: ["postgres"],
  stateful: false,
  namespace,
  objects(env) {
    const pg = businessPostgresOptions(env);
    return [
      helmChart(env, "backstage", {
        name: `backstage-${env.name}`,
        chart: CHARTS.backstage,
        targetNamespace: namespace(env),
        stateful: false,
        values: {
          // Bitnami's bundled PostgreSQL is unmaintained since 2025: use the environment's own.
          postgresql: { enabled: false },
          backstage: {
            // The chart defaults to ghcr.io/backstage/backstage:latest.
            image: { ...IMAGES.backstage },
            extraEnvVarsSecrets: [ENV_SECRET],
            extraEnvVars: [
              { name: "POSTGRES_HOST", value: `${pg.name}-rw.${pg.namespace}.svc` },
              { name: "POSTGRES_PORT", value: "5432" },
            ],
            resources: { requests: { memory: "512Mi", cpu: "100m" } },
          },
          // plinth's own Ingress (below) carries the SSO gate.
          ingress: { enabled: false },
        },
      }),
      ...publishHosts(env, {
        component: "backstage",
        scope: "environment",
        namespace: namespace(env),
        name: "backstage",
        routes: [{ service: "backstage", backend: { name: `backstage-${env.name}`, port: 7007 } }],
      }),
    ];
  },
  secrets(env) {
    const pg = businessPostgresOptions(env);
    return [
      {
        name: ENV_SECRET,
        namespace: namespace(env),
        keys: {
          POSTGRES_USER: { length: 0, alphabet: "alphanumeric", fixed: pg.owner },
          POSTGRES_PASSWORD: {
            length: 0,
            alphabet: "alphanumeric",
            template: `{${ownerSecretName(pg)}.password}`,
          },
          BACKEND_SECRET: { length: 48, alphabet: "base64url" },
        },
        consumers: ["backstage"],
      },
    ];
  },
  health: (env) => [
    {
      kind: "http",
      service: `backstage-${env.name}`,
      namespace: namespace(env),
      port: 7007,
      path: "/.backstage/health/v1/readiness",
    },
  ],
  requests: () => ({ memory: "512Mi", cpu: "100m" }),
};
