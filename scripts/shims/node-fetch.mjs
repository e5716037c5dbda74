// Stands in for node-fetch inside the bundle: @kubernetes/client-node imports it for `Headers`
// (and for fetch in generated API classes plinth never calls). Node 20 has both built in, and
// node-fetch's URL dependencies cost a noticeable share of start-up.
export const Headers = globalThis.Headers;
export const Request = globalThis.Request;
export const Response = globalThis.Response;
export default globalThis.fetch;
/** Re-exported by client-node's index; plinth never receives them (it makes no fetch calls). */
export class AbortError extends Error {}
export class FetchError extends Error {}
