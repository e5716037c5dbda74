import { type DumpTarget, dumpFolder } from "../catalog/backup-jobs.js";
import type { BackedUpDatabase } from "../catalog/backup-targets.js";
import type { DumpCatalog, ServerCatalog } from "../state/backup-catalog.js";

/** One database's backups as `plinth backup status` and `plinth status` show them. */
export interface BackupStatus {
  component: string;
  server: string;
  /** `s3://bucket/<path>/<env>/<server>/` */
  location: string;
  lastBackup?: { id: string; name?: string; finishedAt: string; ageSeconds: number };
  /** The newest archived WAL segment: its age is what a disaster would lose now (the RPO). */
  lastWal?: { name: string; archivedAt: string; ageSeconds: number };
  backups: number;
  /** Dumps only (no WAL): the job that makes them, e.g. `redis-backup`. */
  dumpJob?: string;
  walFiles: number;
  storedBytes: number;
  /** How old the newest base backup may be: the schedule's longest gap plus grace. */
  allowedAgeSeconds: number;
  ok: boolean;
  problem?: string;
}

/**
 * A base backup may take a while to run and to be written: it is late once the schedule's longest
 * gap plus an hour (or a tenth of the gap, if longer) has passed since the last one finished.
 */
export function allowedAgeMs(scheduleGapMs: number): number {
  return scheduleGapMs + Math.max(3_600_000, scheduleGapMs / 10);
}

/** Pure: the catalog read from the bucket, judged against the schedule at `now`. */
export function judgeBackups(db: BackedUpDatabase, catalog: ServerCatalog, now: Date): BackupStatus {
  const b = db.backups;
  const allowed = allowedAgeMs(b.scheduleGapMs);
  const done = catalog.backups.filter((x) => x.status === "DONE" && x.endTime);
  const last = done.at(-1);
  const age = (d: Date) => Math.max(0, Math.round((now.getTime() - d.getTime()) / 1000));
  const stored = catalog.backups.reduce((n, x) => n + x.storedBytes, 0) + catalog.wal.storedBytes;
  const status: BackupStatus = {
    component: db.component,
    server: db.server,
    location: `s3://${b.bucket}/${b.prefix}/${db.server}/`,
    backups: done.length,
    walFiles: catalog.wal.files,
    storedBytes: stored,
    allowedAgeSeconds: Math.round(allowed / 1000),
    ok: true,
  };
  if (last?.endTime) {
    status.lastBackup = {
      id: last.id,
      ...(last.name ? { name: last.name } : {}),
      finishedAt: last.endTime.toISOString(),
      ageSeconds: age(last.endTime),
    };
  }
  if (catalog.wal.newest) {
    status.lastWal = {
      name: catalog.wal.newest.name,
      archivedAt: catalog.wal.newest.archivedAt.toISOString(),
      ageSeconds: age(catalog.wal.newest.archivedAt),
    };
  }
  if (!last?.endTime) {
    status.ok = false;
    status.problem = "no finished base backup: nothing can be restored yet";
  } else if (now.getTime() - last.endTime.getTime() > allowed) {
    status.ok = false;
    status.problem = `the newest base backup finished ${duration(age(last.endTime))} ago; the schedule "${b.schedule}" allows ${duration(allowed / 1000)}`;
  }
  return status;
}

/**
 * Pure: a dump job's folder judged like a base backup. The newest complete dump (its marker is
 * there) must be younger than the schedule allows; a newer folder without its marker is a run
 * that failed or is still going, said but not failed on (the complete one still restores).
 */
export function judgeDumps(t: DumpTarget, catalog: DumpCatalog, now: Date): BackupStatus {
  const b = t.backups;
  const allowed = allowedAgeMs(b.scheduleGapMs);
  const age = (d: Date) => Math.max(0, Math.round((now.getTime() - d.getTime()) / 1000));
  const done = catalog.dumps.filter((d) => d.complete && d.finishedAt);
  const last = done.at(-1);
  const status: BackupStatus = {
    component: t.component,
    server: t.name,
    location: `s3://${b.bucket}/${dumpFolder(t)}/`,
    backups: done.length,
    dumpJob: `${t.name}-backup`,
    walFiles: 0,
    storedBytes: catalog.dumps.reduce((n, d) => n + d.storedBytes, 0),
    allowedAgeSeconds: Math.round(allowed / 1000),
    ok: true,
  };
  if (last?.finishedAt) {
    status.lastBackup = {
      id: last.stamp,
      finishedAt: last.finishedAt.toISOString(),
      ageSeconds: age(last.finishedAt),
    };
  }
  const unfinished = catalog.dumps.filter((d) => !d.complete && (!last || d.stamp > last.stamp)).at(-1);
  if (!last?.finishedAt) {
    status.ok = false;
    status.problem = `no complete dump (${t.name}-backup has not run, or every run failed): nothing can be restored yet`;
  } else if (now.getTime() - last.finishedAt.getTime() > allowed) {
    status.ok = false;
    status.problem = `the newest complete dump finished ${duration(age(last.finishedAt))} ago; the schedule "${b.schedule}" allows ${duration(allowed / 1000)}`;
  }
  if (unfinished) {
    const note = `dump ${unfinished.stamp} has no completion marker: that run failed or is still going (kubectl -n ${t.namespace} get jobs)`;
    status.problem = status.problem ? `${status.problem}; ${note}` : note;
  }
  return status;
}

/** `3d 4h`, `2h 5m`, `40s`: the two largest units. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  const units: [string, number][] = [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [unit, size] of units) {
    if (rest >= size || (unit === "s" && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
