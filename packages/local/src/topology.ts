/**
 * The local stack's side of @azuchi/core/topology: the gateway's routes and authorizer, the
 * bus's session-titles rule and the HTTP API's routes, built from the same description
 * stacks/chat.ts and stacks/agent.ts deploy, so a route added there is served here too.
 */
import type * as agentModule from "@azuchi/agent";
import type * as chatModule from "@azuchi/chat";
import { agentTopology, chatTopology, eventBridgePattern, routesOf, type AgentHandlerName, type ChatHandlerName } from "@azuchi/core/topology";
import type { EventBridgeRule } from "./eventbridge/index.ts";
import type { WebSocketRoutes } from "./gateway/routes.ts";
import type { HttpApiOptions } from "./http-api/http-api.ts";
import { invokeLambda } from "./runtime/index.ts";

type ChatModule = typeof chatModule;
type AgentModule = typeof agentModule;

/** The topology's handlers, by the names @azuchi/chat and @azuchi/agent export them under. */
export interface TopologyHandlers {
  chat<K extends ChatHandlerName>(name: K): ChatModule[K];
  agent<K extends AgentHandlerName>(name: K): AgentModule[K];
}

/** The function names handlers see in their context, as the stacks' functions are named. */
const FUNCTION_PREFIX = { chat: "azuchi-chat", agent: "azuchi-ai-agent" } as const;

/** chatTopology's WebSocket routes and $connect authorizer, for createWebSocketGateway. */
export function gatewayRoutes(handlers: TopologyHandlers): Required<WebSocketRoutes> {
  return {
    authorizer: handlers.chat(chatTopology.connectAuthorizer.export),
    routes: Object.fromEntries(routesOf(chatTopology.webSocketRoutes).map(([key, route]) => [key, handlers.chat(route.export)])),
  };
}

/** agentTopology's HTTP routes and their authorizer, for createHttpApi. */
export function httpApiRoutes(handlers: TopologyHandlers): Required<Pick<HttpApiOptions, "authorizer" | "routes">> {
  return {
    authorizer: handlers.agent(agentTopology.httpAuthorizer.export),
    routes: routesOf(agentTopology.httpRoutes).map(([routeKey, route]) => ({
      routeKey,
      handler: handlers.agent(route.export),
      functionName: `${FUNCTION_PREFIX.agent}-${route.file}`,
    })),
  };
}

/**
 * chatTopology's subscription as a rule on the local bus. The bus starts before the handlers
 * (their environment names it), so the rule asks for its handler when an event arrives.
 */
export function sessionTitlesRule(eventBusName: string, handlers: () => TopologyHandlers | undefined): EventBridgeRule {
  const { sessionTitles } = chatTopology;
  return {
    name: sessionTitles.name,
    eventBusName,
    pattern: eventBridgePattern(sessionTitles),
    target: async (event) => {
      const started = handlers();
      if (!started) throw new Error("the stack is starting: no session-titles handler yet");
      await invokeLambda(started.chat(sessionTitles.export), event, { functionName: `${FUNCTION_PREFIX.chat}-${sessionTitles.file}` });
    },
  };
}
