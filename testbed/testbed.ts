/**
 * The test bed's command line: `npm run testbed -- setup|up|down|status|env [service...]`.
 * Services live in testbed/services/*.ts; state (logs, pids, data, env file) in .testbed/.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { down, status, up } from "./lib/bed.js";
import { createContext } from "./lib/context.js";
import { setup } from "./lib/prereqs.js";

const usage = `usage: npm run testbed -- <command> [service...]
  setup    install what the test bed needs (Debian packages as root, Go modules); npm test runs it first
  up       build and start what is not running; writes .testbed/env and .testbed/env.json
  down     stop the test bed's processes (by the pids it recorded)
  status   each service, whether it answers, and its pids
  env      print .testbed/env (load it with: set -a; . .testbed/env; set +a)`;

async function main(argv: string[]): Promise<number> {
  const [command, ...names] = argv;
  const ctx = createContext();
  switch (command) {
    case "setup":
      await setup(ctx);
      return 0;
    case "up": {
      const started = Date.now();
      const result = await up(ctx, names);
      const took = ((Date.now() - started) / 1000).toFixed(1);
      ctx.log(`up in ${took}s (started: ${result.started.join(", ") || "nothing, all were running"})`);
      ctx.log(`env: ${join(ctx.stateDir, "env")}`);
      return 0;
    }
    case "down":
      await down(ctx, names);
      return 0;
    case "status": {
      const rows = await status(ctx);
      for (const row of rows) {
        const pids = Object.entries(row.daemons)
          .map(([name, pid]) => `${name}=${pid ?? "dead"}`)
          .join(" ");
        const state = row.answering ? "up" : pids ? "NOT ANSWERING" : "down";
        process.stdout.write(`${row.name.padEnd(16)} ${state.padEnd(14)} ${pids}\n`);
      }
      return 0;
    }
    case "env": {
      const file = join(ctx.stateDir, "env");
      if (!existsSync(file)) {
        process.stderr.write("the test bed is not up (no .testbed/env): run npm run testbed -- up\n");
        return 1;
      }
      process.stdout.write(readFileSync(file, "utf8"));
      return 0;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${usage}\n`);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`unknown command ${command}\n${usage}\n`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  // Exit explicitly: a keep-alive socket of a readiness probe must not hold the command open.
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`testbed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
