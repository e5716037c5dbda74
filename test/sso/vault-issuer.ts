/**
 * `sso: { provider: "vault" }` on a real OpenBao: a fresh, non-dev server of the test's own (its
 * UI on), initialized and configured by plinth's Vault step exactly as `plinth apply` runs it
 * (plinth's own token, not root), then the test's people added the way the README tells an
 * operator to: a userpass user, an entity with an e-mail, its alias, membership of a group.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { oidcIssuerPath } from "../../src/catalog/vault-oidc.js";
import type { ResolvedEnvironment } from "../../src/model/types.js";
import {
  type ConvergeResult,
  convergeVault,
  unsealFilePath,
  VaultClient,
} from "../../src/providers/vault/index.js";
import { readUnsealFile } from "../../src/providers/vault/unseal-file.js";
import { KubeClient } from "../../testbed/kube/client.js";
import { tempDir } from "../helpers/config.js";
import { testbedEnv } from "../testbed/env.js";
import { type BaoServer, startBao } from "../vault/server.js";
import type { IssuedClient, IssuerUsers, VaultIssuer } from "./bed.js";
import type { OidcUser } from "./openbao-oidc.js";

const PASSPHRASE = `gate ${randomBytes(8).toString("hex")}`;

export interface OwnVault extends VaultIssuer {
  bao: BaoServer;
  /** The certificate of the https front (a self-signed CA of its own), PEM. */
  caPem: string;
  /** Each environment's runs of plinth's Vault step: apply, then a plan right after it. */
  runs: Record<string, { apply: ConvergeResult; again: ConvergeResult }>;
  /** A client with the root token from plinth's unseal file (the operator's, for adding people). */
  root(): Promise<VaultClient>;
  /** One run of plinth's Vault step for an environment (apply, or plan only). */
  step(env: ResolvedEnvironment, apply: boolean): Promise<ConvergeResult>;
  /** Every value plinth's runs returned, for a scan: no issued secret may be among them. */
  produced: string[];
  stop(): Promise<void>;
}

export async function ownVault(o: { allowedGroup: string }): Promise<OwnVault> {
  const bao = await startBao({
    stanzas: `ui = true
audit "file" "plinth" {
  description = "managed-by=plinth: audit log"
  options {
    file_path = "stdout"
  }
}`,
  });
  const project = tempDir("plinth-sso-vault-");
  const front = await httpsFront(bao.address, project);
  const kube = KubeClient.fromKubeconfig(testbedEnv("KUBECONFIG"));
  const runs: OwnVault["runs"] = {};
  const produced: string[] = [];
  const root = async () => {
    const m = await readUnsealFile(unsealFilePath(project, "bed"), {
      passphrase: PASSPHRASE,
      cluster: "bed",
      address: bao.address,
    });
    return new VaultClient({ address: bao.address, token: m.rootToken as string });
  };
  const converge = (env: ResolvedEnvironment, apply: boolean) =>
    convergeVault({
      client: new VaultClient({ address: bao.address }),
      env,
      ctx: { env: env.name, tooling: "plinth/test" },
      lifecycle: {
        cluster: "bed",
        unsealFile: unsealFilePath(project, "bed"),
        shares: 5,
        threshold: 3,
        passphrase: PASSPHRASE,
      },
      kubernetes: { host: kube.creds.server, caCert: kube.creds.ca.toString("utf8"), useLocalToken: false },
      // Phase 0's Secrets are copied into KV from the cluster; made-up values stand in for them here.
      kubeSecret: async (_namespace, name): Promise<Record<string, string>> =>
        name === "vault-storage"
          ? { connection_url: `postgresql://vault:${randomBytes(12).toString("hex")}@pg:5432/vault` }
          : { username: "vault", password: randomBytes(12).toString("hex") },
      // In a cluster, https://<vault host>; here the https front (the API server takes https issuers only).
      oidcIssuer: front.address,
      apply,
    });

  const self: OwnVault = {
    address: front.address,
    caPem: front.caPem,
    // OAuth2-Proxy trusts the front's own certificate (in a cluster: a public one).
    proxyArgs: [`--provider-ca-file=${front.caFile}`],
    allowedGroup: o.allowedGroup,
    bao,
    runs,
    root,
    produced,
    step: async (env, apply) => {
      const result = await converge(env, apply);
      produced.push(JSON.stringify(result));
      return result;
    },
    async converge(envs) {
      for (const env of envs) {
        const apply = await converge(env, true);
        const again = await converge(env, false);
        runs[env.name] = { apply, again };
        produced.push(JSON.stringify(apply), JSON.stringify(again));
      }
      const admin = await root();
      const users = await addPeople(admin, o.allowedGroup);
      const clients: Record<string, IssuedClient> = {};
      for (const env of envs) {
        // What the Vault Secrets Operator delivers into oauth2-proxy-client: KV, as plinth wrote it.
        const kv = await admin.read<{ data: { data: Record<string, string> } }>(
          `secret/data/${env.name}/sso/oauth2-proxy-client`,
        );
        const values = kv?.data.data ?? {};
        clients[env.name] = {
          issuer: `${front.address}${oidcIssuerPath(env.name)}`,
          clientId: values["client-id"] ?? "",
          clientSecret: values["client-secret"] ?? "",
        };
      }
      return { users, clients };
    },
    async stop() {
      front.server.closeAllConnections();
      front.server.close();
      await bao.stop();
    },
  };
  return self;
}

