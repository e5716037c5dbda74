/**
 * One of several processes racing for an environment's lock (see suite.ts): waits until the
 * agreed instant, tries once, prints `won <holder>` or `held <message>`.
 */
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { stateBackend } from "../../src/state/index.js";

const spec = JSON.parse(process.argv[2] ?? "{}") as {
  config: Parameters<typeof stateBackend>[0];
  configDir: string;
  env: string;
  at: number;
};
const holder = process.argv[3] ?? "child";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const backend = stateBackend(spec.config, { configDir: spec.configDir, env: process.env });
await new Promise((r) => setTimeout(r, Math.max(0, spec.at - Date.now())));
try {
  const lock = await backend.lock(spec.env, holder, "apply", 60_000);
  process.stdout.write(`won ${lock.holder}\n`);
} catch (e) {
  if (!(e instanceof UserError)) throw e;
  process.stdout.write(`held ${e.message}\n`);
}
