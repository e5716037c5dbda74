import type { ServiceId } from "../config/ids.js";
import type { SsoSettings } from "../config/schema.js";
import { AWS_CREDENTIAL_VARIABLES, PLINTH_SECRET_VARIABLES } from "../config/secret-env.js";
import type { SecretRef } from "../config/secret-ref.js";
import { type Diagnostic, error } from "../diagnostics/diagnostic.js";

/**
 * Who may pass the login in front of one environment's internal UIs, complete and checked. Never a
 * secret value: the client secret (and, where the operator keeps it, the cookie secret) are names
 * of environment variables read at plan and apply.
 */
export type ResolvedSso =
  | ({ provider: "github"; org: string; teams: readonly string[] } & SsoClient & SsoCookie)
  | ({ provider: "oidc"; issuer: string; allowedGroups: readonly string[] } & SsoClient & SsoCookie)
  /**
   * The platform's own Vault/OpenBao as the issuer: plinth sets up its OIDC provider, and Vault
   * issues the client id and secret (read at apply into KV, never in config, state or plan).
   */
  | ({ provider: "vault"; allowedGroups: readonly string[] } & SsoCookie);

/** A client registered with the provider by the operator: its id, and its secret by variable. */
interface SsoClient {
  clientId: string;
  clientSecretVariable: string;
}

interface SsoCookie {
  /** Absent: plinth generates the cookie secret (CSPRNG) once and keeps it (Vault or a Secret). */
  cookieSecretVariable?: string;
}

/** Variables that must never be copied into a cluster Secret: plinth's own credentials. */
const RESERVED: ReadonlySet<string> = new Set([...PLINTH_SECRET_VARIABLES, ...AWS_CREDENTIAL_VARIABLES]);

/**
 * The environment's `sso` settings (defaults merged with its own, so `environments.prod.sso:
 * { teams: [...] }` narrows the shared ones), checked for completeness. Only called when the sso
 * component is on; every problem is a diagnostic naming the field and the fix.
 */
export function resolveSso(
  env: string,
  settings: SsoSettings | undefined,
  /** Whether the environment has Vault, which `provider: "vault"` needs. */
  vault = false,
): { sso?: ResolvedSso; diagnostics: Diagnostic[] } {
  const path = `environments.${env}.sso`;
  if (!settings) {
    return {
      diagnostics: [
        error("is required: the sso component is on but has no identity provider", {
          path,
          fix: 'add sso: { provider: "github", org: "acme", clientId: "…", clientSecret: secret.env("SSO_CLIENT_SECRET") } to defaults or this environment, or set components.sso.enabled to false',
        }),
      ],
    };
  }
  const diagnostics: Diagnostic[] = [];
  const need = (field: keyof SsoSettings, fix: string) => {
    if (settings[field] === undefined)
      diagnostics.push(error("is required", { path: `${path}.${field}`, fix }));
  };
  need(
    "provider",
    'set provider to "github" (a GitHub OAuth app), "oidc" (any OpenID Connect issuer) or "vault" (this platform\'s Vault)',
  );
  const cookieSecretVariable = variableOf(settings.cookieSecret, `${path}.cookieSecret`, diagnostics);
  const wrong = (field: keyof SsoSettings, provider: string, why = "applies to another provider") => {
    if (settings[field] !== undefined) {
      diagnostics.push(
        error(`${why}, not ${provider}`, {
          path: `${path}.${field}`,
          fix: `remove ${field} (in this environment or in defaults.sso)`,
        }),
      );
    }
  };
  const needGroups = (provider: string, example: string) => {
    // Without groups, every account the issuer knows (a whole Google, say) could sign in.
    if (!settings.allowedGroups?.length) {
      diagnostics.push(
        error(
          `is required and must not be empty for a${provider === "oidc" ? "n" : ""} ${provider} provider`,
          {
            path: `${path}.allowedGroups`,
            fix: example,
          },
        ),
      );
    }
  };
  if (settings.provider === "vault") {
    if (!vault) {
      diagnostics.push(
        error("is vault, and this environment has no Vault to be the issuer", {
          path: `${path}.provider`,
          fix: `turn components.vault on for ${env} (staging and prod have it by default), or use provider "github" or "oidc"`,
        }),
      );
    }
    needGroups(
      "vault",
      'list the Vault identity groups whose members may pass, e.g. allowedGroups: ["platform"] (plinth creates missing ones; members are added in Vault)',
    );
    const issued = "Vault issues it to plinth's client (read at apply)";
    wrong("clientId", "set by hand for vault", issued);
    wrong("clientSecret", "set by hand for vault", issued);
    wrong("issuer", "vault", "is this platform's Vault (https://<vault host>/v1/identity/oidc/provider/…)");
    wrong("org", "vault");
    wrong("teams", "vault");
    if (diagnostics.length) return { diagnostics };
    return {
      sso: {
        provider: "vault",
        allowedGroups: [...(settings.allowedGroups ?? [])].sort(),
        ...(cookieSecretVariable ? { cookieSecretVariable } : {}),
      },
      diagnostics,
    };
  }
  need("clientId", "set the OAuth client id (not secret) issued by the provider");
  need(
    "clientSecret",
    'set clientSecret: secret.env("SSO_CLIENT_SECRET") and export that variable at plan and apply',
  );
  const clientSecretVariable = variableOf(settings.clientSecret, `${path}.clientSecret`, diagnostics);
  if (settings.provider === "github") {
    // Without an organization, every GitHub account on earth could sign in.
    need("org", 'set org to the GitHub organization whose members may pass, e.g. org: "acme"');
    wrong("issuer", "github");
    wrong("allowedGroups", "github");
  } else if (settings.provider === "oidc") {
    need(
      "issuer",
      "set issuer to the provider's https:// issuer URL (where /.well-known/openid-configuration is)",
    );
    needGroups(
      "oidc",
      'list the groups (the ID token\'s "groups" claim) that may pass, e.g. allowedGroups: ["platform"]',
    );
    wrong("org", "oidc");
    wrong("teams", "oidc");
  }
  if (diagnostics.length || !settings.clientId || !clientSecretVariable) return { diagnostics };

  const common = {
    clientId: settings.clientId,
    clientSecretVariable,
    ...(cookieSecretVariable ? { cookieSecretVariable } : {}),
  };
  const sso: ResolvedSso =
    settings.provider === "github"
      ? { provider: "github", org: settings.org ?? "", teams: [...(settings.teams ?? [])].sort(), ...common }
      : {
          provider: "oidc",
          issuer: settings.issuer ?? "",
          allowedGroups: [...(settings.allowedGroups ?? [])].sort(),
          ...common,
        };
  return { sso, diagnostics };
}

