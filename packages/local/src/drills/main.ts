/**
 * `npm run drills [-- --only NAME[,NAME…]] [--short] [--json]`: runs the fault drills one
 * after another against fresh local stacks, prints what each injected and verified and a
 * Markdown table, and exits 1 if any promise was broken.
 */
import { commandOptions } from "../cli-args.ts";
import { formatFigures } from "./checker.ts";
import { drills } from "./drills.ts";
import { runDrill, type DrillResult } from "./harness.ts";

const values = commandOptions(
  `npm run drills [-- --only NAME[,NAME…]] [--short] [--json]
  --only NAME,…   only these drills (${drills.map((drill) => drill.name).join(", ")})
  --short         only the short drills (those npm test runs)
  --json          the results as JSON on stdout (the progress goes to stderr)`,
  {
    only: { type: "string" },
    short: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
);

const wanted = values.only?.split(",").map((name) => name.trim()).filter(Boolean);
const unknown = wanted?.filter((name) => !drills.some((drill) => drill.name === name)) ?? [];
if (unknown.length > 0) {
  console.error(`no drill ${unknown.join(", ")}; the drills are ${drills.map((drill) => drill.name).join(", ")}`);
  process.exit(2);
}
const selected = drills.filter((drill) => (wanted ? wanted.includes(drill.name) : !values.short || !drill.long));
const say = values.json ? (line: string) => console.error(line) : (line: string) => console.log(line);

const results: DrillResult[] = [];
for (const drill of selected) {
  say(`drill ${drill.name}: ${drill.title}`);
  const result = await runDrill(drill, say);
  say(`  ${result.passed ? "PASS" : "FAIL"} in ${(result.durationMs / 1000).toFixed(1)} s`);
  results.push(result);
}

say("");
say(markdownTable(results));
if (values.json) console.log(JSON.stringify(results, null, 2));
process.exit(results.every((result) => result.passed) ? 0 : 1);

/** What the events check found: messages and completions announced once, more than once, never. */
function busColumn(result: DrillResult): string {
  const mode = drills.find((drill) => drill.name === result.name)?.check?.events;
  if (!mode) return "not checked";
  const f = result.figures;
  const notes = [mode === "at-least-once" ? "at least once" : "", f.deadLettered ? `${f.deadLettered} in the DLQ` : ""].filter(Boolean);
  return `${f.announced} / ${f.announcedTwice} / ${f.unannounced}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`;
}

function markdownTable(rows: DrillResult[]): string {
  const lines = [
    "| drill | fault | sent | answered | told | lost | duplicated | out of order | bus: once / twice / missing | result | time |",
    "|---|---|---:|---:|---:|---:|---:|---:|---|---|---:|",
  ];
  for (const r of rows) {
    const f = r.figures;
    lines.push(`| ${r.name} | ${r.title} | ${f.sent} | ${f.answered} | ${f.told} | ${f.lost} | ${f.duplicated} | ${f.outOfOrder} | ${busColumn(r)} | ${r.passed ? "pass" : `FAIL (${r.violations.length})`} | ${(r.durationMs / 1000).toFixed(0)} s |`);
  }
  return lines.join("\n") + `\n\n${rows.filter((r) => r.passed).length} of ${rows.length} drills passed; ${rows.map((r) => `${r.name}: ${formatFigures(r.figures)}`).join("; ")}`;
}
