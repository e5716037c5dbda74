/**
 * The sso component's rendered OAuth2-Proxy configuration turned into a local process's command
 * line and environment, changing only what the caller names.
 */
import { expect } from "vitest";
import {
  CLIENT_SECRET,
  COOKIE_SECRET,
  type OAuth2ProxyConfig,
  sso,
} from "../../src/catalog/components/sso.js";
import type { ResolvedEnvironment } from "../../src/model/types.js";
import { generateValue } from "../../src/secrets/generate.js";

export const flagName = (arg: string): string => arg.split("=")[0] ?? arg;

/** The rendered args with these flags' values replaced; each must be rendered exactly once. */
export function withFlags(args: readonly string[], replace: Record<string, string>): string[] {
  for (const flag of Object.keys(replace)) {
    expect(
      args.filter((a) => flagName(a) === flag),
      `${flag} in the rendered args`,
    ).toHaveLength(1);
  }
  return args.map((a) => {
    const value = replace[flagName(a)];
    return value === undefined ? a : `${flagName(a)}=${value}`;
  });
}

/**
 * The environment variables the Deployment gets from the Secrets (`config.env`), with the client
 * (secret, and id where it is not on the command line) the provider issued and a cookie secret from plinth's own generator and the sso
 * component's spec, as plinth keeps one per environment.
 */
export function gateSecrets(
  env: ResolvedEnvironment,
  config: OAuth2ProxyConfig,
  /** What the provider issued (the client id is used only where it comes from a Secret, as with Vault). */
  client: { clientId: string; clientSecret: string },
): Record<string, string> {
  const specs = sso.secrets(env);
  const cookieSpec = specs.find((s) => s.name === COOKIE_SECRET)?.keys["cookie-secret"];
  if (!cookieSpec) throw new Error(`the sso component declares no ${COOKIE_SECRET} secret`);
  const values: Record<string, string> = {
    [`${CLIENT_SECRET}/client-id`]: client.clientId,
    [`${CLIENT_SECRET}/client-secret`]: client.clientSecret,
    [`${COOKIE_SECRET}/cookie-secret`]: generateValue(cookieSpec),
  };
  return Object.fromEntries(
    config.env.map((e) => {
      const ref = e.valueFrom.secretKeyRef;
      const value = values[`${ref.name}/${ref.key}`];
      if (value === undefined) throw new Error(`no value for ${ref.name}/${ref.key} (${e.name})`);
      return [e.name, value];
    }),
  );
}
