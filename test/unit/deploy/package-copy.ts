import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

// This checkout as a publisher and an installer would see it: copied to a temp
// dir without its build output (a build left over from older sources must not
// decide what the package holds), built with the package's own build script,
// then packed. Real npm, real tsc, real Node resolution.

export const ROOT = resolve(import.meta.dirname, "../../..");
const run = promisify(execFile);

/** Not copied: installed, generated or version-control state. */
const SKIP = new Set(["node_modules", "dist", ".git", "test-results", "coverage", "tmp"]);

export interface PackageCopy {
  dir: string;
  /** `npm <args>` in the copy; resolves with stdout. */
  npm(args: readonly string[]): Promise<string>;
  remove(): Promise<void>;
}

/** `stale` files are written into the copy's dist/ first, as an earlier build would have left them. */
export async function copyOfCheckout(stale: readonly string[] = []): Promise<PackageCopy> {
  const dir = await mkdtemp(join(tmpdir(), "pn-package-"));
  await cp(ROOT, dir, {
    recursive: true,
    filter: (source) => !SKIP.has(source.slice(ROOT.length + 1).split("/")[0] ?? ""),
  });
  await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"));
  for (const path of stale) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), "// left over from an older build\n");
  }
  const npm = async (args: readonly string[]) =>
    (await run("npm", [...args], { cwd: dir, maxBuffer: 16 << 20 })).stdout;
  return { dir, npm, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Paths in the package `npm pack --dry-run --json` describes. */
export function packedPaths(json: string): string[] {
  const [report] = JSON.parse(json) as { files: { path: string }[] }[];
  return (report?.files ?? []).map((f) => f.path).sort();
}
