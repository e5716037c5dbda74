import { accessSync, constants, existsSync, statSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { error, UserError } from "../diagnostics/diagnostic.js";

export const CONFIG_FILES = [
  "plinth.config.ts",
  "plinth.config.mts",
  "plinth.config.js",
  "plinth.config.mjs",
];

/** What esbuild compiles as a config: anything else is refused before it is read, let alone echoed. */
const CONFIG_EXTENSIONS = [".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"];

/** The config file: `--config PATH`, or the first of CONFIG_FILES in `cwd`. */
export function findConfigFile(cwd: string, explicit?: string): string {
  if (explicit) return checkExplicit(resolve(cwd, explicit), explicit);
  for (const name of CONFIG_FILES) {
    const file = join(cwd, name);
    if (existsSync(file)) return file;
  }
  throw new UserError(
    error(`no plinth config found in ${cwd}`, {
      fix: `create ${CONFIG_FILES[0]} (see examples/blueprint) or pass --config PATH`,
    }),
  );
}

function checkExplicit(file: string, shown: string): string {
  if (!existsSync(file)) {
    throw new UserError(error(`config file ${shown} does not exist`, { fix: "check the --config path" }));
  }
  if (statSync(file).isDirectory()) {
    const inside = CONFIG_FILES.find((name) => existsSync(join(file, name)));
    throw new UserError(
      error(`--config ${shown} is a folder, not a config file`, {
        fix: inside
          ? `pass the file: --config ${join(shown, inside)}`
          : `pass a config file (${CONFIG_FILES.join(", ")})`,
      }),
    );
  }
  if (!CONFIG_EXTENSIONS.includes(extname(file).toLowerCase())) {
    // Never compiled: esbuild's syntax errors would quote the file's lines (think /etc/shadow).
    throw new UserError(
      error(`--config ${shown} is not a TypeScript or JavaScript file`, {
        fix: `pass a config file ending in ${CONFIG_EXTENSIONS.join(", ")}, such as ${CONFIG_FILES[0]}`,
      }),
    );
  }
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw new UserError(
      error(`config file ${shown} cannot be read`, { fix: "check the file's permissions" }),
    );
  }
  return file;
}