/**
 * The README's "Adding a user" for `provider: "vault"`, through Vault's API as `bao write` does
 * it: ada joins the allowed group (which plinth made), bob a group of his own.
 */
async function addPeople(admin: VaultClient, allowedGroup: string): Promise<IssuerUsers> {
  const auths = await admin.call<{ data: Record<string, { accessor: string }> }>("GET", "sys/auth");
  const accessor = auths.data["userpass/"]?.accessor;
  if (!accessor) throw new Error("plinth made no userpass auth method");
  const add = async (name: string, group: string): Promise<OidcUser> => {
    const password = randomBytes(18).toString("base64url");
    const email = `${name}@acme.example.org`;
    await admin.call("POST", `auth/userpass/users/${name}`, { password });
    const entity = await admin.call<{ data: { id: string } }>("POST", "identity/entity", {
      name,
      metadata: { email },
    });
    await admin.call("POST", "identity/entity-alias", {
      name,
      canonical_id: entity.data.id,
      mount_accessor: accessor,
    });
    const existing = await admin.read<{ data: { member_entity_ids?: string[] | null } }>(
      `identity/group/name/${group}`,
    );
    await admin.call("POST", `identity/group/name/${group}`, {
      member_entity_ids: [...(existing?.data.member_entity_ids ?? []), entity.data.id],
    });
    return { username: name, password, email, groups: [group] };
  };
  const member = await add("ada", allowedGroup);
  const outsider = await add("bob", "sales");
  return { mount: "userpass", member, outsider, allowedGroup, remove: async () => {} };
}

/**
 * OpenBao behind TLS on loopback, as Vault is behind Traefik's certificate in a cluster: a
 * self-signed certificate for 127.0.0.1 (openssl), every request passed on to the plain listener.
 */
async function httpsFront(
  target: string,
  dir: string,
): Promise<{ address: string; caFile: string; caPem: string; server: Server }> {
  const keyFile = join(dir, "front.key");
  const caFile = join(dir, "front.crt");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      caFile,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  const to = new URL(target);
  const server = createServer({ key: readFileSync(keyFile), cert: readFileSync(caFile) }, (req, res) => {
    const upstream = httpRequest(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as AddressInfo).port;
  return { address: `https://127.0.0.1:${port}`, caFile, caPem: readFileSync(caFile, "utf8"), server };
}
