/**
 * The catalog's health checks against the live cluster. HTTP endpoints are reached through the API
 * server's service proxy, so plinth needs no port-forward and no route into the cluster network;
 * conditions, status fields and workloads are read as objects. `plinth status` runs each check
 * once; `plinth apply` waits, bounded, until every check of a component passes.
 */
import type { HealthCheck } from "../../catalog/types.js";
import { KubeApiError } from "./errors.js";
import type { ObjectRef } from "./identity.js";
import type { KubernetesProvider } from "./provider.js";
import { conditionProbe, deploymentProbe, statefulSetProbe, type Wait } from "./readiness.js";

export interface HealthResult {
  check: string;
  ok: boolean;
  detail: string;
}

/** One answer must come within this; a Service whose pods do not answer makes the proxy hang. */
const ATTEMPT_MS = 10_000;
/** How long apply waits for a component's check to pass once its objects are ready. */
const HEALTH_WAIT_MS = 5 * 60_000;

/** The API server itself: checked at its own endpoint rather than through its Service. */
const isApiServer = (c: { service: string; namespace: string }) =>
  c.service === "kubernetes" && c.namespace === "default";

/**
 * Whether plinth can run the check from outside the cluster: the service proxy carries HTTP only,
 * so a Redis PING is left to the Redis object's readiness.
 */
export function checkable(check: HealthCheck): boolean {
  return check.kind !== "redis-ping";
}

/** The check as output names it: what is asked of what. */
export function describeCheck(check: HealthCheck): string {
  switch (check.kind) {
    case "http":
      return isApiServer(check)
        ? `GET ${check.path} on the API server`
        : `GET ${check.service}.${check.namespace}:${check.port}${check.path}`;
    case "vault":
      return `GET ${check.service}.${check.namespace}:${check.port}${VAULT_HEALTH}`;
    case "redis-ping":
      return `PING ${check.service}.${check.namespace}:${check.port}`;
    case "workload":
      return `${check.objectKind} ${check.namespace}/${check.name} ready`;
    case "condition":
      return `${check.objectKind} ${nameOf(check)} ${check.condition}=True`;
    case "status":
      return `${check.objectKind} ${nameOf(check)} ${check.field}=${check.equals}`;
  }
}

/** A standby answers 200 too: it serves reads and forwards writes. */
const VAULT_HEALTH = "/v1/sys/health?standbyok=true";

const nameOf = (c: { name: string; namespace?: string }) =>
  c.namespace ? `${c.namespace}/${c.name}` : c.name;

/** Runs one check once; never throws: a failure is the answer. */
export async function runCheck(check: HealthCheck, kube: KubernetesProvider): Promise<HealthResult> {
  const name = describeCheck(check);
  if (!checkable(check)) {
    return { check: name, ok: false, detail: "not checked from outside the cluster (RESP is not HTTP)" };
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ ok: false; detail: string }>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, detail: `no answer within ${ATTEMPT_MS / 1000}s` }),
      ATTEMPT_MS,
    );
  });
  try {
    return { check: name, ...(await Promise.race([answer(check, kube), late])) };
  } catch (e) {
    return { check: name, ok: false, detail: failure(e) };
  } finally {
    clearTimeout(timer);
  }
}

async function answer(
  check: HealthCheck,
  kube: KubernetesProvider,
): Promise<{ ok: boolean; detail: string }> {
  switch (check.kind) {
    case "http":
    case "vault": {
      const path = check.kind === "vault" ? VAULT_HEALTH : check.path;
      const body = await kube.getText(
        isApiServer(check) ? path : proxyPath(check.namespace, check.service, check.port, path),
      );
      const expect = check.kind === "http" ? check.expect : undefined;
      if (expect && !body.includes(expect)) return { ok: false, detail: `answered without "${expect}"` };
      return { ok: true, detail: "answered" };
    }
    case "workload": {
      const ref = { apiVersion: "apps/v1", ...refFields(check) };
      const live = await kube.read(ref);
      const p = check.objectKind === "Deployment" ? deploymentProbe(live) : statefulSetProbe(live);
      return { ok: p.ready, detail: p.status };
    }
    case "condition": {
      const p = conditionProbe(
        await kube.read({ apiVersion: check.apiVersion, ...refFields(check) }),
        check.condition,
      );
      return { ok: p.ready, detail: p.status };
    }
    case "status": {
      const live = await kube.read({ apiVersion: check.apiVersion, ...refFields(check) });
      if (!live) return { ok: false, detail: "not found yet" };
      // `\.` keeps a dot inside one key (a label such as `clickhouse.altinity.com/chop`).
      const value = check.field
        .split(/(?<!\\)\./)
        .map((key) => key.replaceAll("\\.", "."))
        .reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], live);
      return value === check.equals
        ? { ok: true, detail: `${check.field}=${check.equals}` }
        : {
            ok: false,
            detail: `${check.field} is ${value === undefined ? "not set" : JSON.stringify(value)}`,
          };
    }
    case "redis-ping":
      return { ok: false, detail: "not checked" };
  }
}

function refFields(c: {
  objectKind: string;
  name: string;
  namespace?: string;
}): Omit<ObjectRef, "apiVersion"> {
  return { kind: c.objectKind, name: c.name, ...(c.namespace ? { namespace: c.namespace } : {}) };
}

export function proxyPath(namespace: string, service: string, port: number, path: string): string {
  return `api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(`${service}:${port}`)}/proxy/${path.replace(/^\//, "")}`;
}

/** The answer a failed request gave, short: the status and what the service (or the proxy) said. */
function failure(e: unknown): string {
  if (e instanceof KubeApiError) {
    const said = e.body.message ?? JSON.stringify(e.body);
    return `HTTP ${e.code}${said && said !== "{}" ? `: ${said.split("\n")[0]?.slice(0, 200)}` : ""}`;
  }
  return (e as Error).message.split("\n")[0] ?? "failed";
}

/** What the object a check is about is, for the wait's messages. */
function subjectOf(check: HealthCheck): ObjectRef {
  switch (check.kind) {
    case "http":
    case "vault":
    case "redis-ping":
      return { apiVersion: "v1", kind: "Service", name: check.service, namespace: check.namespace };
    case "workload":
      return { apiVersion: "apps/v1", ...refFields(check) };
    default:
      return { apiVersion: check.apiVersion, ...refFields(check) };
  }
}

/** A check as apply waits for it: polled until it passes, failing with the last answer after the timeout. */
export function healthWait(check: HealthCheck, kube: KubernetesProvider, timeoutScale = 1): Wait {
  return {
    object: subjectOf(check),
    condition: `healthy (${describeCheck(check)})`,
    timeoutMs: HEALTH_WAIT_MS * timeoutScale,
    probe: async () => {
      const r = await runCheck(check, kube);
      return { ready: r.ok, status: r.detail };
    },
  };
}
