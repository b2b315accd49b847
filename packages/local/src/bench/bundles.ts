/**
 * What a cold start costs: every handler the stacks deploy, bundled as SST bundles it for
 * Lambda, what a cold start loads of it, and how long a fresh `node` takes to import it (the
 * module graph's evaluation, which a cold Lambda instance pays before its first invocation).
 *
 * SST v4's Node runtime (pkg/runtime/node/build.go) runs esbuild with: ESM, platform node,
 * bundle, target ES2024 for nodejs24.x, mainFields module/main, keepNames, minify outside
 * `sst dev`, and as external only `sharp` and `pg-native` — the AWS SDK is bundled, not taken
 * from the runtime. Its banner gives ESM a `require` (4.17.1's binary holds the five lines
 * below, not the injected `__dirname` shim of later sources). With `nodejs.splitting` (which
 * stacks/defaults.ts turns on) it writes to the function's directory (outdir) with
 * `entryNames: "bundle"` and `outExtension` `.mjs`, so the entry is `bundle.mjs` and the
 * handler `bundle.handler` (sst/sst#6083, merged 2025-09, before 4.17.1); it sets no chunk
 * names, so the chunks take esbuild's default, `chunk-<hash>.mjs` (or the dynamically imported
 * module's name and hash) beside the entry. A cold start reads the entry and the chunks it
 * imports statically; a chunk reached only through `import()` is read when that code first
 * runs. Sourcemaps are left out here: they are not what a cold start loads.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type * as topologyModule from "@azuchi/core/topology";
import { build, type Metafile } from "esbuild";

export const repositoryRoot = resolve(fileURLToPath(new URL("../../../..", import.meta.url)));

export interface BundleFigure {
  /** As the stacks name it, e.g. `packages/chat/src/handlers/authorizer.handler`. */
  handler: string;
  /** What a cold start reads: the entry and the chunks it imports statically. */
  loadedBytes: number;
  /** Every file of the function's bundle (the entry and all its chunks). */
  shippedBytes: number;
  /** How many files those are (1 without splitting). */
  files: number;
  /** Median, over fresh processes, of the time `await import()` of the bundle's entry takes. */
  coldImportMs: number;
  /** The fastest of those imports: closer to what an idle machine takes when others share this one. */
  coldImportMinMs: number;
  /**
   * Median CPU time (user + system, all the process' threads) the import took: the work itself,
   * which other processes on a shared machine do not inflate as they do the wall-clock time.
   */
  coldImportCpuMs: number;
}

export interface HandlerBundle {
  handler: string;
  /** Every file SST would ship, by name in the function's directory: `bundle.mjs` and its chunks. */
  files: Map<string, string>;
  /** The files a cold start reads: `bundle.mjs` and, transitively, the chunks it imports statically (not through `import()`). */
  loaded: string[];
  metafile: Metafile;
}

/** The entry SST names with splitting (and, as `outfile`, without): the function's handler is `bundle.handler`. */
export const ENTRY_FILE = "bundle.mjs";

/** Where esbuild is told to write, relative to the root (nothing is written: the metafile's paths start with it). */
const OUTDIR = ".azuchi-bundle";
const inOutdir = (metafilePath: string) => relative(OUTDIR, metafilePath);

