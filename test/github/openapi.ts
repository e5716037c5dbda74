/**
 * GitHub's official OpenAPI description (`@octokit/openapi`, api.github.com, dereferenced) as a
 * judge of requests and responses: an operation is found by method and path template, its path
 * and query parameters and JSON body checked, and a response checked against the schema GitHub
 * documents for that status. The 73 MB file is parsed once per process; only the operations a
 * test meets are compiled (ajv), the rest is dropped.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv, type ValidateFunction } from "ajv";

type Schema = Record<string, unknown>;

interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: Schema;
}

interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

export interface Matched {
  method: string;
  template: string;
  operation: Operation;
  params: Record<string, string>;
}

const METHODS = ["get", "put", "post", "patch", "delete", "head"] as const;

interface Spec {
  paths: Record<string, Record<string, Operation>>;
}

let spec: Spec | undefined;
let routes: { template: string; regex: RegExp; names: string[]; literal: number }[] | undefined;

function load(): Spec {
  if (spec) return spec;
  const file = createRequire(import.meta.url).resolve("@octokit/openapi/generated/api.github.com.deref.json");
  const parsed = JSON.parse(readFileSync(file, "utf8")) as Spec;
  spec = parsed;
  routes = Object.keys(parsed.paths).map((template) => {
    const names: string[] = [];
    const source = template
      .replace(/[.*+?^$()|[\]\\]/g, "\\$&")
      .replace(/\{([^}]+)\}/g, (_, name: string) => {
        names.push(name);
        return "([^/]+)";
      });
    return {
      template,
      regex: new RegExp(`^${source}$`),
      names,
      literal: template.replace(/\{[^}]+\}/g, "").length,
    };
  });
  return parsed;
}

/**
 * The documented operations for a method and path, most literal template first (a path can fit
 * two templates: `/compare/{basehead}` and `/compare/{base}...{head}`), or why there is none.
 */
export function matchOperation(method: string, path: string): Matched[] | string {
  const s = load();
  const m = method.toLowerCase();
  if (!(METHODS as readonly string[]).includes(m)) return `method ${method} is not in GitHub's REST API`;
  const candidates = (routes ?? [])
    .map((r) => ({ r, hit: r.regex.exec(path) }))
    .filter((c) => c.hit)
    .sort((a, b) => b.r.literal - a.r.literal);
  if (candidates.length === 0) return `no path of GitHub's REST API matches ${path}`;
  const out: Matched[] = [];
  for (const { r, hit } of candidates) {
    const operation = s.paths[r.template]?.[m];
    if (!operation || !hit) continue;
    const params = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(hit[i + 1] ?? "")]));
    out.push({ method: m, template: r.template, operation, params });
  }
  return out.length
    ? out
    : `GitHub's REST API has ${candidates.map((c) => c.r.template).join(", ")} but no ${method} on it`;
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
// The formats GitHub's schemas use, checked by shape (ajv-formats is not a dependency of plinth).
ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
ajv.addFormat("date", /^\d{4}-\d\d-\d\d$/);
ajv.addFormat("uri", (v: string) => URL.canParse(v));
ajv.addFormat("email", /^[^@\s]+@[^@\s]+$/);
for (const f of ["uri-template", "hostname", "ipv4", "ipv6", "uuid", "binary", "repo.nwo", "int32", "int64"])
  ajv.addFormat(f, true);

const compiled = new WeakMap<Schema, ValidateFunction>();

/** OpenAPI 3.0's `nullable: true` as JSON Schema says it (ajv wants it beside a `type`). */
function toJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (typeof schema !== "object" || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    // Schema maps hold schemas; `example(s)` and `enum` hold data, left as they are.
    out[k] = k === "example" || k === "examples" || k === "enum" || k === "default" ? v : toJsonSchema(v);
  }
  if (out.nullable !== true) return out;
  delete out.nullable;
  if (typeof out.type === "string") {
    out.type = [out.type, "null"];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  return { anyOf: [out, { type: "null" }] };
}

function validator(schema: Schema): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(toJsonSchema(schema) as Schema);
    compiled.set(schema, v);
  }
  return v;
}

function errorsOf(v: ValidateFunction): string {
  return (v.errors ?? [])
    .slice(0, 5)
    .map(
      (e) =>
        `${e.instancePath || "(body)"} ${e.message ?? ""}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`,
    )
    .join("; ");
}

