import {
  AGENT_EVENT_SOURCE,
  ConnectionsRepository,
  createDocumentClient,
  createEventBridgeClient,
  createManagementClient,
  createSqsClient,
  EventPublisher,
  MessagesRepository,
  Notifier,
  Resource,
  SessionsRepository,
  type SQSClient,
} from "@azuchi/core";
import { Logger } from "@aws-lambda-powertools/logger";
import { linkedTables } from "./linked-tables.ts";

/**
 * What generateChatReply touches — the store-then-enqueue path, the tabs of the session, the bus,
 * no Redis and no OpenAI — so its function links only these and stays out of the VPC.
 */
export interface HttpDeps {
  sessions: SessionsRepository;
  messages: MessagesRepository;
  notifier: Notifier;
  sqs: SQSClient;
  queueUrl: string;
  events: EventPublisher;
  logger: Logger;
}

let deps: HttpDeps | undefined;

export function httpDeps(): HttpDeps {
  if (deps) return deps;
  const doc = createDocumentClient();
  const tables = linkedTables();
  deps = {
    sessions: new SessionsRepository(doc, tables.sessions),
    messages: new MessagesRepository(doc, tables),
    notifier: new Notifier(createManagementClient(Resource.ChatSocket.managementEndpoint), new ConnectionsRepository(doc, tables.connections)),
    sqs: createSqsClient(),
    queueUrl: Resource.AgentJobs.url,
    events: new EventPublisher(createEventBridgeClient(), Resource.Events.name, AGENT_EVENT_SOURCE),
    logger: new Logger({ serviceName: "azuchi-ai-agent" }),
  };
  return deps;
}
