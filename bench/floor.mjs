#!/usr/bin/env node
// The floor of a no-op live plan on this machine: a Node.js process that starts, opens one HTTP/2
// connection to the API server with the kubeconfig's client certificate, sends the requests a
// converged plan cannot do without (the ApplySet parent and one list per kind, all at once, as
// plinth does) and exits. Nothing is parsed beyond the kubeconfig, nothing planned: what is left
// of plinth's time above this is its own work. Usage: node bench/floor.mjs KUBECONFIG ENV KIND...
// (KIND as apiVersion/plural, e.g. v1/namespaces or helm.cattle.io/v1/helmcharts).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect } from "node:http2";

const [kubeconfig, env, ...kinds] = process.argv.slice(2);
const text = readFileSync(kubeconfig, "utf8");
const field = (name) => Buffer.from(new RegExp(`${name}: (\\S+)`).exec(text)?.[1] ?? "", "base64");
const server = /server: (\S+)/.exec(text)?.[1];
const session = connect(server, {
  ca: field("certificate-authority-data"),
  cert: field("client-certificate-data"),
  key: field("client-key-data"),
});
// The ApplySet id (KEP-3659), as src/providers/kubernetes/applyset.ts makes it.
const id = `applyset-${createHash("sha256").update(`plinth-applyset-${env}.kube-system.ConfigMap.`).digest("base64url")}-v1`;
const selector = new URLSearchParams({ labelSelector: `applyset.kubernetes.io/part-of=${id}` });
const get = (path) =>
  new Promise((resolve, reject) => {
    const stream = session.request({ ":path": path, accept: "application/json" });
    stream.on("response", (h) =>
      h[":status"] >= 500 ? reject(new Error(`${path}: ${h[":status"]}`)) : undefined,
    );
    stream.on("data", () => undefined);
    stream.on("end", resolve);
    stream.on("error", reject);
  });
const paths = [
  `/api/v1/namespaces/kube-system/configmaps/plinth-applyset-${env}`,
  ...kinds.map((k) => {
    const parts = k.split("/");
    const plural = parts.pop();
    const prefix = parts.length === 1 ? `/api/${parts[0]}` : `/apis/${parts.join("/")}`;
    return `${prefix}/${plural}?${selector}`;
  }),
];
await Promise.all(paths.map(get));
session.close();