/** A path or query value (always text on the wire) as the type its schema declares. */
function coerce(value: string, schema: Schema | undefined): unknown {
  const type = schema?.type;
  if ((type === "integer" || type === "number") && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (type === "boolean" && (value === "true" || value === "false")) return value === "true";
  return value;
}

/** Every way the request breaks the operation's contract (empty: it keeps it). */
export function checkRequest(m: Matched, query: URLSearchParams, body: unknown): string[] {
  const out: string[] = [];
  const params = m.operation.parameters ?? [];
  for (const p of params.filter((p) => p.in === "path")) {
    const v = validator(p.schema ?? {});
    if (!v(coerce(m.params[p.name] ?? "", p.schema))) out.push(`path parameter ${p.name}: ${errorsOf(v)}`);
  }
  const known = new Set(params.filter((p) => p.in === "query").map((p) => p.name));
  for (const name of query.keys()) if (!known.has(name)) out.push(`unknown query parameter ${name}`);
  for (const p of params.filter((p) => p.in === "query")) {
    const value = query.get(p.name);
    if (value === null) {
      if (p.required) out.push(`missing required query parameter ${p.name}`);
      continue;
    }
    const v = validator(p.schema ?? {});
    if (!v(coerce(value, p.schema))) out.push(`query parameter ${p.name}: ${errorsOf(v)}`);
  }
  const schema = m.operation.requestBody?.content?.["application/json"]?.schema;
  if (body === undefined) {
    if (m.operation.requestBody?.required) out.push("missing the required JSON body");
  } else if (!schema) {
    out.push("sends a JSON body the operation does not take");
  } else {
    const v = validator(schema);
    if (!v(body)) out.push(`body: ${errorsOf(v)}`);
  }
  return out;
}

/** Why a response breaks the documented schema for its status (undefined: it keeps it). */
export function checkResponse(m: Matched, status: number, body: unknown): string | undefined {
  const documented = m.operation.responses[String(status)];
  if (!documented) return `status ${status} is not a documented answer of ${m.operation.operationId}`;
  const schema = documented.content?.["application/json"]?.schema;
  if (!schema)
    return body === undefined ? undefined : `status ${status} of ${m.operation.operationId} has no body`;
  const v = validator(schema);
  return v(body) ? undefined : `response ${status} of ${m.operation.operationId}: ${errorsOf(v)}`;
}

/** The response schema of an operation for a status, for building answers from it. */
export function responseSchema(m: Matched, status: number): Schema | undefined {
  return m.operation.responses[String(status)]?.content?.["application/json"]?.schema;
}

/**
 * A value the schema accepts, built around what the stand-in gives: given fields kept (and filled
 * in below, if objects), every other required property at its least (nullable ones null, the
 * first of an enum, numbers 1, text "x"). GitHub's objects are large (a pull request carries two
 * full repositories): the stand-in states what matters and this fills the rest; the result is
 * validated like any answer.
 */
export function fill(schema: Schema | undefined, given?: unknown): unknown {
  if (!schema) return given ?? null;
  const alternatives = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (alternatives?.length) {
    const kind = given === null ? "null" : Array.isArray(given) ? "array" : typeof given;
    const fits = (a: Schema) =>
      given === undefined
        ? a.type !== "null"
        : a.type === kind || (kind === "number" && a.type === "integer") || (kind === "object" && !a.type);
    return fill(alternatives.find(fits) ?? alternatives[0], given);
  }
  if (Array.isArray(schema.allOf)) {
    const parts = schema.allOf as Schema[];
    const merged: Schema = {
      type: "object",
      properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})),
      required: parts.flatMap((p) => (p.required ?? []) as string[]),
    };
    return fill(merged, given);
  }
  if (given === null) return null;
  if (given === undefined) {
    if (Array.isArray(schema.enum)) return schema.enum[0];
    if (schema.nullable === true) return null;
  }
  const type = Array.isArray(schema.type) ? (schema.type as string[]).find((t) => t !== "null") : schema.type;
  if (type === "object" || (type === undefined && schema.properties)) {
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    const value = (typeof given === "object" && given !== null ? given : {}) as Record<string, unknown>;
    const keys = new Set([...((schema.required ?? []) as string[]), ...Object.keys(value)]);
    return Object.fromEntries([...keys].map((k) => [k, fill(props[k], value[k])]));
  }
  if (given !== undefined) {
    if (type === "array" && Array.isArray(given)) return given.map((g) => fill(schema.items as Schema, g));
    return given;
  }
  switch (type) {
    case "array":
      return [];
    case "integer":
    case "number":
      return typeof schema.minimum === "number" ? schema.minimum : 1;
    case "boolean":
      return false;
    case "string":
      switch (schema.format) {
        case "date-time":
          return "2026-01-01T00:00:00Z";
        case "date":
          return "2026-01-01";
        case "uri":
          return "https://github.invalid/";
        case "email":
          return "someone@example.invalid";
        default:
          return "x";
      }
    default:
      return null;
  }
}
