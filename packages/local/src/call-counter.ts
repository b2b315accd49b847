import type { IncomingMessage } from "node:http";
import type { CallCounts } from "@azuchi/core";

/**
 * The access key of the stack's own AWS clients (table and queue creation, the TTL sweeper,
 * the SQS poller standing in for Lambda's event source mapping). Their requests are AWS's
 * machinery, not the application's calls, and are left out of the counts.
 */
export const STACK_ACCESS_KEY_ID = "azuchi-local-stack";

/**
 * Counts the AWS API requests that arrive at the local services, by `<service>.<Operation>`
 * (GET /dev/calls). Counted on arrival, before the service answers, so a request that fails
 * counts too: it was a round trip.
 */
export class CallCounter {
  private counts = new Map<string, number>();
  private since = Date.now();

  /** An AWS JSON request (DynamoDB, SQS, EventBridge): the operation is its X-Amz-Target's tail. */
  countAwsRequest(service: "dynamodb" | "sqs" | "eventbridge", req: Pick<IncomingMessage, "headers">): void {
    if (isStackMachinery(req)) return;
    const target = req.headers["x-amz-target"];
    const operation = typeof target === "string" ? target.slice(target.lastIndexOf(".") + 1) : "";
    this.add(`${service}.${/^[A-Za-z]+$/.test(operation) ? operation : "Unknown"}`);
  }

  /** An @connections request: POST, GET or DELETE on `/@connections/{id}`. */
  countManagementRequest(req: IncomingMessage): void {
    const operation = { POST: "PostToConnection", GET: "GetConnection", DELETE: "DeleteConnection" }[req.method ?? ""] ?? "Unknown";
    this.add(`connections.${operation}`);
  }

  snapshot(): CallCounts {
    return { since: this.since, calls: Object.fromEntries(this.counts) };
  }

  reset(): CallCounts {
    this.counts = new Map();
    this.since = Date.now();
    return this.snapshot();
  }

  private add(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }
}

/** SigV4's Credential=<access key>/…: the stack's own clients sign with STACK_ACCESS_KEY_ID. */
function isStackMachinery(req: Pick<IncomingMessage, "headers">): boolean {
  return String(req.headers.authorization ?? "").includes(`Credential=${STACK_ACCESS_KEY_ID}/`);
}
