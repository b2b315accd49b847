import { SQSClient } from "@aws-sdk/client-sqs";
import { signingAndCachedMiddleware, withFastConfig } from "./aws-client-options.ts";

// Apart from aws-clients.ts: a module a cold start loads must not import the SQS client where
// the function only loads it later, with `import()` (the agent's consumer calls SQS only for
// failed jobs): esbuild's splitting would put the client in the chunks every cold start reads.

export type { SQSClient };

export function createSqsClient(): SQSClient {
  return withFastConfig(new SQSClient({ ...signingAndCachedMiddleware }));
}
