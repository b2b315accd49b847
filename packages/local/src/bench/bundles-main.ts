/**
 * `npm run bundles`: each handler's bundle as SST would deploy it — what a cold start loads of
 * it (the entry and the chunks it imports statically) and its largest packages, what the
 * function ships (every chunk), and the median time a fresh `node` takes to import it. `--json` prints the figures
 * as JSON; `--runs N` sets the fresh processes per handler; `--root DIR` measures another
 * checkout (an earlier commit's, with node_modules) beside this one, in the same rounds, and
 * prints the two side by side (before: DIR, after: this checkout).
 */
import { commandOptions } from "../cli-args.ts";
import { bundleHandler, compareBundles, packagesIn, repositoryRoot, stacksSplit, type BundleFigure } from "./bundles.ts";

const values = commandOptions(
  `npm run bundles [-- --json] [--runs 7] [--root DIR]
  Each handler's bundle as SST would deploy it, and its cold import.
  --json        the figures as JSON
  --runs N      fresh processes per handler for the cold import
  --root DIR    another checkout (with node_modules) measured beside this one: before and after`,
  {
    runs: { type: "string", default: "7" },
    json: { type: "boolean", default: false },
    root: { type: "string" },
  },
);

const roots = values.root ? [values.root, repositoryRoot] : [repositoryRoot];
const figures = await compareBundles(roots, { runs: Number(values.runs) });
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const ms = (value: number) => `${value.toFixed(0)} ms`;
const shortName = (handler: string) => handler.replace(/^packages\//, "").replace("/src/handlers/", "/").replace(/\.handler$/, "");

if (values.json) {
  console.log(JSON.stringify(values.root ? { before: { root: values.root, figures: figures[0] }, after: { root: repositoryRoot, figures: figures[1] } } : figures[0], null, 2));
} else if (!values.root) {
  console.log(`handler bundles (esbuild, as SST bundles nodejs24.x${(await stacksSplit()) ? ", split" : ""}; loaded: the entry and its static imports, what a cold start reads;`);
  console.log(`shipped: every file; cold import: median and fastest of ${values.runs} fresh \`node ${process.version}\`, and median CPU time; largest packages in what is loaded)`);
  for (const { handler, loadedBytes, shippedBytes, files, coldImportMs, coldImportMinMs, coldImportCpuMs } of figures[0]!) {
    const largest = [...packagesIn(await bundleHandler(handler))]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([name, size]) => `${name} ${kb(size)}`)
      .join(", ");
    const shipped = `${kb(shippedBytes)} in ${files}`;
    console.log(`  ${shortName(handler).padEnd(24)} ${kb(loadedBytes).padStart(8)} (shipped ${shipped.padStart(12)})  ${ms(coldImportMs).padStart(7)} (min ${ms(coldImportMinMs).padStart(6)}, cpu ${ms(coldImportCpuMs).padStart(6)})   ${largest}`);
  }
} else {
  const [before, after] = figures as [BundleFigure[], BundleFigure[]];
  console.log(`handler bundles, before (${values.root}${(await stacksSplit(values.root)) ? ", split" : ""}) → after (${repositoryRoot}${(await stacksSplit()) ? ", split" : ""}), measured in the same rounds`);
  console.log(`(esbuild as SST bundles nodejs24.x; loaded: the entry and its static imports, what a cold start reads; shipped: every file; cold import of ${values.runs} fresh \`node ${process.version}\`: wall-clock median and fastest, and the median CPU time, which the machine's other load inflates least)`);
  console.log(`  ${"handler".padEnd(24)} ${"loaded".padStart(19)}   ${"shipped".padStart(19)}   ${"import, median".padStart(19)}   ${"fastest".padStart(15)}   ${"CPU, median".padStart(17)}`);
  const handlers = [...new Set([...before, ...after].map((figure) => figure.handler))];
  for (const handler of handlers) {
    const b = before.find((figure) => figure.handler === handler);
    const a = after.find((figure) => figure.handler === handler);
    const pair = (value: (figure: BundleFigure) => string, width: number) => `${b ? value(b) : "—"} → ${a ? value(a) : "—"}`.padStart(width);
    console.log(
      `  ${shortName(handler).padEnd(24)} ${pair((f) => kb(f.loadedBytes), 19)}   ${pair((f) => kb(f.shippedBytes), 19)}   ${pair((f) => ms(f.coldImportMs), 19)}   ${pair((f) => ms(f.coldImportMinMs), 15)}   ${pair((f) => ms(f.coldImportCpuMs), 17)}`,
    );
  }
}
