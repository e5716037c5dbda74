/**
 * The CustomResourceDefinitions of what plinth deploys, read from the upstream projects' own Go
 * modules (pinned in testbed/go/crds/go.mod, fetched with `go mod download -json`, checked against
 * its go.sum), the way envtest users load CRDs. The test bed loads them into its API server; unit
 * tests can validate rendered objects against the same schemas without a running API server.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";

const run = promisify(execFile);

const root = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const moduleDir = join(root, "testbed", "go", "crds");
const cacheFile = join(root, ".testbed", "crds.json");

/**
 * Where each pinned module keeps its CRD manifests (plain YAML, one or more CRDs a file).
 * cert-manager's chart holds the same CRDs as Helm templates; deploy/crds has them rendered.
 */
const CRD_DIRS: Record<string, string[]> = {
  "github.com/k3s-io/helm-controller": ["pkg/crds/yaml/generated"],
  "github.com/cloudnative-pg/cloudnative-pg": ["config/crd/bases"],
  "github.com/cert-manager/cert-manager": ["deploy/crds"],
  // Traefik's CRDs (the SSO gate's Middleware). k3s bundles Traefik v3.7.x; the module proxy serves
  // v3.7.11 and later. The fixture is the same CRD set the docs' kubernetes-crd-definition-v1.yml
  // holds, in a folder without the docs' one-file-per-CRD duplicates.
  "github.com/traefik/traefik/v3": ["integration/fixtures/k8s"],
  // The Barman Cloud plugin's ObjectStore (backups), the version plinth installs.
  "github.com/cloudnative-pg/plugin-barman-cloud": ["config/crd/bases"],
};

export interface CrdFile {
  /** API group, e.g. `helm.cattle.io`. */
  group: string;
  /** Kind, e.g. `HelmChart`. */
  kind: string;
  /** Resource plural, e.g. `helmcharts`. */
  plural: string;
  /** Absolute path of the YAML file in the Go module cache holding this CRD. */
  file: string;
  /** Version of the Go module the CRD comes from (the upstream release), e.g. `v0.17.9`. */
  version: string;
  /** Go module path, e.g. `github.com/k3s-io/helm-controller`. */
  module: string;
  /** API versions the CRD serves, storage version first. */
  apiVersions: string[];
}

interface CrdDocument {
  kind?: string;
  spec?: {
    group?: string;
    names?: { kind?: string; plural?: string };
    versions?: {
      name: string;
      served?: boolean;
      storage?: boolean;
      schema?: { openAPIV3Schema?: Record<string, unknown> };
    }[];
  };
}

/** `module version` pairs of go.mod's require block (the pins). */
export function pinnedModules(goMod: string): { module: string; version: string }[] {
  const pins: { module: string; version: string }[] = [];
  for (const match of goMod.matchAll(/^\s*(?:require\s+)?([\w.\-/]+\.[\w.\-/]+)\s+(v[\w.\-+]+)\s*$/gm)) {
    const [, module, version] = match;
    if (module && version && module !== "go") pins.push({ module, version });
  }
  return pins;
}

