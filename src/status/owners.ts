/**
 * `plinth status`'s owner check (README "First-visitor takeover"): SigNoz and OpenPanel make
 * whoever signs up first their admin, so a component still open to sign-up, or owned by an account
 * that is not plinth's, is a failed check. Asked through the API server's service proxy with the
 * calls apply's owner step makes (providers/owners/protocol.ts), minus the sign-up itself: status
 * changes nothing.
 */
import { runsHere } from "../catalog/cluster.js";
import {
  OWNER_PASSWORD_KEY,
  OWNER_TITLES,
  type OwnerAccount,
  ownerAccount,
  ownerMarkerRef,
} from "../catalog/owners.js";
import type { ComponentId } from "../config/ids.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { type HealthResult, proxyPath } from "../providers/kubernetes/health.js";
import type { KubernetesProvider } from "../providers/kubernetes/provider.js";
import { readSecretValues } from "../providers/kubernetes/secrets.js";
import {
  answerDetail,
  type OwnerAnswer,
  type OwnerRequest,
  openpanelRequests,
  openpanelSignIn,
  signozContext,
  signozLogin,
  signozRequests,
  signozSetupCompleted,
} from "../providers/owners/protocol.js";

/** The component's owner check, or none where it has no first-visitor sign-up (or runs elsewhere). */
export async function checkOwner(
  env: ResolvedEnvironment,
  id: ComponentId,
  kube: KubernetesProvider,
): Promise<HealthResult[]> {
  const a = ownerAccount(env, id);
  if (!a || !runsHere(env, id)) return [];
  const check = `owner account ${a.email} (${OWNER_TITLES[a.api]})`;
  try {
    const recorded = (await kube.read(ownerMarkerRef(a))) !== undefined;
    const verdict =
      a.api === "signoz" ? await signoz(env, a, kube, recorded) : await openpanel(env, a, kube, recorded);
    return [{ check, ...verdict }];
  } catch (e) {
    return [{ check, ok: false, detail: `unreachable (${(e as Error).message})` }];
  }
}

type Verdict = { ok: boolean; detail: string };

function send(kube: KubernetesProvider, a: OwnerAccount, r: OwnerRequest): Promise<OwnerAnswer> {
  return kube.exchange(r.method, proxyPath(a.namespace, a.service, a.port, r.path), r.body);
}

/** Sign-up open: the one failure every component shares, with the way out. */
function signUpOpen(env: ResolvedEnvironment, a: OwnerAccount, what: string): Verdict {
  const title = OWNER_TITLES[a.api];
  return {
    ok: false,
    detail: `${what}: its first visitor becomes ${title}'s admin; run plinth apply ${env.name}, which signs ${a.email} up once ${title} is healthy`,
  };
}

async function signoz(
  env: ResolvedEnvironment,
  a: OwnerAccount,
  kube: KubernetesProvider,
  recorded: boolean,
): Promise<Verdict> {
  const version = await send(kube, a, signozRequests.setup());
  const completed = signozSetupCompleted(version);
  if (completed === undefined) return { ok: false, detail: `GET /api/v1/version: ${answerDetail(version)}` };
  if (!completed) return signUpOpen(env, a, "SIGN-UP OPEN: SigNoz has no user yet");
  const answer = await send(kube, a, signozLogin.context(a));
  const context = signozContext(answer);
  if (!context) return { ok: false, detail: `GET /api/v2/sessions/context: ${answerDetail(answer)}` };
  if (!context.exists) {
    return {
      ok: false,
      detail: `SigNoz has users but no ${a.email}: someone signed up before plinth did (see README "First-visitor takeover" for the reset)`,
    };
  }
  return {
    ok: true,
    detail: recorded
      ? `${a.email} exists (made by plinth)`
      : `${a.email} exists; plinth's record of making it is missing (the next apply checks its password)`,
  };
}

async function openpanel(
  env: ResolvedEnvironment,
  a: OwnerAccount,
  kube: KubernetesProvider,
  recorded: boolean,
): Promise<Verdict> {
  // OpenPanel answers "is this account there" only to a sign-in: with the owner's own password,
  // read from its Secret and sent only to OpenPanel through the API server.
  const password = (await readSecretValues(kube, a.namespace, a.secret))?.[OWNER_PASSWORD_KEY];
  if (!password) {
    return {
      ok: false,
      detail: `Secret ${a.namespace}/${a.secret} holds no owner password yet; run plinth apply ${env.name}`,
    };
  }
  const answer = await send(kube, a, openpanelRequests.signIn(a, password));
  switch (openpanelSignIn(answer)) {
    case "ours":
      return { ok: true, detail: `${a.email} exists and plinth's password signs in` };
    case "other-password":
      return recorded
        ? { ok: true, detail: `${a.email} exists (made by plinth; its password was changed in OpenPanel)` }
        : {
            ok: false,
            detail: `${a.email} exists but plinth neither made it nor can sign in: someone registered it first (see README "First-visitor takeover")`,
          };
    case "no-account":
      // OpenPanel does not say whether anyone else has signed up: either way this is not safe.
      return {
        ok: false,
        detail: `NO OWNER: OpenPanel has no ${a.email}: its first visitor becomes its admin, or already has (then see README "First-visitor takeover"); run plinth apply ${env.name}, which signs the owner up or says which`,
      };
    default:
      return { ok: false, detail: `POST /trpc/auth.signInEmail: ${answerDetail(answer)}` };
  }
}
