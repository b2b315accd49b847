/**
 * `npm run capacity`: the turns per second each component allows, which binds first, and the
 * infrastructure cost of 1,000 turns, as a Markdown table (README "Capacity and cost").
 *
 *   npm run capacity                                   # docs/capacity/turn-profile.json
 *   npm run capacity -- --profile bench.json           # a bench run's { callsPerTurn, redisRoundTripsPerTurn, … }
 *   npm run capacity -- --tier "tier 3" --json
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Assumptions, capacity, CapacityInput, TurnProfile, type CapacityReport } from "./model.ts";
import { PUBLISHED } from "./published.ts";

const DEFAULT_INPUT = fileURLToPath(new URL("../../../../docs/capacity/turn-profile.json", import.meta.url));

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** The default file's assumptions, with a bench's profile when one is given. */
export function loadInput(profilePath: string | undefined, defaultsPath = DEFAULT_INPUT): CapacityInput {
  const defaults = CapacityInput.parse(readJson(defaultsPath));
  if (!profilePath) return defaults;
  const raw = readJson(profilePath) as Record<string, unknown>;
  const profile = TurnProfile.safeParse("profile" in raw ? raw.profile : raw);
  if (!profile.success) throw new Error(`${profilePath} is not a turn profile ({ callsPerTurn: { "<service>.<Operation>": n }, redisRoundTripsPerTurn: n }): ${profile.error.message}`);
  const assumptions = "assumptions" in raw ? Assumptions.parse(raw.assumptions) : defaults.assumptions;
  return { profile: profile.data, assumptions };
}

const number = (value: number) => (value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toPrecision(3));

export function toMarkdown(report: CapacityReport): string {
  const lines = [
    `Turns per second each component allows (${PUBLISHED.region}, default quotas, read ${PUBLISHED.checkedOn}):`,
    "",
    "| component | turns/s | arithmetic | source |",
    "|---|---:|---|---|",
    ...report.limits.map((l) => `| ${l.component}${l === report.binding ? " **(binds first)**" : l === report.bindingInfrastructure ? " **(binds next: first of AWS)**" : ""} | ${number(l.turnsPerSecond)} | ${l.arithmetic} | ${l.source.startsWith("http") ? `[source](${l.source.split(" ")[0]})` : l.source} |`),
    "",
    `Infrastructure cost per 1,000 turns, the model's tokens excluded: **$${report.costPer1000Turns.toFixed(4)}**`,
    "",
    "| item | $ per 1,000 turns | arithmetic | source |",
    "|---|---:|---|---|",
    ...report.costs.map((c) => `| ${c.item} | ${c.per1000Turns.toFixed(4)} | ${c.arithmetic} | [source](${c.source}) |`),
  ];
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { profile: { type: "string" }, tier: { type: "string", default: "tier 1" }, json: { type: "boolean", default: false } } });
  try {
    if (!(values.tier in PUBLISHED.openai.tokensPerMinute)) throw new Error(`--tier must be one of ${Object.keys(PUBLISHED.openai.tokensPerMinute).join(", ")}`);
    const report = capacity(loadInput(values.profile), PUBLISHED, values.tier);
    console.log(values.json ? JSON.stringify(report, null, 2) : toMarkdown(report));
  } catch (error) {
    console.error(`capacity: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
