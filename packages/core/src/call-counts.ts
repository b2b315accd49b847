import * as z from "zod/mini";
import "./zod-english.ts";

/** `<service>.<Operation>`: `dynamodb.PutItem`, `sqs.SendMessage`, `eventbridge.PutEvents`, `connections.PostToConnection`. */
export const CallName = z.string().check(z.regex(/^(dynamodb|sqs|eventbridge|connections)\.[A-Za-z]+$/, "<service>.<Operation>"));

/**
 * The local stack's GET /dev/calls: the AWS API requests the handlers made, counted where
 * each arrives at the local services, since `since` (the stack's start, or the last
 * POST /dev/calls/reset). The stack's own stand-ins for AWS machinery (the SQS poller in the
 * role of Lambda's event source mapping, the TTL sweeper, table and queue creation) are not
 * counted: in AWS those are not the application's calls. Read by `npm run bench`.
 */
export const CallCounts = z.object({
  since: z.int(),
  calls: z.record(CallName, z.int().check(z.nonnegative())),
});
export type CallCounts = z.infer<typeof CallCounts>;
