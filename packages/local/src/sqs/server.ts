import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SqsError } from "./errors.ts";
import type { Input } from "./input.ts";
import { messageOperations } from "./message-operations.ts";
import { moveTaskOperations } from "./move-tasks.ts";
import { queueOperations } from "./queue-operations.ts";
import type { Operation, OperationContext } from "./queue-operations.ts";
import { QueueStore } from "./queue-store.ts";

export interface SqsEmulatorOptions {
  /** Sees every request as it arrives (the local stack counts AWS calls with it). */
  onRequest?: (request: IncomingMessage) => void;
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default us-east-1; goes into queue ARNs. */
  region?: string;
  /** Default 000000000000; goes into queue URLs and ARNs. */
  accountId?: string;
  /** Clock in ms since the epoch (default Date.now); tests move it to pass the 5-minute deduplication window. */
  now?: () => number;
  /**
   * Folder where queues, messages, in-flight state and deduplication ids are kept, so a
   * restarted emulator answers what it held; without it nothing is kept.
   */
  dataDir?: string;
}

export interface SqsEmulator {
  /** e.g. http://127.0.0.1:4566; queue URLs are `${endpoint}/${accountId}/${queueName}`. */
  endpoint: string;
  /**
   * Runs one operation in this process, as a request to `endpoint` would (the same operation,
   * the same journal commit before the answer, the answer as it would cross the wire), without
   * the HTTP request and the SDK's work: for the stack's own machinery (the event source
   * poller), never for the handlers. Rejects with the SqsError a request would be answered with.
   */
  call(operationName: string, input: Input, signal?: AbortSignal): Promise<unknown>;
  close(): Promise<void>;
}

const operations: Record<string, Operation> = { ...queueOperations, ...messageOperations, ...moveTaskOperations };
const targetPrefix = "AmazonSQS.";

/**
 * An SQS speaking the AWS JSON 1.0 protocol the current @aws-sdk/client-sqs uses:
 * `POST /` with `X-Amz-Target: AmazonSQS.<Operation>` and a JSON body. Signatures are not checked.
 * A request in the older query protocol is refused with an XML error that says which to use.
 * In memory, and with `dataDir` also journalled to disk before each answer (queue-journal.ts).
 */
export async function startSqsEmulator(options: SqsEmulatorOptions = {}): Promise<SqsEmulator> {
  const host = options.host ?? "127.0.0.1";
  const store = new QueueStore({
    region: options.region ?? "us-east-1",
    accountId: options.accountId ?? "000000000000",
    now: options.now,
  });
  if (options.dataDir !== undefined) await store.persistTo(options.dataDir);
  let endpoint = "";
  const server = createServer((request, response) => {
    options.onRequest?.(request);
    void handle(request, response, store, endpoint);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
  } catch (error) {
    await store.closeJournal();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  endpoint = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    endpoint,
    async call(operationName, input, signal = new AbortController().signal) {
      const operation = operationNamed(operationName);
      // What the SDK would send and read back: plain JSON, so no object is shared with the store.
      const output = await runCommitted(operation, JSON.parse(JSON.stringify(input)) as Input, { store, endpoint, signal });
      return output === undefined ? {} : JSON.parse(JSON.stringify(output));
    },
    async close() {
      store.close();
      await new Promise<void>((resolve) => {
        // Long polls answer at once after store.close(); kept-alive sockets would hold close() open.
        const force = setTimeout(() => server.closeAllConnections(), 250);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      await store.closeJournal();
    },
  };
}

async function handle(request: IncomingMessage, response: ServerResponse, store: QueueStore, endpoint: string): Promise<void> {
  const requestId = randomUUID();
  // Stops a long poll when the client disconnects before the answer is written.
  const aborted = new AbortController();
  response.on("close", () => aborted.abort());
  try {
    const target = request.headers["x-amz-target"];
    const operationName = typeof target === "string" && target.startsWith(targetPrefix) ? target.slice(targetPrefix.length) : undefined;
    const body = await readBody(request);
    if (operationName === undefined && isQueryProtocol(request, body)) return refuseQueryProtocol(response, requestId, body);
    if (request.method !== "POST" || operationName === undefined) {
      throw new SqsError("InvalidAction", "Expected POST / with X-Amz-Target: AmazonSQS.<Operation> (AWS JSON 1.0 protocol).");
    }
    const operation = operationNamed(operationName);
    let input: Input;
    try {
      input = body === "" ? {} : (JSON.parse(body) as Input);
    } catch {
      throw new SqsError("SerializationException", "The request body is not valid JSON.");
    }
    if (input === null || typeof input !== "object" || Array.isArray(input)) {
      throw new SqsError("SerializationException", "The request body must be a JSON object.");
    }
    const output = await runCommitted(operation, input, { store, endpoint, signal: aborted.signal });
    // Once closing, answers end their keep-alive connection so server.close() can finish.
    send(response, 200, requestId, output, store.isClosed ? { connection: "close" } : {});
  } catch (error) {
    const sqsError = error instanceof SqsError ? error : new SqsError("InternalFailure", String(error), { status: 500 });
    send(response, sqsError.status, requestId, { __type: `com.amazonaws.sqs#${sqsError.code}`, message: sqsError.message }, {
      "x-amzn-query-error": `${sqsError.queryCode};${sqsError.status < 500 ? "Sender" : "Receiver"}`,
    });
  }
}

function operationNamed(name: string): Operation {
  const operation = Object.hasOwn(operations, name) ? operations[name] : undefined;
  if (operation === undefined) throw new SqsError("InvalidAction", `The action ${name} is not valid for this endpoint.`);
  return operation;
}

/**
 * Runs an operation, then writes the store's changes: nothing is answered before its changes are
 * on disk, failed requests included (a batch may have changed some entries); a failed write
 * answers 500 instead.
 */
async function runCommitted(operation: Operation, input: Input, context: OperationContext): Promise<unknown> {
  try {
    return await operation(input, context);
  } finally {
    await context.store.commit();
  }
}

/** The older query protocol (form-encoded `Action=…`), which e.g. AWS CLI 2.9 still speaks. */
function isQueryProtocol(request: IncomingMessage, body: string): boolean {
  const type = request.headers["content-type"] ?? "";
  return type.includes("x-www-form-urlencoded") || /(^|&)Action=/.test(body) || /[?&]Action=/.test(request.url ?? "");
}

/** Answers a query-protocol request in its own XML error shape, so the client prints why it cannot work. */
function refuseQueryProtocol(response: ServerResponse, requestId: string, body: string): void {
  const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body)?.[1] ?? "request";
  const message = `This SQS emulator speaks the AWS JSON protocol only; this client sent ${action} in the older query protocol. Use AWS CLI v2.15+ / v1.32+ (or azuchi-ops: npm run ops -- --help).`;
  const text = `<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>${message}</Message><Detail/></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  response.writeHead(400, { "content-type": "text/xml", "content-length": Buffer.byteLength(text), "x-amzn-requestid": requestId });
  response.end(text);
}

function send(response: ServerResponse, status: number, requestId: string, body: unknown, headers: Record<string, string>): void {
  if (response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/x-amz-json-1.0",
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": requestId,
    ...headers,
  });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
