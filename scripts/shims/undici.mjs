// Stands in for undici inside the bundle: @kubernetes/client-node 2.x imports it at load time for
// its fetch-based API classes, watches and proxies, none of which plinth calls (its requests go
// through KubeConfig.applyToHTTPSOptions and node:https). Bundled, undici would add 1.4 MB to every
// live command's start-up; here it is loaded only if something does construct an Agent or fetch,
// from client-node's own dependency (the copy client-node resolves, wherever npm placed it).
import { createRequire } from "node:module";

let undici;
function load() {
  // Resolved from the bundle's own folder (import.meta.url: the scripts are CommonJS, which has no
  // import.meta.resolve).
  const client = createRequire(import.meta.url).resolve("@kubernetes/client-node");
  undici ??= createRequire(client)("undici");
  return undici;
}
// Functions, not classes: `new Agent(options)` then gives undici's own object.
export function Agent(options) {
  return new (load().Agent)(options);
}
export function ProxyAgent(options) {
  return new (load().ProxyAgent)(options);
}
export function fetch(input, init) {
  return load().fetch(input, init);
}
