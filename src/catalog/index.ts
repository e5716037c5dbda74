import type { ComponentId } from "../config/ids.js";
import { arangodb } from "./components/arangodb.js";
import { backstage } from "./components/backstage.js";
import { certManager } from "./components/cert-manager.js";
import { clickhouse } from "./components/clickhouse.js";
import { cnpgOperator } from "./components/cnpg-operator.js";
import { dashboard } from "./components/dashboard.js";
import { k3s } from "./components/k3s.js";
import { kubero } from "./components/kubero.js";
import { openpanel } from "./components/openpanel.js";
import { platformPostgres } from "./components/platform-postgres.js";
import { postgres } from "./components/postgres.js";
import { redis } from "./components/redis.js";
import { signoz } from "./components/signoz.js";
import { sso } from "./components/sso.js";
import { traefik } from "./components/traefik.js";
import { vault } from "./components/vault.js";
import { vaultSecretsOperator } from "./components/vault-secrets-operator.js";
import type { Component } from "./types.js";

/** The catalog, keyed by component id; `CATALOG_ORDER` is the order in which phases list them. */
export const CATALOG: Readonly<Record<ComponentId, Component>> = Object.freeze({
  k3s,
  traefik,
  "cert-manager": certManager,
  "cnpg-operator": cnpgOperator,
  "platform-postgres": platformPostgres,
  vault,
  "vault-secrets-operator": vaultSecretsOperator,
  dashboard,
  kubero,
  postgres,
  redis,
  arangodb,
  clickhouse,
  signoz,
  openpanel,
  backstage,
  sso,
});
