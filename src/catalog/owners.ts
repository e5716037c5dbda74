/**
 * Owner accounts: SigNoz and OpenPanel make whoever signs up first their admin, so a fresh
 * environment's UI would belong to the first stranger to find its host. plinth signs the owner up
 * itself once the component is healthy (providers/owners), with a generated password kept as a
 * secret of the component: in Vault where the environment has Vault, a plinth-owned Secret where
 * not, read back with `plinth secrets get <env> <component> password`.
 */
import type { ComponentId } from "../config/ids.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { hostOf, namespaceOf } from "./objects.js";
import type { SecretSpec } from "./types.js";

/** The sign-up API a component speaks (providers/owners/protocol.ts has the request shapes). */
export type OwnerApi = "signoz" | "openpanel";

/** The component's name as its users know it, for plan, status and messages. */
export const OWNER_TITLES: Readonly<Record<OwnerApi, string>> = { signoz: "SigNoz", openpanel: "OpenPanel" };

export interface OwnerAccount {
  component: ComponentId;
  api: OwnerApi;
  /** The Service whose API signs the owner up, reached through the API server's service proxy. */
  service: string;
  namespace: string;
  port: number;
  /** The Secret holding `owner-email` and `owner-password`; also the marker ConfigMap's name. */
  secret: string;
  email: string;
  /** The organisation SigNoz creates with its first user. */
  organisation: string;
  /** Where a human logs in, for messages; absent where the environment has no public hosts. */
  host?: string;
}

const OWNERS: Readonly<
  Partial<
    Record<ComponentId, (env: ResolvedEnvironment) => Omit<OwnerAccount, "email" | "organisation" | "secret">>
  >
> = {
  signoz: (env) => ({
    component: "signoz",
    api: "signoz",
    service: `signoz-${env.name}`,
    namespace: namespaceOf(env, "signoz", "observability"),
    port: 8080,
    ...hostField(env, "signoz"),
  }),
  openpanel: (env) => ({
    component: "openpanel",
    api: "openpanel",
    // The tRPC router (auth.signUpEmail) is served by the api part, under /trpc.
    service: "openpanel-api",
    namespace: namespaceOf(env, "openpanel", "observability"),
    port: 3000,
    ...hostField(env, "openpanel"),
  }),
};

function hostField(env: ResolvedEnvironment, service: "signoz" | "openpanel"): { host?: string } {
  const host = hostOf(env, service);
  return host ? { host } : {};
}

export const OWNER_EMAIL_KEY = "owner-email";
export const OWNER_PASSWORD_KEY = "owner-password";

/** `signoz-owner`: the owner's Secret (and marker) beside the component. */
export function ownerSecretName(component: ComponentId): string {
  return `${component}-owner`;
}

/**
 * plinth's record that it made the owner (or was told the account is the operator's): a ConfigMap
 * named as the owner's Secret, beside it. Present, apply never calls the sign-up again.
 */
export function ownerMarkerRef(a: OwnerAccount): {
  apiVersion: "v1";
  kind: "ConfigMap";
  name: string;
  namespace: string;
} {
  return { apiVersion: "v1", kind: "ConfigMap", name: a.secret, namespace: a.namespace };
}

/**
 * The login when the config names none: an address at the environment's own internal domain (a
 * login name to SigNoz and OpenPanel; neither sends mail to it).
 */
export function ownerEmail(env: ResolvedEnvironment): string {
  return env.ownerEmail ?? `admin@${env.internalDomain ?? env.baseDomain ?? "plinth.local"}`;
}

/** The component's owner account, or undefined where the component has no first-visitor sign-up. */
export function ownerAccount(env: ResolvedEnvironment, component: ComponentId): OwnerAccount | undefined {
  const base = OWNERS[component]?.(env);
  if (!base) return undefined;
  return { ...base, secret: ownerSecretName(component), email: ownerEmail(env), organisation: env.project };
}

/**
 * The owner's credentials as a component secret: generated once (CSPRNG), never changed by plinth
 * after the owner exists. SigNoz wants an upper- and lower-case letter, a digit and a symbol in
 * every password (pkg/types/factor_password.go, IsPasswordValid), which 32 random alphanumerics do
 * not always have: the fixed tail guarantees them; the 190 bits of the random part are the secret.
 */
export function ownerSecret(env: ResolvedEnvironment, component: ComponentId): SecretSpec {
  const name = ownerSecretName(component);
  const account = ownerAccount(env, component);
  if (!account) throw new Error(`ownerSecret: ${component} has no owner account`);
  return {
    name,
    namespace: account.namespace,
    // Named apart from the component's other secrets' keys (SigNoz's values Secret has a
    // `password`), so `plinth secrets get <env> signoz owner-password` names one.
    keys: {
      [OWNER_EMAIL_KEY]: { length: 0, alphabet: "alphanumeric", fixed: account.email },
      "owner-random": { length: 32, alphabet: "alphanumeric" },
      [OWNER_PASSWORD_KEY]: { length: 0, alphabet: "alphanumeric", template: `{${name}.owner-random}-Aa1` },
    },
    // Read by plinth at apply only: no workload restarts when it changes.
    consumers: [],
    notRotated: `the owner's password lives in ${component === "signoz" ? "SigNoz" : "OpenPanel"} itself once the account exists (plinth never resets it): change it there, in the UI`,
  };
}