/** The variable a secret comes from: only `secret.env`, and never one of plinth's own credentials. */
function variableOf(ref: SecretRef | undefined, path: string, diagnostics: Diagnostic[]): string | undefined {
  if (!ref) return undefined;
  if (!("fromEnv" in ref)) {
    diagnostics.push(
      error(
        "must be secret.env(...): plinth copies it into a cluster Secret at apply, from the environment",
        {
          path,
          fix: 'write secret.env("SSO_CLIENT_SECRET") and export the value in the plan and apply jobs',
        },
      ),
    );
    return undefined;
  }
  if (RESERVED.has(ref.fromEnv)) {
    diagnostics.push(
      error(`names ${ref.fromEnv}, one of plinth's own credentials, which never goes into the cluster`, {
        path,
        fix: "use a variable of its own, e.g. SSO_CLIENT_SECRET",
      }),
    );
    return undefined;
  }
  return ref.fromEnv;
}

/** Hosts outside the gate's cookie: the apps' own and the k3s API (never behind the login). */
const NOT_GATED: ReadonlySet<ServiceId> = new Set(["frontend", "backend", "k3s-api"]);

/**
 * The login's session cookie is set on the internal domain: a UI host overridden onto another
 * domain would never see it and send every visitor round the login forever.
 */
export function ssoHostProblems(
  env: string,
  // Structural (not types.ts's HostEntry): types.ts imports this module's ResolvedSso.
  hosts: Partial<Record<ServiceId, { host: string }>>,
  internalDomain: string | undefined,
): Diagnostic[] {
  if (!internalDomain) return [];
  return (Object.entries(hosts) as [ServiceId, { host: string }][])
    .filter(([id, h]) => !NOT_GATED.has(id) && !h.host.endsWith(`.${internalDomain}`))
    .map(([id, h]) =>
      error(`${h.host} (${id}) is outside ${internalDomain}, where the SSO login's cookie lives`, {
        path: `environments.${env}.hosts.${id}`,
        fix: `use a host under ${internalDomain}, or turn the sso component off for ${env}`,
      }),
    );
}
