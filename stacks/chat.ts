import { chatTopology, deployedHandler, routesOf, type HandlerRef } from "../packages/core/src/topology.ts";
import { authEnvironment, functionArgs, logRetention, redisEnvironment } from "./defaults.ts";
import type { Pipeline } from "./pipeline.ts";
import type { Storage } from "./storage.ts";

/**
 * azuchi-chat: the ChatSocket WebSocket API (docs/architecture.md §5) with its REQUEST authorizer on
 * $connect, one function per route, and the Events subscriber that titles sessions: one function
 * per entry of chatTopology (packages/core/src/topology.ts), which the local stack serves too.
 * Each function links exactly the resources its code reads (test/infra checks this against the
 * code); linking ChatSocket is what grants execute-api:ManageConnections to post to tabs.
 */

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
  const chat = (handler: HandlerRef & { redis?: boolean }) =>
    functionArgs("azuchi-chat", {
      handler: deployedHandler("chat", handler),
      link: chatDepsLinks,
      // Redis (rate limits, the stop flag) is reachable only inside the VPC; under `sst dev`
      // the handlers run on your machine and there is no VPC.
      ...(handler.redis && storage.vpc && { vpc: storage.vpc }),
      environment: redisEnvironment($dev, storage.redisCluster),
    });

  const { connectAuthorizer, sessionTitles } = chatTopology;
  const authorizer = socket.addAuthorizer("ConnectToken", {
    lambda: {
      // Outside the VPC: it verifies a token and touches nothing else.
      function: functionArgs("azuchi-chat", { handler: deployedHandler("chat", connectAuthorizer), link: [authSecret], environment: authEnvironment() }),
      identitySources: [connectAuthorizer.identitySource],
    },
  });
  for (const [key, route] of routesOf(chatTopology.webSocketRoutes)) {
    socket.route(key, chat(route), key === connectAuthorizer.route ? { auth: { lambda: authorizer.id } } : undefined);
  }

  events.subscribe(sessionTitles.name, chat(sessionTitles), {
    pattern: { source: [...sessionTitles.pattern.source], detailType: [...sessionTitles.pattern.detailType] },
  });

  return { socket };
}

export type Chat = ReturnType<typeof createChat>;
