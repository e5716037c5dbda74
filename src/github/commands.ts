/**
 * The comment grammar (README "Comment commands"). A comment is for plinth when its first line
 * starts with one of its commands (`/plinth` in front is allowed); one command per comment, the
 * rest of the comment is free text. Anything else addressed to plinth that it cannot read gets a
 * reply saying why: never silence.
 */
export type CommentCommand =
  | { kind: "none" }
  | { kind: "help" }
  /** No environments: those the pull request changes. */
  | { kind: "plan"; envs: string[] }
  | { kind: "apply"; env: string; deleteData: boolean }
  | { kind: "unlock"; env: string }
  | { kind: "invalid"; reply: string };

const VERBS = ["plan", "apply", "unlock", "help"] as const;
const DELETE_DATA = "--delete-data";

export const HELP = [
  "plinth reads these commands, one per comment, on the comment's first line:",
  "",
  "| command | what it does |",
  "|---|---|",
  "| `/plan [env…]` | plans the environments live (default: those this pull request changes) and stores each plan for this head commit |",
  "| `/apply <env>` | applies the plan stored for this head commit to one environment and reserves it for this pull request until it merges or closes |",
  "| `/apply <env> --delete-data` | the same, when the plan deletes or releases data (a database leaving the config) |",
  "| `/unlock <env>` | releases this pull request's reservation of the environment |",
  "| `/help` | this table |",
  "",
  "`/plinth plan …` works too. Who may run them, and what an environment requires first, is in the repository's plinth.config.ts (`github:`).",
].join("\n");

/** Parses a comment; `envs` are the environments the config has (for a reply naming them). */
export function parseComment(body: string, envs: readonly string[]): CommentCommand {
  const first = body.trimStart().split(/\r?\n/, 1)[0]?.trim() ?? "";
  let words = first.split(/\s+/).filter(Boolean);
  const head = words[0] ?? "";
  if (head === "/plinth") {
    words = words.slice(1);
    if (words.length === 0) return { kind: "help" };
  } else if (!(VERBS as readonly string[]).includes(head.slice(1)) || !head.startsWith("/")) {
    return { kind: "none" };
  } else {
    words = [head.slice(1), ...words.slice(1)];
  }
  const [verb = "", ...rest] = words;
  if (!(VERBS as readonly string[]).includes(verb)) {
    return invalid(`\`${verb}\` is not a plinth command.`);
  }
  const flags = rest.filter((w) => w.startsWith("-"));
  const names = rest.filter((w) => !w.startsWith("-"));
  // The explicit word for data is said where it takes effect: on the apply.
  const unknownFlag = flags.find((f) => f !== DELETE_DATA || verb !== "apply");
  if (unknownFlag) return invalid(`\`/${verb}\` does not take \`${unknownFlag}\`.`);
  const unknownEnv = names.find((n) => !envs.includes(n));
  if (verb !== "help" && unknownEnv) {
    return invalid(
      `there is no environment \`${unknownEnv}\` in the config (it has: ${envs.map((e) => `\`${e}\``).join(", ")}).`,
    );
  }
  const deleteData = flags.includes(DELETE_DATA);
  switch (verb) {
    case "help":
      return names.length ? invalid("`/help` takes no arguments.") : { kind: "help" };
    case "plan":
      return { kind: "plan", envs: [...new Set(names)] };
    case "apply":
    case "unlock": {
      const [env, ...more] = names;
      if (!env) return invalid(`\`/${verb}\` needs an environment: \`/${verb} <env>\`.`);
      if (more.length)
        return invalid(`\`/${verb}\` takes one environment per comment (got ${names.join(", ")}).`);
      return verb === "apply" ? { kind: "apply", env, deleteData } : { kind: "unlock", env };
    }
    default:
      return invalid(`\`${verb}\` is not a plinth command.`);
  }
}

function invalid(why: string): CommentCommand {
  return { kind: "invalid", reply: `plinth could not read this command: ${why}\n\n${HELP}` };
}
