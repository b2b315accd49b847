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
  private readonly elsewhere: CountsElsewhere[] = [];

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

  /** Counts another thread keeps (dynalite's): added to these when read. */
  keptElsewhere(counts: CountsElsewhere): void {
    this.elsewhere.push(counts);
  }

  /** What was counted here, by name. */
  counted(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  async snapshot(): Promise<CallCounts> {
    const calls = this.counted();
    for (const counts of await Promise.all(this.elsewhere.map((source) => source.read()))) {
      for (const [name, n] of Object.entries(counts)) calls[name] = (calls[name] ?? 0) + n;
    }
    return { since: this.since, calls };
  }

  async reset(): Promise<CallCounts> {
    this.clear();
    await Promise.all(this.elsewhere.map((source) => source.read({ reset: true })));
    return this.snapshot();
  }

  clear(): void {
    this.counts = new Map();
    this.since = Date.now();
  }

  private add(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }
}

/**
 * A counter on another thread, read by message when GET /dev/calls asks rather than told of
 * each request: a message between threads per DynamoDB request cost dynalite's thread 5% of
 * its CPU. A request is counted as it arrives there, so one already answered is in the read.
 */
export interface CountsElsewhere {
  read(options?: { reset?: boolean }): Promise<Record<string, number>>;
}

/** SigV4's Credential=<access key>/…: the stack's own clients sign with STACK_ACCESS_KEY_ID. */
function isStackMachinery(req: Pick<IncomingMessage, "headers">): boolean {
  return String(req.headers.authorization ?? "").includes(`Credential=${STACK_ACCESS_KEY_ID}/`);
}
