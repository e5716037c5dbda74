import type * as z from "zod";
import { type Diagnostic, error } from "../diagnostics/diagnostic.js";
import { COMPONENT_IDS } from "./ids.js";
import type { LiteralSecret } from "./secret-ref.js";

/**
 * How the config's problems are told: each says what was found at a path and the fix, in words
 * that fit the field (a secret's advice only where a secret goes), and never quotes a secret.
 */

const REFERENCE = 'secret.env("NAME") for an environment variable, or secret.file("path") for a file';

export function literalSecretDiagnostic(s: LiteralSecret, file: string): Diagnostic {
  const where = { file, path: s.path };
  switch (s.kind) {
    case "shape":
      return error(`looks like ${s.looksLike}; secrets never live in config`, {
        ...where,
        fix: `keep it outside the config and refer to it: ${REFERENCE}`,
      });
    case "literal":
      return error("is a literal secret; secrets never live in config", {
        ...where,
        fix: "delete it (plinth generates it), or reference one with secret.env('NAME') or secret.file('path')",
      });
    case "placeholder":
      return error(
        "is a placeholder secret; plinth generates every credential and keeps it in a secret store",
        {
          ...where,
          fix: "delete it (plinth generates it), or reference one with secret.env('NAME') or secret.file('path')",
        },
      );
    case "ref-placeholder":
      return error("is a placeholder where a secret reference goes", {
        ...where,
        fix: `refer to the real one: ${REFERENCE}`,
      });
    case "value-placeholder":
      return error("is a placeholder, not a value", {
        ...where,
        fix: `write the real ${s.path.split(".").pop()}, or remove it to take the default`,
      });
  }
}

/** The allowed forms of the config's unions, by the field's name, for a value that is none of them. */
const FORMS: Record<string, string> = {
  sshKey: `write ${REFERENCE}`,
  url: `write ${REFERENCE}`,
  placement: 'write "local", { cluster: "name" } or { external: { url: secret.env("NAME") } }',
};

/** Secret references hold secrets' whereabouts: a plain string there may be the secret itself. */
const QUIET: ReadonlySet<string> = new Set(["sshKey", "url"]);

export function issueToDiagnostic(
  issue: z.core.$ZodIssue,
  file: string,
  prefix: PropertyKey[] = [],
): Diagnostic {
  const keys = [...prefix, ...issue.path].map(String);
  const path = keys.join(".");
  const field = keys[keys.length - 1] ?? "";
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "unrecognized_keys": {
      const what = path.endsWith("components") ? "component" : "field";
      return error(`unknown ${what}${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`, {
        file,
        path,
        fix:
          what === "component"
            ? `component ids are ${COMPONENT_IDS.join(", ")}`
            : "remove it or check its spelling against the configuration reference in the README",
      });
    }
    case "invalid_value":
      return notOneOf(input, issue.values, file, path);
    case "invalid_key":
      return error(
        `key ${JSON.stringify(path.split(".").pop())} is not allowed: ${issue.issues[0]?.message ?? ""}`,
        { file, path, fix: "use one of the names listed in the configuration reference" },
      );
    case "invalid_type": {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (input === undefined) return error("is required", { file, path, fix: `add ${field}, ${expected}` });
      return error(`is ${given(input, QUIET.has(field))}, expected ${expected}`, {
        file,
        path,
        fix: typeFix(input, issue.expected, field),
      });
    }
    case "invalid_union": {
      // A discriminated union (state.backend) says which values its key takes.
      const options = (issue as { options?: unknown[] }).options;
      const discriminator = (issue as { discriminator?: string }).discriminator;
      if (options && discriminator) {
        const value =
          input && typeof input === "object" ? (input as Record<string, unknown>)[discriminator] : input;
        return notOneOf(value, options, file, path);
      }
      // The form the value was written in (its top-level shape matched) tells the real problem.
      const branch = closest(issue.errors);
      if (branch) return issueToDiagnostic(branch, file, keys);
      return error(`is ${given(input, QUIET.has(field))}, which is none of the allowed forms`, {
        file,
        path,
        fix: FORMS[field] ?? "see the configuration reference in the README for the allowed forms",
      });
    }
    case "invalid_format": {
      // The schema's own words where it has them ("is not a Kubernetes quantity ..."); zod's
      // defaults ("Invalid email address") say neither what was given nor what would do.
      if (!issue.message.startsWith("Invalid ")) return error(issue.message, { file, path });
      const [what, example] = FORMATS[issue.format] ?? [`a valid ${issue.format}`, undefined];
      return error(`is ${given(input, QUIET.has(field))}, not ${what}`, {
        file,
        path,
        fix: example ? `write one such as ${example}` : `write ${what}`,
      });
    }
    case "too_small":
    case "too_big": {
      const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
      const inclusive = issue.inclusive !== false;
      // Strings count characters and lists items; numbers compare (`> 0` is "more than 0").
      const unit = { string: "character", array: "item" }[issue.origin as string];
      const limit = unit
        ? `${issue.code === "too_small" ? "at least" : "at most"} ${bound} ${unit}${bound === 1 ? "" : "s"}`
        : `${issue.code === "too_small" ? (inclusive ? "at least" : "more than") : inclusive ? "at most" : "less than"} ${bound}`;
      return error(`is ${given(input, QUIET.has(field))}, expected ${limit}`, {
        file,
        path,
        fix:
          input === ""
            ? "write a value, or remove the field"
            : unit
              ? `write ${limit}`
              : `write a value of ${limit}`,
      });
    }
    case "custom": {
      const fix = (issue.params as { fix?: unknown } | undefined)?.fix;
      return error(issue.message, { file, path, ...(typeof fix === "string" ? { fix } : {}) });
    }
    default:
      return error(issue.message, { file, path });
  }
}

