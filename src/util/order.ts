/**
 * Orders names by UTF-16 code unit, as `Array.prototype.sort()` does, for a comparator. Not
 * `localeCompare`: its first call loads ICU's collator, about 6 ms of CPU (70 M instructions) of a
 * cold `plan --offline`. For what plinth sorts this way (DNS labels, Kubernetes names, Vault
 * paths: lower-case letters, digits, `-`, `.`, `/`), ICU's root order is the same order
 * (`order.test.ts` checks it); it differs for upper/lower case and for `_`.
 */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
