import { authEnvironment, functionArgs, logRetention, redisEnvironment } from "./defaults.ts";
import type { Pipeline } from "./pipeline.ts";
import type { Storage } from "./storage.ts";

/**
 * azuchi-chat: the ChatSocket WebSocket API (docs/architecture.md §5) with its REQUEST authorizer on
 * $connect, one function per route, and the Events subscriber that titles sessions.
 * Each function links exactly the resources its code reads (test/infra checks this against the
 * code); linking ChatSocket is what grants execute-api:ManageConnections to post to tabs.
 */

const handlers = "packages/chat/src/handlers";

/** Route key → handler. `action` in a client frame selects the route ($request.body.action). */
export const chatRoutes = {
  $connect: `${handlers}/connect.handler`,
  $disconnect: `${handlers}/disconnect.handler`,
  $default: `${handlers}/default.handler`,
  putMessage: `${handlers}/put-message.handler`,
  getSession: `${handlers}/get-session.handler`,
  listSessions: `${handlers}/list-sessions.handler`,
  stopGeneration: `${handlers}/stop-generation.handler`,
  retryMessage: `${handlers}/retry-message.handler`,
  renameSession: `${handlers}/rename-session.handler`,
  deleteSession: `${handlers}/delete-session.handler`,
  regenerateReply: `${handlers}/regenerate-reply.handler`,
} as const;

/**
 * The routes whose handlers talk to Redis: $connect (a user's new-session bucket), putMessage,
 * retryMessage and regenerateReply (the message bucket), stopGeneration (the stop flag) and
 * deleteSession (the chat's memory). Only they run in the VPC; the others reach DynamoDB and
 * API Gateway directly instead of through NAT (they link AgentMemory only because every chat
 * route gets the same links, and never connect to it).
 */
export const REDIS_ROUTES: ReadonlySet<keyof typeof chatRoutes> = new Set(["$connect", "putMessage", "retryMessage", "regenerateReply", "stopGeneration", "deleteSession"] as const);

export const CONNECT_AUTHORIZER_HANDLER = `${handlers}/authorizer.handler`;
/** The browser cannot set headers on a WebSocket, so the token rides in the query string. */
export const CONNECT_IDENTITY_SOURCE = "route.request.querystring.token";
export const SESSION_TITLES_HANDLER = `${handlers}/session-titles.handler`;

interface ChatInput {
  storage: Storage;
  pipeline: Pipeline;
  authSecret: sst.Secret;
}

export function createChat({ storage, pipeline, authSecret }: ChatInput) {
  const { sessions, connections, messages, messageIds } = storage.tables;
  const { queue, events } = pipeline;

  const socket = new sst.aws.ApiGatewayWebSocket("ChatSocket", {
    accessLog: { retention: logRetention($app.stage) },
  });

  // Every chat route gets these links; chat's deps.ts reads each on first use, so a route reads
  // only what it calls. The $connect authorizer has its own and reads only AuthSecret
  // (test/infra/links.test.ts checks both lists against the code).
  const chatDepsLinks = [sessions, connections, messages, messageIds, queue, events, socket, storage.memory, authSecret];
  const chat = (handler: string, options: { redis?: boolean } = {}) =>
    functionArgs("azuchi-chat", {
      handler,
      link: chatDepsLinks,
      // Redis (rate limits, the stop flag) is reachable only inside the VPC; under `sst dev`
      // the handlers run on your machine and there is no VPC.
      ...(options.redis && storage.vpc && { vpc: storage.vpc }),
      environment: redisEnvironment($dev, storage.redisCluster),
    });
  const route = (key: keyof typeof chatRoutes) => chat(chatRoutes[key], { redis: REDIS_ROUTES.has(key) });

  const authorizer = socket.addAuthorizer("ConnectToken", {
    lambda: {
      // Outside the VPC: it verifies a token and touches nothing else.
      function: functionArgs("azuchi-chat", { handler: CONNECT_AUTHORIZER_HANDLER, link: [authSecret], environment: authEnvironment() }),
      identitySources: [CONNECT_IDENTITY_SOURCE],
    },
  });
  socket.route("$connect", route("$connect"), { auth: { lambda: authorizer.id } });
  socket.route("$disconnect", route("$disconnect"));
  socket.route("$default", route("$default"));
  socket.route("putMessage", route("putMessage"));
  socket.route("getSession", route("getSession"));
  socket.route("listSessions", route("listSessions"));
  socket.route("stopGeneration", route("stopGeneration"));
  socket.route("retryMessage", route("retryMessage"));
  socket.route("renameSession", route("renameSession"));
  socket.route("deleteSession", route("deleteSession"));
  socket.route("regenerateReply", route("regenerateReply"));

  events.subscribe("SessionTitles", chat(SESSION_TITLES_HANDLER), {
    pattern: { source: ["azuchi.ai-agent"], detailType: ["AgentRunCompleted"] },
  });

  return { socket };
}

export type Chat = ReturnType<typeof createChat>;
