/**
 * The environment the handlers see: what `sst dev` gives a function — linked resources as
 * SST_RESOURCE_<Name> JSON — plus the standard AWS_ENDPOINT_URL_<SERVICE> variables that
 * point the unchanged AWS SDK clients at the local emulators.
 */
export interface LocalEndpoints {
  dynamodb: string;
  sqs: string;
  eventbridge: string;
  managementEndpoint: string;
  webSocketUrl: string;
  jobsQueueUrl: string;
  dlqUrl: string;
  redis: { host: string; port: number; username: string; password: string };
  openai: { apiKey: string; baseURL?: string };
  authSecret: string;
  authIssuer: string;
  authAudience: string;
  tables: { sessions: string; connections: string; messages: string; messageIds: string };
  busName: string;
  maxAttempts: number;
  /** AgentJobs' redrive maxReceiveCount: the agent keeps the last receive for giving a job up. */
  maxReceives: number;
  turnTimeoutMs: number;
}

export function handlerEnvironment(e: LocalEndpoints): Record<string, string> {
  const link = (value: object) => JSON.stringify(value);
  const env: Record<string, string> = {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_DYNAMODB: e.dynamodb,
    AWS_ENDPOINT_URL_SQS: e.sqs,
    AWS_ENDPOINT_URL_EVENTBRIDGE: e.eventbridge,
    SST_RESOURCE_App: link({ name: "azuchi", stage: "local" }),
    SST_RESOURCE_Sessions: link({ name: e.tables.sessions, type: "sst.aws.Dynamo" }),
    SST_RESOURCE_Connections: link({ name: e.tables.connections, type: "sst.aws.Dynamo" }),
    SST_RESOURCE_Messages: link({ name: e.tables.messages, type: "sst.aws.Dynamo" }),
    SST_RESOURCE_MessageIds: link({ name: e.tables.messageIds, type: "sst.aws.Dynamo" }),
    SST_RESOURCE_AgentJobs: link({ url: e.jobsQueueUrl, type: "sst.aws.Queue" }),
    SST_RESOURCE_AgentJobsDlq: link({ url: e.dlqUrl, type: "sst.aws.Queue" }),
    SST_RESOURCE_ChatSocket: link({ url: e.webSocketUrl, managementEndpoint: e.managementEndpoint, type: "sst.aws.ApiGatewayWebSocket" }),
    SST_RESOURCE_Events: link({ name: e.busName, arn: `arn:aws:events:us-east-1:000000000000:event-bus/${e.busName}`, type: "sst.aws.Bus" }),
    SST_RESOURCE_AgentMemory: link({ ...e.redis, type: "sst.aws.Redis" }),
    SST_RESOURCE_OpenAiApiKey: link({ value: e.openai.apiKey, type: "sst.sst.Secret" }),
    SST_RESOURCE_AuthSecret: link({ value: e.authSecret, type: "sst.sst.Secret" }),
    // As stacks/ sets them for a dev stage: a local Redis has no TLS.
    AZUCHI_REDIS_TLS: "false",
    AZUCHI_AUTH_ISSUER: e.authIssuer,
    AZUCHI_AUTH_AUDIENCE: e.authAudience,
    AZUCHI_MAX_ATTEMPTS: String(e.maxAttempts),
    AZUCHI_MAX_RECEIVES: String(e.maxReceives),
    AZUCHI_TURN_TIMEOUT_MS: String(e.turnTimeoutMs),
  };
  if (e.openai.baseURL) env.OPENAI_BASE_URL = e.openai.baseURL;
  return env;
}
