// The action bundle's entry (dist/bundle/action.js, action.yml's `runs.main`): runs once, sets the exit code.
import { runAction } from "./action.js";

runAction().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(
      `plinth's action failed unexpectedly: this is a bug in plinth.\n${(e as Error).stack}\n`,
    );
    process.exitCode = 1;
  },
);
