import {
  ConnectionsRepository,
  createDocumentClient,
  createManagementClient,
  createSqsClient,
  MessagesRepository,
  Notifier,
  Resource,
  SessionsRepository,
  type SQSClient,
} from "@azuchi/core";
import { Logger } from "@aws-lambda-powertools/logger";

/**
 * What generateChatReply touches — the store-then-enqueue path and the tabs of the session,
 * no Redis and no OpenAI — so its function links only these and stays out of the VPC.
 */
export interface HttpDeps {
  sessions: SessionsRepository;
  messages: MessagesRepository;
  notifier: Notifier;
  sqs: SQSClient;
  queueUrl: string;
  logger: Logger;
}

let deps: HttpDeps | undefined;

export function httpDeps(): HttpDeps {
  if (deps) return deps;
  const doc = createDocumentClient();
  const tables = {
    sessions: Resource.Sessions.name,
    connections: Resource.Connections.name,
    messages: Resource.Messages.name,
    messageIds: Resource.MessageIds.name,
  };
  deps = {
    sessions: new SessionsRepository(doc, tables.sessions),
    messages: new MessagesRepository(doc, tables),
    notifier: new Notifier(createManagementClient(Resource.ChatSocket.managementEndpoint), new ConnectionsRepository(doc, tables.connections)),
    sqs: createSqsClient(),
    queueUrl: Resource.AgentJobs.url,
    logger: new Logger({ serviceName: "azuchi-ai-agent" }),
  };
  return deps;
}
