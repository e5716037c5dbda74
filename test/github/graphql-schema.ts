/**
 * GitHub's published GraphQL schema (`@octokit/graphql-schema`, pinned in package.json, the
 * schema GitHub serves at api.github.com/graphql) as a judge of the GraphQL plinth sends:
 * `validate` is the package's own (unknown fields, arguments, types, enum values, fragments on
 * the wrong type), and the document is then executed against the same schema with graphql-js
 * (the package's own dependency), which coerces the variables (a variable of the wrong type is
 * an error) and checks the stand-in's answer against the fields' types.
 */
import type { ExecutionResult, GraphQLSchema } from "graphql";

// Both loaded on first use: the package parses GitHub's 5 MB schema when imported, and most
// stand-ins never see GraphQL.
const octokitSchema = () => import("@octokit/graphql-schema");
let built: GraphQLSchema | undefined;

/** Why the document breaks GitHub's schema (empty: it does not). */
export async function checkGraphql(query: string): Promise<string[]> {
  const { validate } = await octokitSchema();
  try {
    return validate(query).map((e) => e.message);
  } catch (e) {
    return [`not a GraphQL document: ${(e as Error).message}`];
  }
}

/** Marks an error GitHub itself answers with (not found, forbidden): not a contract break. */
export class GitHubGraphqlError extends Error {
  override name = "GitHubGraphqlError";
}

/**
 * The document run against GitHub's schema with `root` answering the top-level fields. Errors
 * other than GitHubGraphqlError (a variable's type, an answer the schema does not allow) come
 * back in `broken`.
 */
export async function runGraphql(
  query: string,
  variables: unknown,
  root: Record<string, unknown>,
): Promise<{ result: ExecutionResult; broken: string[] }> {
  const { buildClientSchema, graphql } = await import("graphql");
  built ??= buildClientSchema((await octokitSchema()).schema.json as Parameters<typeof buildClientSchema>[0]);
  const result = await graphql({
    schema: built,
    source: query,
    rootValue: root,
    variableValues: (variables ?? {}) as Record<string, unknown>,
  });
  const broken = (result.errors ?? [])
    .filter((e) => !(e.originalError instanceof GitHubGraphqlError))
    .map((e) => `${e.message}${e.path ? ` (at ${e.path.join(".")})` : ""}`);
  return { result, broken };
}
