/**
 * A kube-apiserver of the test's own, started with an `--authentication-config` file: the test
 * bed's binary (built from upstream's Go module), its certificates and its etcd, under a key
 * prefix of its own, so nothing it stores is seen by the shared API server (which is never
 * restarted). Stopped by its pid.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeClient, loadKubeconfig } from "../../testbed/kube/client.js";
import { ports, serviceAccountIssuer, serviceClusterIpRange } from "../../testbed/kube/layout.js";
import { freePort } from "../../testbed/lib/ports.js";
import { root, testbedEnv } from "../testbed/env.js";

export interface OwnApiServer {
  /** A client with the test bed's admin certificate (the same CA). */
  admin: KubeClient;
  /** A call carrying `Authorization: Bearer <token>`, as Headlamp's backend makes it. */
  asBearer(
    token: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown }>;
  /** The `--authentication-config` file it reads (and reloads when it changes). */
  authenticationFile: string;
  log(): string;
  stop(): Promise<void>;
}

/** The test bed's multi-call control-plane binary (`controlplane kube-apiserver …`). */
function controlplane(): string {
  const bin = join(root, ".testbed", "bin");
  for (const dir of readdirSync(bin).filter((d) => d.startsWith("kube-") && !d.includes(".tmp"))) {
    const file = join(bin, dir, "controlplane");
    if (existsSync(file)) return file;
  }
  throw new Error(`no kube control-plane binary under ${bin}: start the test bed`);
}

export async function startApiServer(o: { id: string; authenticationConfig: string }): Promise<OwnApiServer> {
  const kubeconfig = testbedEnv("KUBECONFIG");
  const pki = join(dirname(kubeconfig), "pki");
  const dir = mkdtempSync(join(tmpdir(), "plinth-apiserver-"));
  const config = join(dir, "authentication.yaml");
  writeFileSync(config, o.authenticationConfig);
  const port = await freePort();
  const logFile = join(dir, "apiserver.log");
  const child: ChildProcess = spawn(
    controlplane(),
    [
      "kube-apiserver",
      `--etcd-servers=http://127.0.0.1:${ports.etcd.port()}`,
      `--etcd-prefix=/plinth-sso-${o.id}/`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, "certs")}`,
      `--tls-cert-file=${join(pki, "apiserver.crt")}`,
      `--tls-private-key-file=${join(pki, "apiserver.key")}`,
      `--client-ca-file=${join(pki, "ca.crt")}`,
      "--authorization-mode=RBAC",
      `--authentication-config=${config}`,
      `--service-account-issuer=${serviceAccountIssuer}`,
      `--service-account-key-file=${join(pki, "sa.pub")}`,
      `--service-account-signing-key-file=${join(pki, "sa.key")}`,
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      "--profiling=false",
      "--v=2",
    ],
    { stdio: ["ignore", openSync(logFile, "a"), openSync(logFile, "a")] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  const creds = loadKubeconfig(kubeconfig);
  const server = `https://127.0.0.1:${port}`;
  const admin = new KubeClient({ ...creds, server });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    // Its objects, under its own key prefix in the shared etcd (etcd's JSON gateway).
    const b64 = (x: string) => Buffer.from(x).toString("base64");
    await fetch(`http://127.0.0.1:${ports.etcd.port()}/v3/kv/deleterange`, {
      method: "POST",
      body: JSON.stringify({ key: b64(`/plinth-sso-${o.id}/`), range_end: b64(`/plinth-sso-${o.id}0`) }),
    }).catch(() => {});
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`kube-apiserver exited (${child.exitCode}):\n${log().slice(-3000)}`);
    const ready = await admin.request("GET", "/readyz", { timeoutMs: 2000 }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`kube-apiserver did not get ready within 120s:\n${log().slice(-3000)}`);
    }
    await sleep(500);
  }
  const asBearer = (token: string, method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const req = request(
        new URL(path, server),
        {
          method,
          ca: creds.ca,
          headers: {
            authorization: `Bearer ${token}`,
            accept: "application/json",
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
        },
        (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c.toString()));
          res.on("end", () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {}
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on("error", reject);
      if (body !== undefined) req.write(JSON.stringify(body));
      req.end();
    });
  return { admin, asBearer, authenticationFile: config, log, stop };
}
