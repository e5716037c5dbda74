import { promises as dns } from "node:dns";
import { connect as tlsConnect } from "node:tls";
import type { KubeObject } from "../catalog/types.js";
import type { ComponentId, ServiceId } from "../config/ids.js";
import type { Graph } from "../graph/graph.js";
import type { ResolvedEnvironment } from "../model/types.js";
import type { DesiredComponent } from "../plan/desired.js";
import { type HealthResult, runCheck } from "../providers/kubernetes/health.js";
import { refOf } from "../providers/kubernetes/identity.js";
import type { KubernetesProvider } from "../providers/kubernetes/provider.js";
import { waitsFor } from "../providers/kubernetes/readiness.js";
import { type AccessProbe, checkAccess, httpsProbe } from "./access.js";
import { checkOwner } from "./owners.js";

export interface HostStatus {
  service: ServiceId;
  host: string;
  /** What public DNS answers for the host (addresses or a CNAME target), or why it does not. */
  dns: string;
  /** The certificate served for the host on :443: its expiry, or why it could not be read. */
  certificate: string;
}

export interface ComponentStatus {
  id: ComponentId;
  phase: string;
  /** Pinned (desired) version and what is deployed, from the live objects. */
  version: { desired?: string; deployed?: string };
  ready: boolean;
  /** One line per object condition that is not met yet (empty when ready). */
  waiting: string[];
  health: HealthResult[];
  hosts: HostStatus[];
}

const SERVICE_OWNER: Partial<Record<ServiceId, ComponentId>> = {
  "k3s-api": "k3s",
  vault: "vault",
  dashboard: "dashboard",
  kubero: "kubero",
  "kubero-api": "kubero",
  signoz: "signoz",
  "otel-collector": "signoz",
  openpanel: "openpanel",
  "openpanel-api": "openpanel",
  backstage: "backstage",
  sso: "sso",
};

/** Version as a HelmChart pins it (chart version), or the image of a single-image object. */
function versionOf(o: KubeObject | Record<string, unknown> | undefined): string | undefined {
  if (!o) return undefined;
  const spec = (o as { spec?: Record<string, unknown> }).spec ?? {};
  if (o.kind === "HelmChart")
    return `${spec.chart as string}@${(spec.version as string | undefined) ?? "archive"}`;
  if (typeof spec.imageName === "string") return spec.imageName;
  if (typeof spec.image === "string") return spec.image;
  const k = spec.kubernetesConfig as { image?: string } | undefined;
  return k?.image;
}

async function dnsAnswer(host: string): Promise<string> {
  try {
    const [v4, v6] = await Promise.allSettled([dns.resolve4(host), dns.resolve6(host)]);
    const addresses = [
      ...(v4.status === "fulfilled" ? v4.value : []),
      ...(v6.status === "fulfilled" ? v6.value : []),
    ];
    if (addresses.length) return addresses.join(", ");
    const cname = await dns.resolveCname(host);
    return `CNAME ${cname.join(", ")}`;
  } catch (e) {
    return `no answer (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}

function certificateExpiry(host: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host,
      port: 443,
      servername: host,
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    const done = (text: string) => {
      socket.destroy();
      resolve(text);
    };
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate();
      if (!cert?.valid_to) return done("no certificate");
      const days = Math.floor((Date.parse(cert.valid_to) - Date.now()) / 86_400_000);
      done(
        `expires ${new Date(cert.valid_to).toISOString().slice(0, 10)} (${days} days)${socket.authorized ? "" : `, not trusted: ${socket.authorizationError}`}`,
      );
    });
    socket.once("timeout", () => done("unreachable (timeout)"));
    socket.once("error", (e: NodeJS.ErrnoException) => done(`unreachable (${e.code ?? e.message})`));
  });
}

/** The state of every component of the environment, read live; nothing is changed. */
export async function gatherStatus(
  env: ResolvedEnvironment,
  graph: Graph,
  desired: DesiredComponent[],
  kube: KubernetesProvider,
  /** How hosts are asked anonymously (the access checks); HTTPS from here unless a test says otherwise. */
  o: { probe?: AccessProbe } = {},
): Promise<ComponentStatus[]> {
  const byId = new Map(desired.map((d) => [d.id, d]));
  const nodes = graph.phases.flatMap((p) => p.components);
  return Promise.all(
    nodes.map(async (node): Promise<ComponentStatus> => {
      const d = byId.get(node.id);
      const objects = d?.objects ?? [];
      const waiting: string[] = [];
      let deployed: string | undefined;
      let desiredVersion: string | undefined;
      for (const o of objects) {
        const live = await kube.read(refOf(o));
        if (!live) {
          waiting.push(`${o.kind} ${o.metadata.name}: not deployed`);
          continue;
        }
        desiredVersion ??= versionOf(o);
        deployed ??= versionOf(live as unknown as Record<string, unknown>);
        for (const w of waitsFor(o, { kube, changed: false })) {
          const p = await w.probe();
          if (!p.ready) waiting.push(`${o.kind} ${o.metadata.name}: ${w.condition}: ${p.status}`);
        }
      }
      const services = new Set(
        (Object.keys(SERVICE_OWNER) as ServiceId[]).filter((s) => SERVICE_OWNER[s] === node.id),
      );
      // A human UI that serves an anonymous request fails here like any health check.
      // So does SigNoz or OpenPanel still open to sign-up, or owned by someone else.
      const health = [
        ...(await Promise.all((d?.health ?? []).map((h) => runCheck(h, kube)))),
        ...(await checkAccess(env, services, o.probe ?? httpsProbe)),
        ...(await checkOwner(env, node.id, kube)),
      ];
      const hosts = await Promise.all(
        (Object.entries(env.hosts) as [ServiceId, NonNullable<ResolvedEnvironment["hosts"][ServiceId]>][])
          .filter(([service]) => SERVICE_OWNER[service] === node.id)
          .map(async ([service, entry]) => ({
            service,
            host: entry.host,
            dns: env.publicHosts ? await dnsAnswer(entry.host) : "not published",
            certificate: env.publicHosts ? await certificateExpiry(entry.host) : "no TLS",
          })),
      );
      return {
        id: node.id,
        phase: node.phase,
        version: {
          ...(desiredVersion ? { desired: desiredVersion } : {}),
          ...(deployed ? { deployed } : {}),
        },
        ready: waiting.length === 0,
        waiting,
        health,
        hosts,
      };
    }),
  );
}
