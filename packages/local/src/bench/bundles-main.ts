/**
 * `npm run bundles`: each handler's bundle as SST would deploy it — its size, its largest
 * packages, and the median time a fresh `node` takes to import it. `--json` prints the figures
 * as JSON; `--runs N` sets the fresh processes per handler; `--root DIR` measures another
 * checkout (an earlier commit's, with node_modules) instead of this one.
 */
import { parseArgs } from "node:util";
import { bundleHandler, measureBundles, packagesIn } from "./bundles.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "7" },
    json: { type: "boolean", default: false },
    root: { type: "string" },
  },
});

const figures = await measureBundles({ runs: Number(values.runs), root: values.root });
if (values.json) {
  console.log(JSON.stringify(figures, null, 2));
} else {
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
  console.log(`handler bundles (esbuild, as SST bundles nodejs24.x; cold import: median and fastest of ${values.runs} fresh \`node ${process.version}\`)`);
  for (const { handler, bytes, coldImportMs, coldImportMinMs } of figures) {
    const largest = [...packagesIn(await bundleHandler(handler, values.root))]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([name, size]) => `${name} ${kb(size)}`)
      .join(", ");
    const name = handler.replace(/^packages\//, "").replace("/src/handlers/", "/").replace(/\.handler$/, "");
    console.log(`  ${name.padEnd(24)} ${kb(bytes).padStart(8)}  ${`${coldImportMs.toFixed(0)} ms`.padStart(7)} (min ${`${coldImportMinMs.toFixed(0)} ms`.padStart(6)})   ${largest}`);
  }
}