/** SST's banner (on every output file): an ESM bundle of CommonJS packages needs `require`, `__filename`, `__dirname`. */
const SST_BANNER = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  `const require = topLevelCreateRequire(import.meta.url);`,
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
  `const __filename = topLevelFileUrlToPath(import.meta.url)`,
  `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
].join("\n");

/**
 * Every `<dir>/<file>.handler` the stacks deploy: the handlers the root checkout's
 * packages/core/src/topology.ts names (its own, so a before/after comparison bundles each
 * side's). A checkout from before the topology declared them in stacks/*.ts, read there.
 */
export async function declaredHandlers(root = repositoryRoot): Promise<string[]> {
  const topologyFile = join(root, "packages/core/src/topology.ts");
  if (!existsSync(topologyFile)) return handlersWrittenInStacks(root);
  const topology = (await import(pathToFileURL(topologyFile).href)) as typeof topologyModule;
  return topology.topologyHandlers().map(({ service, handler }) => topology.deployedHandler(service, handler));
}

/** `const handlers = "packages/…/handlers"` and `${handlers}/<file>.handler` in stacks/*.ts, in the order written there. */
function handlersWrittenInStacks(root: string): string[] {
  const stacksDir = join(root, "stacks");
  const found: string[] = [];
  for (const file of readdirSync(stacksDir).filter((name) => name.endsWith(".ts")).sort()) {
    const source = readFileSync(join(stacksDir, file), "utf8");
    const dir = /const handlers = "([^"]+)"/.exec(source)?.[1];
    if (!dir) continue;
    for (const match of source.matchAll(/`\$\{handlers\}\/([\w-]+)\.handler`/g)) found.push(`${dir}/${match[1]}.handler`);
  }
  if (found.length === 0) throw new Error(`no handlers found in ${stacksDir}`);
  return [...new Set(found)];
}

/**
 * Whether the root checkout's stacks bundle with splitting (stacks/defaults.ts'
 * FUNCTION_NODEJS), so that a before/after comparison bundles each side as it deploys.
 * A checkout from before that constant did not split.
 */
export async function stacksSplit(root = repositoryRoot): Promise<boolean> {
  const defaults = (await import(pathToFileURL(join(root, "stacks/defaults.ts")).href)) as { FUNCTION_NODEJS?: { splitting?: boolean } };
  return defaults.FUNCTION_NODEJS?.splitting === true;
}

/** `packages/chat/src/handlers/connect.handler` → its source file. */
export function handlerSource(handler: string, root = repositoryRoot): string {
  return join(root, `${handler.slice(0, handler.lastIndexOf("."))}.ts`);
}

/** One handler bundled as `sst deploy` would, split as the root's stacks say (nothing written; the metafile says what is in each file). */
export async function bundleHandler(handler: string, root = repositoryRoot): Promise<HandlerBundle> {
  const outdir = join(root, OUTDIR);
  const result = await build({
    entryPoints: [handlerSource(handler, root)],
    absWorkingDir: root,
    bundle: true,
    splitting: await stacksSplit(root),
    platform: "node",
    format: "esm",
    target: "es2024",
    mainFields: ["module", "main"],
    external: ["sharp", "pg-native"],
    keepNames: true,
    minify: true,
    banner: { js: SST_BANNER },
    metafile: true,
    write: false,
    outdir,
    entryNames: "bundle",
    outExtension: { ".js": ".mjs" },
    logLevel: "silent",
  });
  const files = new Map(result.outputFiles.map((file) => [relative(outdir, file.path), file.text]));
  if (!files.has(ENTRY_FILE)) throw new Error(`esbuild wrote no ${ENTRY_FILE} for ${handler}`);
  const outputs = new Map(Object.entries(result.metafile.outputs).map(([path, output]) => [inOutdir(path), output]));
  return { handler, files, loaded: staticClosure(outputs), metafile: result.metafile };
}

/** The entry and every file it reaches through static `import` statements (what Node links before the handler runs). */
function staticClosure(outputs: Map<string, Metafile["outputs"][string]>): string[] {
  const loaded = [ENTRY_FILE];
  for (let i = 0; i < loaded.length; i++) {
    for (const { path, kind, external } of outputs.get(loaded[i]!)!.imports) {
      if (kind === "import-statement" && !external && !loaded.includes(inOutdir(path))) loaded.push(inOutdir(path));
    }
  }
  return loaded;
}

const bytesOf = (bundle: HandlerBundle, files: Iterable<string>) => [...files].reduce((sum, file) => sum + Buffer.byteLength(bundle.files.get(file)!), 0);

/** The bytes a cold start reads. */
export const loadedBytes = (bundle: HandlerBundle) => bytesOf(bundle, bundle.loaded);

/** The bytes of every file the function ships. */
export const shippedBytes = (bundle: HandlerBundle) => bytesOf(bundle, bundle.files.keys());

/**
 * The npm packages (by name, e.g. `@aws-sdk/client-dynamodb`, `zod`) in a bundle, with their
 * bytes: in what a cold start loads, or in every file shipped (what a later `import()` may load too).
 */
export function packagesIn(bundle: HandlerBundle, files: "loaded" | "shipped" = "loaded"): Map<string, number> {
  const wanted = new Set(files === "loaded" ? bundle.loaded : bundle.files.keys());
  const sizes = new Map<string, number>();
  for (const [outputPath, output] of Object.entries(bundle.metafile.outputs)) {
    if (!wanted.has(inOutdir(outputPath))) continue;
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = packageName(path);
      if (name) sizes.set(name, (sizes.get(name) ?? 0) + bytesInOutput);
    }
  }
  return sizes;
}

function packageName(path: string): string | undefined {
  const at = path.lastIndexOf("node_modules/");
  if (at === -1) return undefined;
  const [scope, name] = path.slice(at + "node_modules/".length).split("/");
  return scope?.startsWith("@") ? `${scope}/${name}` : scope;
}

/** Writes the bundle's files into `dir` as the function's directory holds them; returns the entry's path. */
export function writeBundle(bundle: HandlerBundle, dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, code] of bundle.files) writeFileSync(join(dir, name), code);
  return join(dir, ENTRY_FILE);
}

/**
 * One fresh `node` (this one's binary), no flags: how long the import of `file` takes in it, in
 * wall-clock and CPU time. It fails if the import does, e.g. when a chunk it imports is missing.
 */
export function importOnce(file: string): Promise<{ ms: number; cpuMs: number }> {
  const script =
    `const t = performance.now(); const c = process.cpuUsage(); await import(${JSON.stringify(pathToFileURL(file).href)}); ` +
    `const { user, system } = process.cpuUsage(c); process.stdout.write(JSON.stringify([performance.now() - t, (user + system) / 1000]));`;
  return new Promise((resolveTime, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "" } });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk));
    child.on("error", reject);
    child.on("exit", (code) => {
      const [ms, cpuMs] = code === 0 && out.startsWith("[") ? (JSON.parse(out) as number[]) : [];
      if (Number.isFinite(ms) && Number.isFinite(cpuMs)) resolveTime({ ms: ms!, cpuMs: cpuMs! });
      else reject(new Error(`importing ${file} failed (exit ${code}): ${err.trim().split("\n").slice(0, 3).join(" ")}`));
    });
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export interface MeasureOptions {
  /** Fresh processes per handler; the median is reported. Default 7. */
  runs?: number;
  /** Only these handlers (default: every one the stacks declare). */
  handlers?: string[];
  /** Another checkout of the repository to measure (with its node_modules), e.g. an earlier commit's. */
  root?: string;
}

/**
 * Bundles every declared handler and times its cold import. The runs go round the handlers
 * (one import of each, then the next round), so a busy moment of the machine is shared out
 * rather than landing on one handler's every run.
 */
export async function measureBundles(options: MeasureOptions = {}): Promise<BundleFigure[]> {
  const [figures] = await compareBundles([options.root ?? repositoryRoot], options);
  return figures!;
}

/**
 * The same for several checkouts at once (e.g. `/work/main` and this one): every checkout's
 * bundles are built (each as its own stacks bundle it) and written first, then each round
 * imports every bundle of every checkout once, so a before/after comparison shares the
 * machine's busy and quiet moments alike. One figure list per root, in the order given.
 */
export async function compareBundles(roots: string[], options: Omit<MeasureOptions, "root"> = {}): Promise<BundleFigure[][]> {
  const runs = Math.max(1, options.runs ?? 7);
  const dir = mkdtempSync(join(tmpdir(), "azuchi-bundles-"));
  try {
    const built: { root: number; figure: Omit<BundleFigure, `coldImport${string}`>; entry: string; times: number[]; cpuTimes: number[] }[] = [];
    for (const [index, root] of roots.entries()) {
      for (const handler of options.handlers ?? (await declaredHandlers(root))) {
        const bundle = await bundleHandler(handler, root);
        const entry = writeBundle(bundle, join(dir, `${index}-${handler.replaceAll("/", "_")}`));
        const figure = { handler, loadedBytes: loadedBytes(bundle), shippedBytes: shippedBytes(bundle), files: bundle.files.size };
        built.push({ root: index, figure, entry, times: [], cpuTimes: [] });
      }
    }
    for (let i = 0; i < runs; i++) {
      for (const entry of built) {
        const { ms, cpuMs } = await importOnce(entry.entry);
        entry.times.push(ms);
        entry.cpuTimes.push(cpuMs);
      }
    }
    return roots.map((_, index) =>
      built
        .filter((entry) => entry.root === index)
        .map(({ figure, times, cpuTimes }) => ({ ...figure, coldImportMs: median(times), coldImportMinMs: Math.min(...times), coldImportCpuMs: median(cpuTimes) })),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
