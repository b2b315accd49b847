import { beforeAll, describe, expect, it } from "vitest";
import { AGENT_METRICS, AGENT_METRICS_SERVICE, METRICS_NAMESPACE } from "../../packages/agent/src/run-metrics.ts";
import { CHAT_METRICS, CHAT_METRICS_SERVICE } from "../../packages/chat/src/message-metrics.ts";
import { component, functionsOf, loadInfrastructure, type Infrastructure } from "./fake-sst.ts";

interface Body {
  widgets: { type: string; properties: { title: string; region: string; metrics: unknown[][] } }[];
}

/** Each charted metric of ours as "service/name", from plain entries and SEARCH expressions. */
function charted(body: Body): Set<string> {
  const found = new Set<string>();
  for (const widget of body.widgets) {
    for (const entry of widget.properties.metrics) {
      if (entry[0] === METRICS_NAMESPACE && entry[2] === "service" && entry[4] === "stage" && entry[5] === "prod") found.add(`${String(entry[3])}/${String(entry[1])}`);
      const expression = (entry[0] as { expression?: string } | undefined)?.expression;
      const search = expression && /^SEARCH\('\{azuchi,service,stage[^}]*\} MetricName="([^"]+)" service="([^"]+)" stage="prod"'/.exec(expression);
      if (search) found.add(`${search[2]}/${search[1]}`);
    }
  }
  return found;
}

describe("the metrics dashboard, as `sst deploy --stage prod` builds it", () => {
  let infra: Infrastructure;
  let body: Body;
  beforeAll(async () => {
    infra = await loadInfrastructure({ stage: "prod", dev: false });
    body = JSON.parse(String(component(infra, "Dashboard").args.dashboardBody)) as Body;
  });

  it("is a CloudWatch dashboard named azuchi-<stage>", () => {
    const dashboard = component(infra, "Dashboard");
    expect(dashboard.type).toBe("aws.cloudwatch.Dashboard");
    expect(dashboard.args.dashboardName).toBe("azuchi-prod");
  });

  it("charts every metric the agent and the chat emit, under the service and stage dimensions they emit it with", () => {
    const emitted = [
      ...Object.values(AGENT_METRICS).map((metric) => `${AGENT_METRICS_SERVICE}/${metric.name}`),
      ...Object.values(CHAT_METRICS).map((metric) => `${CHAT_METRICS_SERVICE}/${metric.name}`),
    ];
    const shown = charted(body);
    expect(emitted.filter((name) => !shown.has(name)), "emitted but not charted").toEqual([]);
    expect([...shown].filter((name) => !emitted.includes(name)), "charted but never emitted").toEqual([]);
  });

  it("searches the dimensioned metrics over exactly the dimensions the code gives them", () => {
    for (const metric of Object.values(AGENT_METRICS).filter((known) => known.dimensions.length > 0)) {
      const expressions = body.widgets.flatMap((widget) => widget.properties.metrics.map((entry) => (entry[0] as { expression?: string }).expression ?? ""));
      expect(expressions).toContain(
        `SEARCH('{${[METRICS_NAMESPACE, "service", "stage", ...metric.dimensions].join(",")}} MetricName="${metric.name}" service="${AGENT_METRICS_SERVICE}" stage="prod"', 'Sum', 300)`,
      );
    }
  });

  it("puts every graph in the stage's region and shows the queues beside the metrics", () => {
    for (const widget of body.widgets) expect(widget.properties.region).toBe("${aws.getRegionOutput(…).region}");
    const queues = body.widgets.find((widget) => widget.properties.title === "Queues")!;
    expect(queues.properties.metrics.map((entry) => entry[3])).toEqual(["${AgentJobs.nodes.queue.name}", "${AgentJobs.nodes.queue.name}", "${AgentJobsDlq.nodes.queue.name}", "${AgentJobs.nodes.queue.name}"]);
  });

  it("bundles every function keeping class names, which the failure reasons are made of, and split (what only `import()` reaches stays out of a cold start)", () => {
    const functions = [...functionsOf(infra).values()];
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      const nodejs = fn.nodejs as { esbuild?: { keepNames?: boolean }; splitting?: boolean } | undefined;
      expect(nodejs?.esbuild?.keepNames, fn.handler).toBe(true);
      expect(nodejs?.splitting, fn.handler).toBe(true);
    }
  });
});
