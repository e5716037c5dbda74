// src/util/import-url.ts in the offline script (dist/bundle/offline.cjs): a classic script run by
// vm.Script has no module loader for import(), so bin/plinth passes its own as __plinthImport, a
// parameter of the function the script's source is wrapped in (scripts/bundle.mjs).
exports.importUrl = (url) => __plinthImport(url);
