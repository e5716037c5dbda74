import type { ComponentId } from "../config/ids.js";
import type { ResolvedBackups } from "../model/backups.js";
import type { ResolvedEnvironment } from "../model/types.js";
import type { DumpTarget } from "./backup-jobs.js";
import { runsHere } from "./cluster.js";
import { arangodbDumpTarget } from "./components/arangodb.js";
import { clickhouseDumpTarget } from "./components/clickhouse.js";
import { platformPostgresOptions } from "./components/platform-postgres.js";
import { businessPostgresOptions } from "./components/postgres.js";
import { redisDumpTarget } from "./components/redis.js";
import { signozDumpTarget } from "./components/signoz-clickhouse.js";

/** One PostgreSQL the environment backs up: its Cluster (Barman's server name) and where it goes. */
export interface BackedUpDatabase {
  component: ComponentId;
  /** The CloudNativePG Cluster's name: its folder under the environment's backup folder. */
  server: string;
  namespace: string;
  backups: ResolvedBackups;
  /** The live Cluster's volume size and memory: a drill restores the same data. */
  storage: string;
  memory: string;
  /** The application database and its owner (whose Secret a restore of it accepts too). */
  database: string;
  owner: string;
}

/** Every PostgreSQL of the environment that runs on its cluster and is backed up, catalog order. */
export function backedUpDatabases(env: ResolvedEnvironment): BackedUpDatabase[] {
  const out: BackedUpDatabase[] = [];
  for (const [component, options] of [
    ["platform-postgres", platformPostgresOptions],
    ["postgres", businessPostgresOptions],
  ] as const) {
    const c = env.components[component];
    if (!c.enabled || c.placement.kind !== "local") continue;
    const o = options(env);
    if (o.backups) {
      out.push({
        component,
        server: o.name,
        namespace: o.namespace,
        backups: o.backups,
        storage: o.storage,
        memory: o.memory,
        database: o.database,
        owner: o.owner,
      });
    }
  }
  return out;
}

/** Every database of the environment that runs on its cluster and is dumped on the schedule, catalog order. */
export function backedUpDumps(env: ResolvedEnvironment): DumpTarget[] {
  const targets: [ComponentId, (e: ResolvedEnvironment) => DumpTarget | undefined][] = [
    ["arangodb", arangodbDumpTarget],
    ["redis", redisDumpTarget],
    ["clickhouse", clickhouseDumpTarget],
    ["signoz", signozDumpTarget],
  ];
  return targets.flatMap(([id, target]) => {
    const t = runsHere(env, id) ? target(env) : undefined;
    return t ? [t] : [];
  });
}
