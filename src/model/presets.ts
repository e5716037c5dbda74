import type { ComponentId, EnvironmentKind } from "../config/ids.js";
import type { Storage } from "./types.js";

export interface Preset {
  /** Default single-label prefix for the frontend host; `""` is the apex (prod). */
  domainPrefix?: string;
  /** dev serves on localhost and ci has no ingress at all: neither has DNS, zones or certificates. */
  hosting: "public" | "localhost" | "none";
  features: {
    observability: boolean;
    backstage: boolean;
    arangodb: boolean;
    clickhouse: boolean;
    vault: boolean;
  };
  /** Components this kind never gets unless the user turns them on explicitly. */
  off: readonly ComponentId[];
  storage: Storage;
}

const SMALL: Storage = {
  platformPostgres: "1Gi",
  postgres: "5Gi",
  redis: "1Gi",
  arangodb: "5Gi",
  clickhouse: "5Gi",
  signoz: "10Gi",
};

/** The blueprint's staging template sizes (postgres 50Gi, redis 20Gi, arangodb 100Gi). */
const FULL: Storage = {
  platformPostgres: "10Gi",
  postgres: "50Gi",
  redis: "20Gi",
  arangodb: "100Gi",
  clickhouse: "50Gi",
  signoz: "50Gi",
};

const base = { observability: false, backstage: false, arangodb: true, clickhouse: true };

/** What each of the blueprint's environment kinds gets by default (seed 1.2 and 1.3). */
export const PRESETS: Readonly<Record<EnvironmentKind, Preset>> = Object.freeze({
  dev: { hosting: "localhost", features: { ...base, vault: false }, off: [], storage: SMALL },
  ci: {
    hosting: "none",
    features: { ...base, arangodb: false, clickhouse: false, vault: false },
    off: ["dashboard", "kubero"],
    storage: SMALL,
  },
  test: {
    hosting: "public",
    domainPrefix: "x-test",
    features: { ...base, vault: false },
    off: ["signoz"],
    storage: SMALL,
  },
  staging: {
    hosting: "public",
    domainPrefix: "staging",
    features: { ...base, vault: true },
    off: [],
    storage: FULL,
  },
  prod: { hosting: "public", domainPrefix: "", features: { ...base, vault: true }, off: [], storage: FULL },
});

/** Rank used to pick a cluster's primary environment (the one naming its shared hosts). */
export const KIND_RANK: Readonly<Record<EnvironmentKind, number>> = {
  prod: 0,
  staging: 1,
  test: 2,
  dev: 3,
  ci: 4,
};
