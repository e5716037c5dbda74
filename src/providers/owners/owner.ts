/**
 * Signs a component's owner up, once, through the API server's service proxy (as health checks
 * reach a Service: no port-forward, no route into the cluster network). The password is the one
 * in the owner's Secret (delivered from Vault, or plinth's own without Vault).
 *
 * Once plinth has made the owner it leaves a marker (a ConfigMap named as the Secret, beside it)
 * and never calls the component again: a password a human changed is never reset. A component
 * whose sign-up is already closed without that marker is asked whether plinth's email and password
 * sign in: if so the account is plinth's (recorded, left as it is); if not, someone else took the
 * component first: a failed step naming the host and the way out.
 */
import { labels } from "../../catalog/objects.js";
import { OWNER_PASSWORD_KEY, OWNER_TITLES, type OwnerAccount, ownerMarkerRef } from "../../catalog/owners.js";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import { proxyPath } from "../kubernetes/health.js";
import type { KubernetesProvider } from "../kubernetes/provider.js";
import { waitUntil } from "../kubernetes/readiness.js";
import { readSecretValues } from "../kubernetes/secrets.js";
import {
  answerDetail,
  type Ours,
  type OwnerAnswer,
  type OwnerRequest,
  openpanelRequests,
  openpanelSignIn,
  openpanelSignUp,
  type SignUp,
  signozContext,
  signozLogin,
  signozRequests,
  signozSession,
  signozSetupCompleted,
  signozSignUp,
} from "./protocol.js";

export type OwnerOutcome = "created" | "exists";

export interface OwnerStep {
  kube: KubernetesProvider;
  env: ResolvedEnvironment;
  account: OwnerAccount;
  waiting(detail: string): void;
  /** How long to wait for the owner's Secret (the Vault Secrets Operator writes it within a minute). */
  secretWaitMs: number;
  signal?: AbortSignal;
}

const TITLES = OWNER_TITLES;

/** Where each component keeps its accounts: what a reset removes. */
const RESET = {
  signoz: (a: OwnerAccount) =>
    `delete SigNoz's volumes (its users live in its own SQLite store) in namespace ${a.namespace}`,
  openpanel: () => "delete OpenPanel's users from its PostgreSQL database (tables users and accounts)",
} as const;

/** Makes the owner unless plinth already did; a component owned by someone else is a UserError. */
export async function ensureOwner(o: OwnerStep): Promise<OwnerOutcome> {
  if (await readMarker(o)) return "exists";
  const password = await ownerPassword(o);
  const send = (r: OwnerRequest) => exchange(o, r);
  const a = o.account;
  if (a.api === "signoz") {
    const version = await send(signozRequests.setup());
    const completed = signozSetupCompleted(version);
    if (completed === undefined) throw unexpected(o, `GET /api/v1/version: ${answerDetail(version)}`);
    const signUp: SignUp = completed
      ? { outcome: "closed" }
      : signozSignUp(await send(signozRequests.register(a, password)));
    return settle(o, signUp, () => signozOurs(o, send, password));
  }
  const signUp = openpanelSignUp(await send(openpanelRequests.signUp(a, password)));
  return settle(o, signUp, async () => openpanelSignIn(await send(openpanelRequests.signIn(a, password))));
}

/**
 * After a sign-up: made, or closed because an account exists. That one is plinth's when its
 * password signs in (made by a run that stopped before the marker, or whose namespace went while
 * the data stayed): recorded, nothing else done. Any other is someone else's.
 */
async function settle(o: OwnerStep, r: SignUp, ours: () => Promise<Ours>): Promise<OwnerOutcome> {
  if (r.outcome === "unexpected") throw unexpected(o, r.detail);
  if (r.outcome === "created") {
    await writeMarker(o);
    return "created";
  }
  const found = await ours();
  if (found === "unexpected") throw unexpected(o, "signing in as the owner answered neither yes nor no");
  if (found !== "ours") throw takenOver(o, found);
  await writeMarker(o);
  return "exists";
}

