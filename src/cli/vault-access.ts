import { dirname } from "node:path";
import type { ResolvedEnvironment } from "../model/types.js";
import {
  environmentVaultAccess,
  type VaultAccess,
  type VaultAccessSource,
  vaultAccess as vaultAccessFrom,
} from "../providers/vault/access.js";
import type { LifecycleOptions } from "../providers/vault/index.js";
import type { CommandContext, ParsedArgs } from "./command.js";

export { asVaultUserError, type VaultAccess } from "../providers/vault/access.js";

import type { Session } from "./session.js";

/** What a command line gives Vault access: `--vault-addr` and the process's variables. */
function sourceOf(args: ParsedArgs, ctx: CommandContext, configDir: string): VaultAccessSource {
  const flag = args.values["vault-addr"];
  return { variables: ctx.env, configDir, ...(typeof flag === "string" ? { addressFlag: flag } : {}) };
}

export function vaultAccess(
  args: ParsedArgs,
  ctx: CommandContext,
  env: ResolvedEnvironment,
  configDir: string,
  extra: Pick<LifecycleOptions, "shares" | "threshold"> = {},
): VaultAccess {
  return vaultAccessFrom(env, sourceOf(args, ctx, configDir), extra);
}

/** For `plan` and `apply`: the environment's Vault access, or undefined when it has no Vault. */
export function sessionVaultAccess(
  session: Session,
  args: ParsedArgs,
  ctx: CommandContext,
): VaultAccess | undefined {
  return environmentVaultAccess(session.env, sourceOf(args, ctx, dirname(session.loaded.file)));
}