async function downloadDir(module: string, version: string): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await run("go", ["mod", "download", "-json", `${module}@${version}`], {
      cwd: moduleDir,
      maxBuffer: 4 * 1024 * 1024,
    }));
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === "ENOENT") {
      throw new Error("Go toolchain not found: CRDs are read from Go modules; install Go and put it on PATH");
    }
    // `go mod download -json` reports a failed module in the JSON's Error field.
    const reason = /"Error":\s*"([^"]*)"/.exec(e.stdout ?? "")?.[1] ?? e.stderr ?? e.message;
    throw new Error(`go mod download ${module}@${version} (in ${moduleDir}) failed: ${reason}`);
  }
  const info = JSON.parse(stdout) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${module}@${version}: ${info.Error ?? "no Dir"}`);
  return info.Dir;
}

function crdsIn(dir: string, module: string, version: string): CrdFile[] {
  const found: CrdFile[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(name)) continue;
    const file = join(dir, name);
    for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
      const crd = doc.toJS() as CrdDocument | null;
      const group = crd?.spec?.group;
      const kind = crd?.spec?.names?.kind;
      const plural = crd?.spec?.names?.plural;
      if (crd?.kind !== "CustomResourceDefinition" || !group || !kind || !plural) continue;
      const versions = crd.spec?.versions ?? [];
      const apiVersions = [
        ...versions.filter((v) => v.storage).map((v) => v.name),
        ...versions.filter((v) => !v.storage && v.served !== false).map((v) => v.name),
      ];
      found.push({ group, kind, plural, file, version, module, apiVersions });
    }
  }
  return found;
}

let memo: Promise<CrdFile[]> | undefined;

/**
 * Every CRD of the pinned modules, downloading them on first use. The list is cached in
 * `.testbed/crds.json`, keyed on go.mod and go.sum, so later calls read one file.
 */
export function crdFiles(): Promise<CrdFile[]> {
  memo ??= loadCrdFiles().catch((error: unknown) => {
    memo = undefined;
    throw error;
  });
  return memo;
}

async function loadCrdFiles(): Promise<CrdFile[]> {
  const goMod = readFileSync(join(moduleDir, "go.mod"), "utf8");
  const goSum = existsSync(join(moduleDir, "go.sum")) ? readFileSync(join(moduleDir, "go.sum"), "utf8") : "";
  const key = createHash("sha256").update(goMod).update("\0").update(goSum).digest("hex");
  if (existsSync(cacheFile)) {
    try {
      const cached = JSON.parse(readFileSync(cacheFile, "utf8")) as { key: string; crds: CrdFile[] };
      if (cached.key === key && cached.crds.every((c) => existsSync(c.file))) return cached.crds;
    } catch {
      // A damaged cache is rebuilt below.
    }
  }
  const pins = pinnedModules(goMod);
  const missing = Object.keys(CRD_DIRS).filter((m) => !pins.some((p) => p.module === m));
  if (missing.length > 0) throw new Error(`${moduleDir}/go.mod does not pin ${missing.join(", ")}`);
  const lists = await Promise.all(
    pins.map(async ({ module, version }) => {
      const dirs = CRD_DIRS[module];
      if (!dirs) return [];
      const base = await downloadDir(module, version);
      return dirs.flatMap((d) => {
        const crds = crdsIn(join(base, d), module, version);
        if (crds.length === 0) throw new Error(`${module}@${version}: no CRDs in ${d}`);
        return crds;
      });
    }),
  );
  const crds = lists.flat();
  mkdirSync(join(root, ".testbed"), { recursive: true });
  writeFileSync(cacheFile, `${JSON.stringify({ key, crds }, null, 2)}\n`);
  return crds;
}

/**
 * The `openAPIV3Schema` of one served version of a CRD (e.g. `helm.cattle.io`, `HelmChart`, `v1`),
 * for validating rendered objects offline (ajv with `strict: false` reads it; the
 * `x-kubernetes-*` extensions are then ignored, so the API server stays the final judge).
 */
export async function crdSchema(
  group: string,
  kind: string,
  apiVersion: string,
): Promise<Record<string, unknown>> {
  const crd = (await crdFiles()).find((c) => c.group === group && c.kind === kind);
  if (!crd) throw new Error(`no pinned CRD for ${kind}.${group}`);
  for (const doc of parseAllDocuments(readFileSync(crd.file, "utf8"))) {
    const obj = doc.toJS() as CrdDocument | null;
    if (obj?.spec?.group !== group || obj.spec.names?.kind !== kind) continue;
    const schema = obj.spec.versions?.find((v) => v.name === apiVersion)?.schema?.openAPIV3Schema;
    if (schema) return schema;
  }
  throw new Error(`${kind}.${group} (${crd.module}@${crd.version}) serves no ${apiVersion} with a schema`);
}
