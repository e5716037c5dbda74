import { DATA_KINDS } from "../plan/live.js";
import type { Change, Plan } from "../plan/plan.js";
import type { FieldDiff } from "../providers/types.js";
import type { EnvDiff } from "./desired-diff.js";

/**
 * The pull request's comments as Markdown. Pure: rows in, text out. One sticky comment per pull
 * request (found again by its hidden marker and edited in place) with the summary table first and
 * a collapsible section per environment; replies to commands carry their own marker so a newer
 * reply for the same environment minimizes the older one instead of piling up.
 */
export const STICKY_MARKER = "<!-- plinth:pull-request -->";
export const replyMarker = (topic: string) => `<!-- plinth:reply ${topic} -->`;
/** GitHub refuses a comment body longer than this (characters). */
export const COMMENT_LIMIT = 65_536;

export interface EnvRow {
  env: string;
  /** What the numbers are: `desired state` (no credentials), `live plan` (stored), `applied`. */
  source: string;
  create: number;
  update: number;
  adopt: number;
  delete: number;
  /** Objects holding data that the change creates, edits, deletes or releases. */
  data: number;
  dns: number;
  vault: number;
  /** The field diffs, one line each (Markdown inside a diff block). */
  lines: string[];
  /** Said under the table (an invalid config, a refusal). */
  note?: string;
}

const SYMBOL = { create: "+", update: "~", adopt: "=", delete: "-", "no-op": " " } as const;

const show = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : (JSON.stringify(v) ?? "undefined"));

function diffLines(diff: readonly FieldDiff[] | undefined): string[] {
  return (diff ?? [])
    .slice(0, 50)
    .map(
      (d) =>
        `    ${d.path}: ${d.before === undefined ? "(none)" : show(d.before)} → ${d.after === undefined ? "(none)" : show(d.after)}`,
    );
}

const where = (c: { kind: string; name: string; namespace?: string }) =>
  `${c.kind} ${c.namespace ? `${c.namespace}/` : ""}${c.name}`;

/** The desired-state diff of environments that change; the others listed by name. */
export function rowsFromDesired(diffs: readonly EnvDiff[]): { rows: EnvRow[]; unchanged: string[] } {
  const rows: EnvRow[] = [];
  const unchanged: string[] = [];
  for (const d of diffs) {
    if (d.status === "same") {
      unchanged.push(d.env);
      continue;
    }
    const count = (a: string) => d.changes.filter((c) => c.action === a).length;
    const lines = d.changes.flatMap((c) => [
      `${SYMBOL[c.action]} ${c.action} ${where(c.item)} (${c.item.component})`,
      ...diffLines(c.diff),
    ]);
    rows.push({
      env: d.env,
      source: d.status === "removed" ? "removed from the config" : "desired state",
      create: count("create"),
      update: count("update"),
      adopt: 0,
      delete: count("delete"),
      data: d.changes.filter((c) => c.item.data).length,
      dns: d.changes.filter((c) => c.item.area === "dns").length,
      vault: d.changes.filter((c) => c.item.area === "vault").length,
      lines,
      ...(d.status === "invalid"
        ? { note: `the config does not resolve for ${d.env}: ${d.error ?? ""}` }
        : {}),
    });
  }
  return { rows, unchanged };
}

const isData = (c: Change) =>
  DATA_KINDS.has(`${c.apiVersion ?? "v1"}/${c.kind}`) ||
  (c.spec as { release?: boolean } | undefined)?.release === true;

/** A live plan as a row: every change but no-ops, Vault's and DNS's counted apart. */
export function rowFromPlan(plan: Plan, source: string): EnvRow {
  const changes = plan.phases.flatMap((p) => p.components.flatMap((c) => c.changes.map((ch) => ({ c, ch }))));
  const dns = (plan.outside?.dns ?? []).filter((c) => c.action !== "no-op");
  const pending = changes.filter(
    ({ ch }) => ch.action !== "no-op" || (ch.spec as { release?: boolean })?.release,
  );
  // A Vault that could not be planned (unreachable, answering oddly) is said, as `plinth plan` says it.
  const unplanned = changes.filter(({ ch }) => ch.action === "no-op" && ch.kind === "VaultServer");
  const lines = [
    ...dns.map((c) => `${SYMBOL[c.action]} ${c.action} DNS ${c.name}${c.detail ? ` (${c.detail})` : ""}`),
    ...pending.flatMap(({ c, ch }) => [
      `${SYMBOL[ch.action]} ${ch.action === "no-op" ? "release" : ch.action} ${where(ch)} (${c.id})${ch.detail ? `: ${ch.detail}` : ""}`,
      ...diffLines(ch.diff),
    ]),
    ...unplanned.map(({ c, ch }) => `  ${where(ch)} (${c.id}): ${ch.detail ?? "not planned"}`),
  ];
  return {
    env: plan.env,
    source,
    create: plan.summary.create,
    update: plan.summary.update,
    adopt: plan.summary.adopt,
    delete: plan.summary.delete,
    data: pending.filter(({ ch }) => isData(ch)).length,
    dns: dns.length,
    vault: pending.filter(({ c, ch }) => ch.provider === "vault" || c.id === "vault").length,
    lines,
  };
}

