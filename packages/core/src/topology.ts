/**
 * `@azuchi/core/topology`: which handler answers which route, declared once. The WebSocket
 * routes and their $connect authorizer, chat's subscription on the Events bus, the HTTP API's
 * routes and their authorizer, the AgentJobs consumer.
 *
 * stacks/chat.ts and stacks/agent.ts deploy one function per entry (so a route added here exists
 * in AWS), packages/local/src/stack.ts serves the same entries (so it exists locally), and
 * test/infra/topology.test.ts holds both worlds and the handlers' exports to it. Plain data, like
 * stacks/storage.ts' tableSettings: no SST globals, no AWS SDK, no zod, so sst.config.ts, the
 * local stack and the tests can all import it.
 */
import { AGENT_EVENT_SOURCE } from "./event-sources.ts";
import type { EventDetailType } from "./events.ts";

/** The package whose handlers a route runs: `packages/<service>/src/handlers/…`, `@azuchi/<service>`. */
export type Service = "chat" | "agent";

/**
 * One handler, named both ways it is run: `file` is its module under the service's src/handlers
 * (SST deploys `<file>.handler`), `export` the name the service's index exports that handler
 * under (what the local stack calls).
 */
export interface HandlerRef {
  readonly file: string;
  readonly export: string;
}

/** A route's handler. `redis`: its code talks to Redis, so it runs in the VPC. */
export interface RouteHandler extends HandlerRef {
  readonly redis: boolean;
}

/** An authorizer: its handler and where API Gateway reads the token from. */
export interface AuthorizerRef extends HandlerRef {
  readonly identitySource: string;
}

/**
 * A rule on the Events bus, in SST's `subscribe` spelling (`detailType`); eventBridgePattern()
 * gives EventBridge's own.
 */
export interface BusSubscription extends HandlerRef {
  /** The subscriber's name in the stacks and the rule's name locally. */
  readonly name: string;
  readonly pattern: { readonly source: readonly string[]; readonly detailType: readonly EventDetailType[] };
}

export const chatTopology = {
  /**
   * Route key → handler. `action` in a client frame selects the route ($request.body.action);
   * $connect, $disconnect and $default are API Gateway's own.
   *
   * The routes that talk to Redis: $connect (a user's new-session bucket), putMessage,
   * retryMessage and regenerateReply (the message bucket), stopGeneration (the stop flag) and
   * deleteSession (the chat's memory). Only they run in the VPC; the others reach DynamoDB and
   * API Gateway directly instead of through NAT (they link AgentMemory only because every chat
   * route gets the same links, and never connect to it).
   */
  webSocketRoutes: {
    $connect: { file: "connect", export: "connect", redis: true },
    $disconnect: { file: "disconnect", export: "disconnect", redis: false },
    $default: { file: "default", export: "defaultRoute", redis: false },
    putMessage: { file: "put-message", export: "putMessage", redis: true },
    getSession: { file: "get-session", export: "getSession", redis: false },
    listSessions: { file: "list-sessions", export: "listSessions", redis: false },
    stopGeneration: { file: "stop-generation", export: "stopGeneration", redis: true },
    retryMessage: { file: "retry-message", export: "retryMessage", redis: true },
    renameSession: { file: "rename-session", export: "renameSession", redis: false },
    deleteSession: { file: "delete-session", export: "deleteSession", redis: true },
    regenerateReply: { file: "regenerate-reply", export: "regenerateReply", redis: true },
  },
  /**
   * The REQUEST authorizer of the route that opens a connection (a WebSocket API authorizes
   * $connect only). The browser cannot set headers on a WebSocket, so the token rides in the
   * query string.
   */
  connectAuthorizer: { route: "$connect", file: "authorizer", export: "authorizer", identitySource: "route.request.querystring.token" },
  /** The agent's finished runs, to title their sessions. */
  sessionTitles: {
    name: "SessionTitles",
    file: "session-titles",
    export: "sessionTitles",
    pattern: { source: [AGENT_EVENT_SOURCE], detailType: ["AgentRunCompleted"] },
  },
} as const satisfies {
  webSocketRoutes: Record<string, RouteHandler>;
  connectAuthorizer: AuthorizerRef & { route: "$connect" };
  sessionTitles: BusSubscription;
};

export const agentTopology = {
  /**
   * Route key ("METHOD /path") → handler. generateReply is the same use case as putMessage
   * (submitUserMessage), including the user's message rate, kept in Redis.
   */
  httpRoutes: {
    "POST /api/v1/chat/sessions/{sessionId}/reply/generate": { file: "generate-reply", export: "generateReply", redis: true },
  },
  /** The HTTP API's Lambda authorizer (simple responses) reads the bearer token. */
  httpAuthorizer: { file: "http-authorizer", export: "httpAuthorizer", identitySource: "$request.header.Authorization" },
  /** AgentJobs' subscriber. */
  jobsConsumer: { file: "consume-jobs", export: "consumeJobs" },
} as const satisfies {
  httpRoutes: Record<string, RouteHandler>;
  httpAuthorizer: AuthorizerRef;
  jobsConsumer: HandlerRef;
};

export type WebSocketRouteKey = keyof typeof chatTopology.webSocketRoutes;
export type HttpRouteKey = keyof typeof agentTopology.httpRoutes;

/** The names @azuchi/chat and @azuchi/agent export the topology's handlers under. */
export type ChatHandlerName =
  | (typeof chatTopology.webSocketRoutes)[WebSocketRouteKey]["export"]
  | typeof chatTopology.connectAuthorizer.export
  | typeof chatTopology.sessionTitles.export;
export type AgentHandlerName =
  | (typeof agentTopology.httpRoutes)[HttpRouteKey]["export"]
  | typeof agentTopology.httpAuthorizer.export
  | typeof agentTopology.jobsConsumer.export;

/** Entries of a route table with their keys typed (Object.entries widens them to string). */
export function routesOf<K extends string, V>(table: Record<K, V>): [K, V][] {
  return Object.entries(table) as [K, V][];
}

/** Every handler the topology names, with its service: one deployed function each. */
export function topologyHandlers(): { service: Service; handler: HandlerRef }[] {
  const of = (service: Service, handlers: HandlerRef[]) => handlers.map((handler) => ({ service, handler }));
  return [
    ...of("agent", [agentTopology.jobsConsumer, ...Object.values(agentTopology.httpRoutes), agentTopology.httpAuthorizer]),
    ...of("chat", [...Object.values(chatTopology.webSocketRoutes), chatTopology.connectAuthorizer, chatTopology.sessionTitles]),
  ];
}

/** What SST bundles for a handler: `packages/chat/src/handlers/put-message.handler`. */
export function deployedHandler(service: Service, handler: HandlerRef): string {
  return `packages/${service}/src/handlers/${handler.file}.handler`;
}

/**
 * A subscription's pattern as EventBridge writes it (`detail-type`), for a rule that is not made
 * by SST's `subscribe` (which takes `detailType` and writes this itself).
 */
export function eventBridgePattern({ pattern }: BusSubscription): { source: string[]; "detail-type": string[] } {
  return { source: [...pattern.source], "detail-type": [...pattern.detailType] };
}
