// Stands in for node-fetch inside the bundle: @kubernetes/client-node imports it for `Headers`
// (and for fetch in generated API classes plinth never calls). Node has both built in, and
// node-fetch's URL dependencies cost a noticeable share of start-up. Each is looked up only when
// used: reading `globalThis.fetch` or `Headers` loads Node's undici (about 10 ms of every run).
// Functions, not classes: `new Headers(init)` then gives the built-in object itself.
export function Headers(init) {
  return new globalThis.Headers(init);
}
export function Request(input, init) {
  return new globalThis.Request(input, init);
}
export function Response(body, init) {
  return new globalThis.Response(body, init);
}
export default (input, init) => globalThis.fetch(input, init);
/** Re-exported by client-node's index; plinth never receives them (it makes no fetch calls). */
export class AbortError extends Error {}
export class FetchError extends Error {}