/** Whether applying the plan deletes or releases data: `/apply <env> --delete-data` is needed then. */
export function touchesData(plan: Plan): boolean {
  return plan.phases.some((p) =>
    p.components.some((c) =>
      c.changes.some(
        (ch) =>
          isData(ch) && (ch.action === "delete" || (ch.spec as { release?: boolean })?.release === true),
      ),
    ),
  );
}

function table(rows: readonly EnvRow[]): string {
  const head =
    "| environment | create | update | adopt | delete | data touched | DNS | Vault | from |\n|---|--:|--:|--:|--:|--:|--:|--:|---|";
  const dash = (n: number) => (n ? String(n) : "·");
  return [
    head,
    ...rows.map(
      (r) =>
        `| **${r.env}** | ${dash(r.create)} | ${dash(r.update)} | ${dash(r.adopt)} | ${dash(r.delete)} | ${r.data ? `⚠ ${r.data}` : "·"} | ${dash(r.dns)} | ${dash(r.vault)} | ${r.source} |`,
    ),
  ].join("\n");
}

function details(r: EnvRow, lines: readonly string[]): string {
  const title = `${r.env}: ${r.create} to create, ${r.update} to update, ${r.adopt} to adopt, ${r.delete} to delete`;
  const body = lines.length
    ? `\`\`\`diff\n${lines.join("\n").replaceAll("```", "'''")}\n\`\`\``
    : "_nothing to show_";
  return `<details><summary>${title}</summary>\n\n${body}\n\n</details>`;
}

export interface CommentParts {
  marker: string;
  title: string;
  rows: readonly EnvRow[];
  /** Environments with no change: one line. */
  unchanged?: readonly string[];
  /** Paragraphs after the table (how to apply, fork notice, refusals). */
  notes?: readonly string[];
}

/**
 * The comment, always under GitHub's limit: when the field diffs do not fit, the longest
 * environments' diffs are cut (and said to be), the table and notes never. `full` is the whole
 * text, for the job summary.
 */
export function renderComment(
  p: CommentParts,
  limit = COMMENT_LIMIT,
): { body: string; full: string; cut: boolean } {
  const head = [
    p.marker,
    `### ${p.title}`,
    "",
    p.rows.length ? table(p.rows) : p.unchanged ? "_No environment changes._" : "",
    ...(p.unchanged?.length ? ["", `No changes: ${p.unchanged.join(", ")}.`] : []),
    ...p.rows.filter((r) => r.note).map((r) => `\n> ${r.note}`),
  ].join("\n");
  const tail = p.notes?.length ? `\n\n${p.notes.join("\n\n")}` : "";
  const build = (cut: Map<string, number>) =>
    `${head}\n\n${p.rows
      .map((r) => {
        const keep = cut.get(r.env) ?? r.lines.length;
        const lines =
          keep < r.lines.length
            ? [...r.lines.slice(0, keep), `… ${r.lines.length - keep} more lines in the job summary`]
            : r.lines;
        return details(r, lines);
      })
      .join("\n\n")}${tail}`;
  const full = build(new Map());
  if (full.length <= limit) return { body: full, full, cut: false };
  // Halve the environment whose kept diff is longest (in characters) until it fits: a small one
  // keeps all of its lines; at worst every diff is gone.
  const cut = new Map(p.rows.map((r) => [r.env, r.lines.length]));
  const size = (r: EnvRow) => r.lines.slice(0, cut.get(r.env)).reduce((n, l) => n + l.length + 1, 0);
  let body = full;
  while (body.length > limit) {
    const largest = [...p.rows].sort((a, b) => size(b) - size(a))[0];
    const n = largest ? (cut.get(largest.env) ?? 0) : 0;
    if (!largest || n === 0) break;
    cut.set(largest.env, Math.floor(n / 2));
    body = build(cut);
  }
  if (body.length > limit)
    body = `${body.slice(0, limit - 80)}\n\n… cut to GitHub's comment limit; the rest is in the job summary`;
  return { body, full, cut: true };
}

const APPLIED_START = "<!-- plinth:applied -->";
const APPLIED_END = "<!-- /plinth:applied -->";

/**
 * The sticky comment with what was applied: one line per environment (the newest replaces the
 * environment's older line), in a section of its own after the table, so the summary a reviewer
 * reads first says what is live.
 */
export function withApplied(sticky: string, env: string, line: string): string {
  const start = sticky.indexOf(APPLIED_START);
  const end = sticky.indexOf(APPLIED_END);
  const lines =
    start >= 0 && end > start
      ? sticky
          .slice(start + APPLIED_START.length, end)
          .trim()
          .split("\n")
          .filter((l) => l.startsWith("- "))
      : [];
  const kept = lines.filter((l) => !l.startsWith(`- **${env}**`));
  const section = `${APPLIED_START}\n**Applied**\n\n${[...kept, `- **${env}**: ${line}`].join("\n")}\n${APPLIED_END}`;
  if (start >= 0 && end > start)
    return `${sticky.slice(0, start)}${section}${sticky.slice(end + APPLIED_END.length)}`;
  // After the table (the first blank line after the header), before the per-environment sections.
  const at = sticky.indexOf("\n\n<details>");
  const text =
    at >= 0 ? `${sticky.slice(0, at)}\n\n${section}${sticky.slice(at)}` : `${sticky}\n\n${section}`;
  return text.length <= COMMENT_LIMIT
    ? text
    : `${text.slice(0, COMMENT_LIMIT - 80)}\n\n… cut to GitHub's comment limit`;
}