async function signozOurs(
  o: OwnerStep,
  send: (r: OwnerRequest) => Promise<OwnerAnswer>,
  password: string,
): Promise<Ours> {
  const context = signozContext(await send(signozLogin.context(o.account)));
  if (!context) return "unexpected";
  if (!context.exists) return "no-account";
  for (const org of context.orgs) {
    const signedIn = signozSession(await send(signozLogin.session(o.account, password, org)));
    if (signedIn === "unexpected") return "unexpected";
    if (signedIn) return "ours";
  }
  return "other-password";
}

async function exchange(o: OwnerStep, r: OwnerRequest): Promise<OwnerAnswer> {
  const a = o.account;
  const answer = await o.kube.exchange(r.method, proxyPath(a.namespace, a.service, a.port, r.path), r.body);
  return { code: answer.code, body: answer.body };
}

async function readMarker(o: OwnerStep): Promise<boolean> {
  return (await o.kube.read(ownerMarkerRef(o.account))) !== undefined;
}

/**
 * Not an ApplySet member: it records a fact about the component's data, not desired state, so no
 * plan shows it and no prune removes it; it goes with the namespace, as the data does.
 */
async function writeMarker(o: OwnerStep): Promise<void> {
  const a = o.account;
  await o.kube.applyObject({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: a.secret, namespace: a.namespace, labels: labels(o.env, a.component) },
    data: { email: a.email, createdBy: "plinth", createdAt: new Date().toISOString() },
  });
}

/** The generated password, from the Secret plinth (or the Vault Secrets Operator) writes. */
async function ownerPassword(o: OwnerStep): Promise<string> {
  const a = o.account;
  let password: string | undefined;
  await waitUntil(
    {
      object: { apiVersion: "v1", kind: "Secret", name: a.secret, namespace: a.namespace },
      condition: "holds the owner's password",
      timeoutMs: o.secretWaitMs,
      probe: async () => {
        password = (await readSecretValues(o.kube, a.namespace, a.secret))?.[OWNER_PASSWORD_KEY];
        return { ready: Boolean(password), status: password ? "present" : "not written yet" };
      },
    },
    {
      ...(o.signal ? { signal: o.signal } : {}),
      onStatus: (s) => o.waiting(`Secret ${a.secret}: ${s}`),
    },
  );
  return password ?? "";
}

function where(o: OwnerStep): string {
  const a = o.account;
  return a.host ? `https://${a.host}` : `${a.service}.${a.namespace}:${a.port}`;
}

function takenOver(o: OwnerStep, found: "other-password" | "no-account"): UserError {
  const a = o.account;
  const title = TITLES[a.api];
  const mine = `kubectl create configmap ${a.secret} -n ${a.namespace} --from-literal=email=${a.email}`;
  return new UserError(
    error(
      found === "no-account"
        ? `${title} at ${where(o)} already has an owner plinth did not create: someone signed up before plinth did (the environment was taken over)`
        : `${title} at ${where(o)} has an account ${a.email} that plinth's password does not open: someone registered it before plinth did, or its password was changed and plinth's record of making it (ConfigMap ${a.namespace}/${a.secret}) is gone`,
      {
        path: `${o.env.name}.${a.component}`,
        fix: `reset it: ${RESET[a.api](a)}, then apply again, so plinth makes the owner ${a.email}${found === "other-password" ? `; if the account is yours, tell plinth so: ${mine}` : ""}`,
      },
    ),
  );
}

function unexpected(o: OwnerStep, detail: string): UserError {
  const a = o.account;
  return new UserError(
    error(`${TITLES[a.api]} at ${where(o)}: signing the owner ${a.email} up failed (${detail})`, {
      path: `${o.env.name}.${a.component}`,
      fix: `check ${a.service}'s logs in namespace ${a.namespace}, then apply again: the owner is made once it answers`,
    }),
  );
}
