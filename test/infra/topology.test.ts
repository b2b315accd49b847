import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as agent from "@azuchi/agent";
import * as chat from "@azuchi/chat";
import { AGENT_EVENT_SOURCE, CHAT_EVENT_SOURCE } from "@azuchi/core/contracts";
import { agentTopology, chatTopology, deployedHandler, routesOf, topologyHandlers, type HandlerRef, type Service } from "@azuchi/core/topology";
import { beforeAll, describe, expect, it } from "vitest";
import { matchesEventPattern, validateEventPattern } from "../../packages/local/src/eventbridge/index.ts";
import { selectRoute } from "../../packages/local/src/gateway/routes.ts";
import { gatewayRoutes, httpApiRoutes, sessionTitlesRule, type TopologyHandlers } from "../../packages/local/src/topology.ts";
import { handlerFile } from "./code-reads.ts";
import { callsOf, loadInfrastructure, pathOf, root, type FunctionRecord, type Infrastructure } from "./fake-sst.ts";

/**
 * @azuchi/core/topology is the one place routes are declared: every handler it names exists, the
 * stacks deploy exactly its routes and subscription, and the local stack serves exactly them.
 * A route added to one world by hand fails here.
 */

const modules = { chat, agent } as Record<Service, Record<string, unknown>>;


/** Route key → deployed handler path, as the topology says. */
const deployedWebSocketRoutes = Object.fromEntries(routesOf(chatTopology.webSocketRoutes).map(([key, route]) => [key, deployedHandler("chat", route)]));
const deployedHttpRoutes = Object.fromEntries(routesOf(agentTopology.httpRoutes).map(([key, route]) => [key, deployedHandler("agent", route)]));

describe("the topology's handlers", () => {
  it.each(topologyHandlers().map(({ service, handler }) => [`${service} ${handler.export}`, service, handler] as const))(
    "%s: the service exports it, and it is the handler of the file the stacks deploy",
    async (_name, service, ref: HandlerRef) => {
      const exported = modules[service][ref.export];
      expect(typeof exported, `@azuchi/${service} exports no ${ref.export}`).toBe("function");
      const file = (await import(handlerFile(deployedHandler(service, ref)))) as { handler: unknown };
      expect(exported).toBe(file.handler);
    },
  );

  it("names chat's client actions: every route besides API Gateway's own", () => {
    const actions = Object.keys(chatTopology.webSocketRoutes).filter((key) => !key.startsWith("$"));
    expect([...chat.CLIENT_ROUTES].sort()).toEqual(actions.sort());
  });

  it("subscribes to an event the agent publishes, by the contracts' names", () => {
    expect(chatTopology.sessionTitles.pattern).toEqual({ source: [AGENT_EVENT_SOURCE], detailType: ["AgentRunCompleted"] });
  });
});

describe.each([
  { stage: "prod", dev: false },
  { stage: "dev", dev: true },
])("the deployed stacks ($stage, dev: $dev) declare exactly the topology", (scenario) => {
  let infra: Infrastructure;
  beforeAll(async () => {
    infra = await loadInfrastructure(scenario);
  });

  /** An API's `route` calls, which must be exactly `expected` (route key → handler path), and its one authorizer. */
  function deployedApi(api: "ChatSocket" | "AgentApi", expected: Record<string, string>, authorizerArgsAt: number) {
    const routes = callsOf(infra, api, "route");
    expect(Object.fromEntries(routes.map((call) => [call.args[0], (call.args[1] as FunctionRecord).handler]))).toEqual(expected);
    expect(routes).toHaveLength(Object.keys(expected).length);
    const [addAuthorizer] = callsOf(infra, api, "addAuthorizer");
    const { lambda } = addAuthorizer!.args[authorizerArgsAt] as { lambda: { function: FunctionRecord; identitySources: string[] } };
    return { routes, authorizer: { id: `${addAuthorizer!.result}.id`, handler: lambda.function.handler, identitySources: lambda.identitySources } };
  }

  it("ChatSocket: its routes and their handlers, the $connect authorizer", () => {
    const { authorizer } = deployedApi("ChatSocket", deployedWebSocketRoutes, 1);
    expect(authorizer.handler).toBe(deployedHandler("chat", chatTopology.connectAuthorizer));
    expect(authorizer.identitySources).toEqual([chatTopology.connectAuthorizer.identitySource]);
  });

  it("Events: chat's one subscription, its handler and pattern", () => {
    const subscriptions = callsOf(infra, "Events", "subscribe");
    expect(subscriptions.map((call) => [call.args[0], (call.args[1] as FunctionRecord).handler, call.args[2]])).toEqual([
      [chatTopology.sessionTitles.name, deployedHandler("chat", chatTopology.sessionTitles), { pattern: chatTopology.sessionTitles.pattern }],
    ]);
  });

  it("AgentApi: its routes and their handlers, behind the bearer-token authorizer", () => {
    const { routes, authorizer } = deployedApi("AgentApi", deployedHttpRoutes, 0);
    expect(authorizer.handler).toBe(deployedHandler("agent", agentTopology.httpAuthorizer));
    expect(authorizer.identitySources).toEqual([agentTopology.httpAuthorizer.identitySource]);
    for (const route of routes) expect(pathOf((route.args[2] as { auth: { lambda: unknown } }).auth.lambda)).toBe(authorizer.id);
  });

  it("AgentJobs: the topology's consumer, when deployed (sst dev polls on your machine instead)", () => {
    const handlers = callsOf(infra, "AgentJobs", "subscribe").map((call) => (call.args[0] as FunctionRecord).handler);
    expect(handlers).toEqual(scenario.dev ? [] : [deployedHandler("agent", agentTopology.jobsConsumer)]);
  });
});

