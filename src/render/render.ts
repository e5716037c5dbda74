import { existsSync } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { error, UserError } from "../diagnostics/diagnostic.js";
import type { DesiredComponent } from "../plan/desired.js";
import { describeKeys } from "../secrets/environment.js";
import { toYaml } from "../util/yaml.js";

/** Marks a folder as plinth's render output, so a re-render may replace it and nothing else. */
export const RENDER_MARKER = ".plinth-render";

export interface RenderedFile {
  /** Path relative to the output folder: `phase-<id>/<component>.yaml`. */
  path: string;
  content: string;
}

/** Pure: the files of a render, byte-identical for the same input. */
export function renderFiles(env: string, components: DesiredComponent[]): RenderedFile[] {
  return components
    .filter((c) => c.objects.length > 0 || c.external.length > 0)
    .map((c) => {
      const header = [
        `# plinth render: environment ${env}, phase ${c.phase}, component ${c.id}`,
        ...c.external.map((e) => `# applied by plinth, not rendered here: ${e.kind} ${e.name}: ${e.detail}`),
        ...c.secrets.map(
          (s) => `# secret written at apply, never rendered: ${s.namespace}/${s.name} (${describeKeys(s)})`,
        ),
      ];
      const docs = c.objects.map((o) => toYaml(o));
      return {
        path: join(`phase-${c.phase}`, `${c.id}.yaml`),
        content: `${header.join("\n")}\n${docs.length ? `---\n${docs.join("---\n")}` : ""}`,
      };
    });
}

/**
 * Writes a render into `outDir`. A folder that holds anything but an earlier render is refused,
 * so a mistyped --out never deletes someone's files.
 */
export async function writeRender(outDir: string, displayDir: string, files: RenderedFile[]): Promise<void> {
  if (existsSync(outDir)) {
    const entries = await readdir(outDir);
    if (entries.length > 0 && !entries.includes(RENDER_MARKER)) {
      throw new UserError(
        error(`${displayDir} exists and is not a plinth render folder`, {
          path: "--out",
          fix: "choose an empty or new folder",
        }),
      );
    }
    for (const entry of entries)
      if (entry.startsWith("phase-")) await rm(join(outDir, entry), { recursive: true });
  }
  await mkdir(outDir, { recursive: true });
  await writeFile(
    join(outDir, RENDER_MARKER),
    "rendered by plinth; re-rendering replaces the phase-* folders\n",
  );
  for (const f of files) {
    await mkdir(join(outDir, f.path, ".."), { recursive: true });
    await writeFile(join(outDir, f.path), f.content);
  }
}
