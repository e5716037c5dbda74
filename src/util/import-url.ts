/**
 * `import()` of a module by its URL (a config's compiled module, plinth's own entry). Its own
 * module because the offline CLI is bundled as a classic script, in which `import()` has no
 * loader: that build replaces this module with one calling its launcher's import
 * (scripts/shims/import-url.cjs).
 */
export function importUrl(url: string): Promise<unknown> {
  return import(url);
}