describe("the local stack serves exactly the topology", () => {
  const handlers: TopologyHandlers = { chat: (name) => chat[name], agent: (name) => agent[name] };

  it("its gateway routes every route key to the topology's handler, and a frame for each action to its route", () => {
    const { authorizer, routes } = gatewayRoutes(handlers);
    expect(authorizer).toBe(chat[chatTopology.connectAuthorizer.export]);
    expect(Object.keys(routes).sort()).toEqual(Object.keys(chatTopology.webSocketRoutes).sort());
    for (const [key, route] of routesOf(chatTopology.webSocketRoutes)) {
      expect(routes[key], key).toBe(chat[route.export]);
      if (!key.startsWith("$")) expect(selectRoute(routes, Buffer.from(JSON.stringify({ action: key })), false)).toBe(key);
    }
  });

  it("its HTTP API routes every route key to the topology's handler, behind its authorizer", () => {
    const { authorizer, routes } = httpApiRoutes(handlers);
    expect(authorizer).toBe(agent[agentTopology.httpAuthorizer.export]);
    expect(routes.map((route) => [route.routeKey, route.handler])).toEqual(routesOf(agentTopology.httpRoutes).map(([key, route]) => [key, agent[route.export]]));
  });

  it("its bus rule is the subscription's pattern in EventBridge's spelling, matching what the stacks subscribe to", () => {
    const rule = sessionTitlesRule("bus", () => handlers);
    expect(rule.name).toBe(chatTopology.sessionTitles.name);
    expect(() => validateEventPattern(rule.pattern)).not.toThrow();
    const event = (source: string, detailType: string) => ({ source, "detail-type": detailType, detail: {} });
    expect(matchesEventPattern(rule.pattern, event(AGENT_EVENT_SOURCE, "AgentRunCompleted"))).toBe(true);
    expect(matchesEventPattern(rule.pattern, event(AGENT_EVENT_SOURCE, "AgentRunFailed"))).toBe(false);
    expect(matchesEventPattern(rule.pattern, event(CHAT_EVENT_SOURCE, "AgentRunCompleted"))).toBe(false);
  });
});

describe("no route is declared anywhere else", () => {
  /** The files that wire routes: each must take them from the topology, not spell one out. */
  const wiring = ["stacks/chat.ts", "stacks/agent.ts", "packages/local/src/stack.ts", "packages/local/src/topology.ts"];
  const routeKeys = [...Object.keys(chatTopology.webSocketRoutes), ...Object.keys(agentTopology.httpRoutes)];

  it.each(wiring)("%s names no route key, handler file or event pattern of its own", (file) => {
    const source = readFileSync(resolve(root, file), "utf8");
    for (const key of routeKeys) expect(source, key).not.toContain(`"${key}"`);
    expect(source).not.toMatch(/\.route\(\s*["'`]/);
    expect(source).not.toMatch(/routeKey:\s*["'`]/);
    expect(source).not.toMatch(/handlers\/[a-z-]+\.handler/);
    expect(source).not.toMatch(/"detail-type"|detailType:\s*\[\s*"/);
  });
});