/**
 * The first issue of the union's branch that got furthest: one whose every issue lies below the
 * value (so the value had that branch's shape), the one with fewest issues if several did.
 */
function closest(branches: z.core.$ZodIssue[][]): z.core.$ZodIssue | undefined {
  const matched = branches.filter((b) => b.length > 0 && b.every((i) => i.path.length > 0));
  matched.sort((a, b) => a.length - b.length);
  return matched[0]?.[0];
}

function notOneOf(input: unknown, values: readonly unknown[], file: string, path: string): Diagnostic {
  const allowed = values.map((v) => JSON.stringify(v)).join(", ");
  if (input === undefined) return error("is required", { file, path, fix: `set it to one of ${allowed}` });
  return error(`is ${given(input, false)}, not one of ${allowed}`, {
    file,
    path,
    fix: values.length === 1 ? `write ${allowed}` : "use one of those",
  });
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "an object ({ ... })",
  record: "an object ({ ... })",
  array: "a list ([ ... ])",
};

const FORMATS: Record<string, [string, string]> = {
  email: ["an email address", "ops@example.com"],
  url: ["a URL", "https://s3.example.com"],
};

/** What the user wrote, as words: short values quoted, secrets' places only by their type. */
function given(input: unknown, quiet: boolean): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "a list";
  switch (typeof input) {
    case "string":
      if (quiet) return "a string";
      return input.length > 40
        ? `a string of ${input.length} characters`
        : `the string ${JSON.stringify(input)}`;
    case "number":
      return `the number ${input}`;
    case "boolean":
      return String(input);
    case "object":
      return "an object";
    default:
      return `a ${typeof input}`;
  }
}

function typeFix(input: unknown, expected: string, field: string): string {
  if (FORMS[field]) return FORMS[field];
  if (
    typeof input === "string" &&
    expected === "number" &&
    input.trim() !== "" &&
    Number.isFinite(Number(input))
  )
    return `write the number without quotes: ${field}: ${Number(input)}`;
  if (typeof input === "string" && expected === "boolean")
    return `write ${field}: true or ${field}: false, without quotes`;
  if ((typeof input === "number" || typeof input === "boolean") && expected === "string")
    return `write it in quotes: ${field}: "${input}"`;
  return `write ${EXPECTED[expected] ?? expected}`;
}
