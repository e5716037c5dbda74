/**
 * STAND-IN name resolution for plinth's tests, preloaded into the CLI with `node --import`: the
 * stand-in Cloudflare zones are served by no resolver, so the names listed in PLINTH_TEST_RESOLVE
 * (`name=address,…`) are answered here, as the real records would be once DNS has propagated.
 * Every other name goes to the system resolver.
 */
import dns from "node:dns";

const table = new Map(
  (process.env.PLINTH_TEST_RESOLVE ?? "")
    .split(",")
    .filter(Boolean)
    .map((entry) => entry.split("=")),
);
const systemLookup = dns.lookup;

dns.lookup = function lookup(hostname, options, callback) {
  const address = table.get(hostname);
  if (!address) return systemLookup.call(this, hostname, options, callback);
  const done = typeof options === "function" ? options : callback;
  const family = address.includes(":") ? 6 : 4;
  const all = typeof options === "object" && options?.all;
  process.nextTick(() => (all ? done(null, [{ address, family }]) : done(null, address, family)));
  return {};
};
