import { dirname } from "node:path";
import { UserError } from "../../diagnostics/diagnostic.js";
import { assertEnvironment } from "../../model/resolve.js";
import { describeLock, isExpired, stateBackend } from "../../state/index.js";
import { defineCommand } from "../command.js";
import { inFile, loadFromArgs, requireEnvArg } from "../load.js";

export const unlock = defineCommand({
  name: "unlock",
  summary: "Clear an environment's state lock left behind by a dead run",
  usage: "plinth unlock <env> [--config PATH]",
  options: {},
  positionals: ["env"],
  async handler(args, ctx) {
    const env = requireEnvArg(args, "unlock");
    const loaded = await loadFromArgs(args, ctx);
    try {
      assertEnvironment(loaded.config, env);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(inFile(e.diagnostics, loaded.displayFile));
      throw e;
    }
    // The AWS SDK warns on every run about Node versions it will drop in 2027; not the user's concern.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    const backend = stateBackend(loaded.config, { configDir: dirname(loaded.file), env: ctx.env });
    const removed = await backend.forceUnlock(env);
    if (!removed) {
      ctx.stdout(`${env} is not locked (${backend.describe()})\n`);
      return 0;
    }
    ctx.stdout(`unlocked ${env}: the lock was held by ${describeLock(removed)}\n`);
    if (!isExpired(removed)) {
      ctx.stderr(
        `warning: that lock had not expired; if ${removed.holder} is still running "${removed.operation}", it no longer holds ${env} and another run may now overlap it\n`,
      );
    }
    return 0;
  },
});
