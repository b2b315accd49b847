import {
  ConnectionsRepository,
  createDocumentClient,
  createManagementClient,
  createSqsClient,
  createTokenVerifier,
  MessagesRepository,
  Notifier,
  Resource,
  SessionsRepository,
  type SQSClient,
  type VerifiedToken,
} from "@azuchi/core";
import { Logger } from "@aws-lambda-powertools/logger";

/** Everything azuchi-chat's handlers touch, created once per Lambda instance. */
export interface ChatDeps {
  sessions: SessionsRepository;
  connections: ConnectionsRepository;
  messages: MessagesRepository;
  notifier: Notifier;
  sqs: SQSClient;
  queueUrl: string;
  verifyToken: (token: string | undefined) => Promise<VerifiedToken>;
  logger: Logger;
}

let deps: ChatDeps | undefined;

export function chatDeps(): ChatDeps {
  if (deps) return deps;
  const doc = createDocumentClient();
  const tables = {
    sessions: Resource.Sessions.name,
    connections: Resource.Connections.name,
    messages: Resource.Messages.name,
    messageIds: Resource.MessageIds.name,
  };
  const connections = new ConnectionsRepository(doc, tables.connections);
  deps = {
    sessions: new SessionsRepository(doc, tables.sessions),
    connections,
    messages: new MessagesRepository(doc, tables),
    notifier: new Notifier(createManagementClient(Resource.ChatSocket.managementEndpoint), connections),
    sqs: createSqsClient(),
    queueUrl: Resource.AgentJobs.url,
    verifyToken: createTokenVerifier({
      hmacSecret: Resource.AuthSecret.value,
      jwksUrl: process.env.AZUCHI_AUTH_JWKS_URL,
      issuer: process.env.AZUCHI_AUTH_ISSUER,
      audience: process.env.AZUCHI_AUTH_AUDIENCE,
    }),
    logger: new Logger({ serviceName: "azuchi-chat" }),
  };
  return deps;
}
