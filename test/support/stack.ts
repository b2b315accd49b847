import { SQSClient } from "@aws-sdk/client-sqs";
import { Redis } from "ioredis";
import { startLocalStack, type LocalStack, type LocalStackOptions } from "@azuchi/local/stack";
import { openClient, type TestClient } from "./ws-client.ts";

/** A client on the stack's own redis-server, to look at the keys the agent writes. */
export function stackRedis(stack: LocalStack): Redis {
  const memory = JSON.parse(stack.environment.SST_RESOURCE_AgentMemory!) as { host: string; port: number };
  return new Redis({ host: memory.host, port: memory.port });
}

/** A client on the stack's SQS emulator, to read or change its queues. */
export function stackSqs(stack: LocalStack): SQSClient {
  return new SQSClient({ endpoint: stack.environment.AWS_ENDPOINT_URL_SQS, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } });
}

export interface TestStack extends LocalStack {
  token(user: string): Promise<string>;
  /** A tab of `user`, on `sessionId` or a new session. */
  connect(user: string, sessionId?: string): Promise<TestClient>;
  /** The session a client is on, learnt with getSession as a tab does. */
  sessionOf(client: TestClient): Promise<string>;
}

/** The whole local stack on a free port, keeping nothing on disk. One per test file (it sets process.env). */
export async function startTestStack(options: LocalStackOptions = {}): Promise<TestStack> {
  const lines: string[] = [];
  // Handlers log through Powertools; the tests read what reaches the user instead.
  process.env.POWERTOOLS_LOG_LEVEL = process.env.AZUCHI_TEST_LOG_LEVEL ?? "SILENT";
  const stack = await startLocalStack({ port: 0, ephemeral: true, log: (line) => lines.push(line), ...options });
  const token = async (user: string) => {
    const response = await fetch(`${stack.url}/dev/token?user=${encodeURIComponent(user)}`);
    const body = (await response.json()) as { token: string };
    return body.token;
  };
  return {
    ...stack,
    token,
    async connect(user, sessionId) {
      const url = new URL(stack.webSocketUrl);
      url.searchParams.set("token", await token(user));
      if (sessionId) url.searchParams.set("sessionId", sessionId);
      return openClient(url.toString());
    },
    async sessionOf(client) {
      const start = client.frames.length;
      client.send({ action: "getSession" });
      const frame = await client.waitFor((f, ) => f.type === "session" && client.frames.indexOf(f) >= start);
      if (frame.type !== "session") throw new Error("unreachable");
      return frame.session.sessionId;
    },
  };
}
