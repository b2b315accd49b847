import { mkdirSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Worker } from "node:worker_threads";
import type { DynamoDBClient} from "@aws-sdk/client-dynamodb";
import { CreateTableCommand, ResourceInUseException, type CreateTableCommandInput } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import type { CallCounter } from "./call-counter.ts";
import { keepDynaliteParses } from "./dynalite-expressions.ts";
import { addTransactionFront } from "./dynamodb-transactions.ts";

export interface LocalDynamo {
  endpoint: string;
  close(): Promise<void>;
}

/** What a request counter needs of a request: its headers (X-Amz-Target, the signer's access key). */
export type RequestHeaders = Pick<IncomingMessage, "headers">;

export interface StartDynamoOptions {
  /** Where the tables are kept; in memory without it. */
  dir?: string;
  /** Run dynalite on a worker thread instead of this thread's event loop. */
  thread?: boolean;
  /** Counts the handlers' requests (GET /dev/calls) as they arrive, on whichever thread runs dynalite. */
  calls?: CallCounter;
  /** Called as each request arrives; dynalite on this thread only. */
  onRequest?: (request: RequestHeaders) => void;
}

/** The stack's thread asking dynalite's for its counts (dynamodb-thread.ts). */
export interface CountRead {
  readCalls: number;
  reset: boolean;
}

/** dynalite: a real DynamoDB API on loopback, kept in `dir` or in memory, with TransactWriteItems and TransactGetItems added (dynamodb-transactions.ts). */
export async function startDynamo(options: StartDynamoOptions = {}): Promise<LocalDynamo> {
  if (options.thread) {
    if (options.onRequest) throw new Error("startDynamo: onRequest needs dynalite on this thread (count with calls)");
    return startDynamoThread(options.dir, options.calls);
  }
  if (options.dir) mkdirSync(options.dir, { recursive: true });
  keepDynaliteParses();
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, path: options.dir });
  // dynalite has no transactions: the front carries them out (and sees each request as it arrives, to count it).
  const { calls, onRequest } = options;
  addTransactionFront(server, calls || onRequest ? (req) => (calls?.countAwsRequest("dynamodb", req), onRequest?.(req)) : undefined);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function startDynamoThread(dir: string | undefined, calls: CallCounter | undefined): Promise<LocalDynamo> {
  const worker = new Worker(new URL("./dynamodb-thread.ts", import.meta.url), { workerData: { dir, countRequests: Boolean(calls) } });
  if (calls) calls.keptElsewhere(countsOnThread(worker));
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  const endpoint = await new Promise<string>((resolve, reject) => {
    worker.on("message", (message: { endpoint?: string }) => message.endpoint && resolve(message.endpoint));
    worker.once("error", reject);
    void exited.then(() => reject(new Error("dynalite's thread exited before it listened")));
  });
  return {
    endpoint,
    async close() {
      worker.postMessage("close");
      // dynalite's store closes with its server; a thread that hangs is ended all the same.
      const timer = setTimeout(() => void worker.terminate(), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The counts dynalite's thread keeps, read by message; a thread gone has none to add. */
function countsOnThread(worker: Worker) {
  let nextRead = 0;
  const reads = new Map<number, (counts: Record<string, number>) => void>();
  worker.on("message", (message: { counted?: number; counts?: Record<string, number> }) => {
    if (message.counted === undefined) return;
    reads.get(message.counted)?.(message.counts ?? {});
    reads.delete(message.counted);
  });
  let exited = false;
  worker.once("exit", () => {
    exited = true;
    for (const answer of reads.values()) answer({});
    reads.clear();
  });
  return {
    read({ reset = false } = {}): Promise<Record<string, number>> {
      if (exited) return Promise.resolve({});
      const id = nextRead++;
      return new Promise((resolve) => {
        reads.set(id, resolve);
        worker.postMessage({ readCalls: id, reset } satisfies CountRead);
      });
    },
  };
}

export interface TableNames {
  sessions: string;
  connections: string;
  messages: string;
  messageIds: string;
}

/** The tables of docs/architecture.md §2, as stacks/storage.ts declares them. Existing tables are kept. */
export function tableDefinitions(names: TableNames): CreateTableCommandInput[] {
  const all = { Projection: { ProjectionType: "ALL" as const } };
  return [
    {
      TableName: names.sessions,
      AttributeDefinitions: [
        { AttributeName: "sessionId", AttributeType: "S" },
        { AttributeName: "userId", AttributeType: "S" },
        { AttributeName: "updatedAt", AttributeType: "N" },
      ],
      KeySchema: [{ AttributeName: "sessionId", KeyType: "HASH" }],
      GlobalSecondaryIndexes: [
        { IndexName: "byUser", KeySchema: [{ AttributeName: "userId", KeyType: "HASH" }, { AttributeName: "updatedAt", KeyType: "RANGE" }], ...all },
      ],
      BillingMode: "PAY_PER_REQUEST",
    },
    {
      TableName: names.connections,
      AttributeDefinitions: [
        { AttributeName: "connectionId", AttributeType: "S" },
        { AttributeName: "userId", AttributeType: "S" },
        { AttributeName: "sessionId", AttributeType: "S" },
      ],
      KeySchema: [{ AttributeName: "connectionId", KeyType: "HASH" }],
      GlobalSecondaryIndexes: [
        { IndexName: "byUser", KeySchema: [{ AttributeName: "userId", KeyType: "HASH" }], ...all },
        { IndexName: "bySession", KeySchema: [{ AttributeName: "sessionId", KeyType: "HASH" }], ...all },
      ],
      BillingMode: "PAY_PER_REQUEST",
    },
    {
      TableName: names.messages,
      AttributeDefinitions: [
        { AttributeName: "sessionId", AttributeType: "S" },
        { AttributeName: "createdAt", AttributeType: "N" },
      ],
      KeySchema: [
        { AttributeName: "sessionId", KeyType: "HASH" },
        { AttributeName: "createdAt", KeyType: "RANGE" },
      ],
      BillingMode: "PAY_PER_REQUEST",
    },
    {
      TableName: names.messageIds,
      AttributeDefinitions: [{ AttributeName: "messageId", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "messageId", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
    },
  ];
}

export async function createTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  for (const definition of tableDefinitions(names)) {
    try {
      await client.send(new CreateTableCommand(definition));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }
}
