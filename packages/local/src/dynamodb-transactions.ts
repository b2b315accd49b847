/**
 * TransactWriteItems and TransactGetItems in front of dynalite, which has neither. A thin
 * front on dynalite's own HTTP server: every request passes through it; plain requests go on
 * to dynalite as they came, transactions are carried out here with dynalite's own single-item
 * operations, under a lock that no other request passes while a transaction applies. Those
 * operations are handed to dynalite's request handler in this thread, as requests that never
 * touch a socket: an SDK request over loopback per action cost about a millisecond of CPU, and a
 * plain turn's four transactions make about ten.
 *
 * What DynamoDB documents, and this front does:
 * - All or nothing: each action is applied in order as its own conditional write (so its
 *   condition is checked by dynalite against the item as it is); if any fails, every action
 *   applied is undone, item by item, to what it was, before anyone else may read or write.
 * - Isolation: the transaction holds the lock exclusively, so no other request (read or
 *   write, transactional or not) runs while it applies: nobody sees half of one, and of two
 *   concurrent transactions on the same item the second sees the first's result (its
 *   condition then fails: exactly one wins). DynamoDB would answer the loser with a
 *   TransactionConflict or a ConditionalCheckFailed reason; here it is always the latter.
 * - TransactionCanceledException with one CancellationReasons entry per action, in order
 *   (`None`, `ConditionalCheckFailed` with `Item` when the action asked for
 *   `ReturnValuesOnConditionCheckFailure: ALL_OLD`, `ValidationError`).
 * - ValidationException for an empty list or over 100 actions, an action that is not exactly
 *   one of ConditionCheck/Put/Delete/Update, and two actions on one item.
 * - ClientRequestToken: the same token and request within 10 minutes answers as the first
 *   (and writes nothing); the same token with another request is IdempotentParameterMismatch.
 *
 * Not done (kept in the docs' list of dynalite's gaps): the 4 MB request limit, capacity
 * (ConsumedCapacity, ItemCollectionMetrics are not returned), TransactionInProgress.
 */
import { createHash, randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import * as z from "zod";

type Item = Record<string, AttributeValue>;

const MAX_ACTIONS = 100;
const TOKEN_TTL_MS = 10 * 60_000;

const Expressions = {
  ConditionExpression: z.string().optional(),
  ExpressionAttributeNames: z.record(z.string(), z.string()).optional(),
  ExpressionAttributeValues: z.record(z.string(), z.unknown()).optional(),
  ReturnValuesOnConditionCheckFailure: z.enum(["ALL_OLD", "NONE"]).optional(),
};
const Keyed = { TableName: z.string().min(1), Key: z.record(z.string(), z.unknown()) };
const Action = z.object({
  ConditionCheck: z.object({ ...Keyed, ...Expressions, ConditionExpression: z.string().min(1) }).optional(),
  Put: z.object({ TableName: z.string().min(1), Item: z.record(z.string(), z.unknown()), ...Expressions }).optional(),
  Delete: z.object({ ...Keyed, ...Expressions }).optional(),
  Update: z.object({ ...Keyed, UpdateExpression: z.string().min(1), ...Expressions }).optional(),
});
type Action = z.infer<typeof Action>;
const TransactWriteInput = z.object({
  TransactItems: z.array(Action),
  ClientRequestToken: z.string().min(1).max(36).optional(),
  ReturnConsumedCapacity: z.string().optional(),
  ReturnItemCollectionMetrics: z.string().optional(),
});
const TransactGetInput = z.object({
  TransactItems: z.array(z.object({ Get: z.object({ ...Keyed, ProjectionExpression: z.string().optional(), ExpressionAttributeNames: z.record(z.string(), z.string()).optional() }) })),
  ReturnConsumedCapacity: z.string().optional(),
});

class FrontError extends Error {
  readonly type: string;
  readonly status: number;
  readonly extra: Record<string, unknown>;
  constructor(type: string, message: string, status = 400, extra: Record<string, unknown> = {}) {
    super(message);
    this.type = type;
    this.status = status;
    this.extra = extra;
  }
}
const validation = (message: string) => new FrontError("com.amazon.coral.validate#ValidationException", message);

/**
 * A lock with shared holders (plain requests) and exclusive ones (transactions), granted in
 * arrival order: a transaction waits for the requests before it to finish, and the ones
 * after it wait for the transaction.
 */
class Gate {
  private shared = 0;
  private exclusive = false;
  private readonly queue: { exclusive: boolean; grant: () => void }[] = [];

  acquire(exclusive: boolean): Promise<() => void> {
    return new Promise((resolve) => {
      this.queue.push({ exclusive, grant: () => resolve(this.releaser(exclusive)) });
      this.pump();
    });
  }

  private releaser(exclusive: boolean): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (exclusive) this.exclusive = false;
      else this.shared--;
      this.pump();
    };
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.exclusive) {
      const next = this.queue[0]!;
      if (next.exclusive && this.shared > 0) return;
      this.queue.shift();
      if (next.exclusive) this.exclusive = true;
      else this.shared++;
      next.grant();
    }
  }
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** An error dynalite answered with: `name` is its `__type` without the namespace (ConditionalCheckFailedException, …). */
class DynaliteError extends Error {}

/** One of dynalite's operations, its input and output in the wire's JSON (AttributeValue maps, binaries base64). */
type Dynalite = (operation: string, input: object) => Promise<{ Attributes?: Item; Item?: Item; [name: string]: unknown }>;

/**
 * dynalite's request handler called in this thread with a request and a response that stand in
 * for a socket's: the body handed over at once, the answer taken from end(). Its authorization
 * check only reads the header's form, which is written out here; nothing is signed.
 */
function inProcess(handler: Listener): Dynalite {
  return (operation, input) =>
    new Promise((resolve, reject) => {
      const req = Object.assign(new EventEmitter(), {
        method: "POST",
        url: "/",
        headers: {
          "content-type": "application/x-amz-json-1.0",
          "x-amz-target": `DynamoDB_20120810.${operation}`,
          "x-amz-date": "20260101T000000Z",
          authorization: "AWS4-HMAC-SHA256 Credential=front/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        },
      });
      let statusCode = 200;
      const res = {
        contentType: "",
        set statusCode(code: number) {
          statusCode = code;
        },
        get statusCode() {
          return statusCode;
        },
        setHeader: () => undefined,
        end: (body?: string | Buffer) => {
          let answer: Record<string, unknown>;
          try {
            answer = body === undefined || body.length === 0 ? {} : (JSON.parse(body.toString()) as Record<string, unknown>);
          } catch (error) {
            return reject(error instanceof Error ? error : new Error(String(error)));
          }
          if (statusCode === 200) return resolve(answer);
          const type = String(answer.__type ?? `HTTP ${statusCode}`);
          reject(Object.assign(new DynaliteError(String(answer.message ?? answer.Message ?? type)), { name: type.slice(type.indexOf("#") + 1) }));
        },
      };
      handler(req as unknown as IncomingMessage, res as unknown as ServerResponse);
      req.emit("data", Buffer.from(JSON.stringify(input)));
      req.emit("end");
    });
}

/**
 * Puts the transaction front on a dynalite server (before it listens). `onRequest` sees each
 * request a client sends (a transaction once), not the front's own requests to dynalite.
 */
export function addTransactionFront(server: Server, onRequest?: (req: IncomingMessage) => void): void {
  const inner = server.listeners("request") as Listener[];
  server.removeAllListeners("request");
  const gate = new Gate();
  const pass = (req: IncomingMessage, res: ServerResponse) => {
    for (const listener of inner) listener.call(server, req, res);
  };
  const transactions = new Transactions(inProcess(pass));

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    onRequest?.(req);
    const target = String(req.headers["x-amz-target"] ?? "");
    const operation = target.slice(target.indexOf(".") + 1);
    if (operation === "TransactWriteItems" || operation === "TransactGetItems") {
      void readBody(req).then(async (body) => {
        const release = await gate.acquire(true);
        try {
          const result = operation === "TransactWriteItems" ? await transactions.write(body) : await transactions.get(body);
          send(res, 200, result);
        } catch (error) {
          if (error instanceof FrontError) send(res, error.status, { __type: error.type, message: error.message, ...error.extra });
          else send(res, 500, { __type: "com.amazonaws.dynamodb.v20120810#InternalServerError", message: String(error) });
        } finally {
          release();
        }
      }, () => res.destroy());
      return;
    }
    // Paused until granted: its body waits in the socket's buffer. Released when its response
    // is done, or at once if the client went away while it waited.
    let release: (() => void) | undefined;
    let closed = false;
    res.once("close", () => {
      closed = true;
      release?.();
    });
    void gate.acquire(false).then((granted) => {
      if (closed) return granted();
      release = granted;
      pass(req, res);
    });
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.once("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/x-amz-json-1.0", "content-length": Buffer.byteLength(json), "x-amzn-requestid": randomUUID() });
  res.end(json);
}

function parse<T>(schema: z.ZodType<T>, body: string): T {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new FrontError("com.amazon.coral.service#SerializationException", "Start of structure or map found where not expected");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw validation(`1 validation error detected: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

function checkCount(count: number): void {
  if (count < 1) throw validation("1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1");
  if (count > MAX_ACTIONS) throw validation(`1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ACTIONS}`);
}

interface Planned {
  kind: "ConditionCheck" | "Put" | "Delete" | "Update";
  table: string;
  key: Item;
  returnOld: boolean;
  action: NonNullable<Action[keyof Action]>;
}

/** What an applied action changed: the item as it was (undefined: there was none). */
interface Applied {
  table: string;
  key: Item;
  old: Item | undefined;
  /** A condition check on an item that exists wrote it back as it was: nothing to undo. */
  unchanged: boolean;
}

class Transactions {
  private readonly dynalite: Dynalite;
  private readonly keySchemas = new Map<string, string[]>();
  private readonly tokens = new Map<string, { hash: string; at: number }>();

  constructor(dynalite: Dynalite) {
    this.dynalite = dynalite;
  }

  async write(body: string): Promise<Record<string, unknown>> {
    const input = parse(TransactWriteInput, body);
    checkCount(input.TransactItems.length);
    // The SDK gives every TransactWriteItems a token: the request's hash is taken once, here.
    let hash: string | undefined;
    if (input.ClientRequestToken) {
      const now = Date.now();
      // Kept in the order they were written, so the expired ones are the first.
      for (const [token, seen] of this.tokens) {
        if (now - seen.at <= TOKEN_TTL_MS) break;
        this.tokens.delete(token);
      }
      hash = createHash("sha256").update(JSON.stringify(input.TransactItems)).digest("hex");
      const seen = this.tokens.get(input.ClientRequestToken);
      if (seen && seen.hash !== hash) throw new FrontError("com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException", "Request parameters do not match the parameters of an earlier request with the same client token");
      // The first request with this token succeeded: a retry of it writes nothing again.
      if (seen) return {};
    }
    const planned: Planned[] = [];
    const seenItems = new Set<string>();
    for (const action of input.TransactItems) {
      const kinds = (["ConditionCheck", "Put", "Delete", "Update"] as const).filter((kind) => action[kind] !== undefined);
      if (kinds.length !== 1) throw validation("TransactItems can only contain one of Check, Put, Update or Delete");
      const kind = kinds[0]!;
      const one = action[kind]!;
      const table = one.TableName;
      const key = await this.keyOf(table, "Item" in one ? (one.Item as Item) : ((one as { Key: Item }).Key), kind === "Put");
      const identity = `${table}\u0000${JSON.stringify(key)}`;
      if (seenItems.has(identity)) throw validation("Transaction request cannot include multiple operations on one item");
      seenItems.add(identity);
      planned.push({ kind, table, key, returnOld: one.ReturnValuesOnConditionCheckFailure === "ALL_OLD", action: one });
    }

    const applied: Applied[] = [];
    const reasons: Record<string, unknown>[] = [];
    let cancelled = false;
    try {
      for (const step of planned) {
        try {
          const old = await this.apply(step);
          applied.push({ table: step.table, key: step.key, old, unchanged: step.kind === "ConditionCheck" && old !== undefined });
          reasons.push({ Code: "None" });
        } catch (error) {
          cancelled = true;
          if (error instanceof DynaliteError && error.name === "ConditionalCheckFailedException") {
            // Nothing was written; the item is as it was (no one else writes meanwhile).
            const item = step.returnOld ? await this.read(step.table, step.key) : undefined;
            reasons.push({ Code: "ConditionalCheckFailed", Message: "The conditional request failed", ...(item && { Item: item }) });
          } else if (error instanceof DynaliteError && error.name === "ValidationException") {
            reasons.push({ Code: "ValidationError", Message: error.message });
          } else {
            throw error;
          }
        }
      }
    } catch (error) {
      await this.undo(applied);
      if (error instanceof DynaliteError && error.name === "ResourceNotFoundException") {
        throw new FrontError("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "Requested resource not found");
      }
      throw error;
    }
    if (cancelled) {
      await this.undo(applied);
      const codes = reasons.map((reason) => reason.Code).join(", ");
      throw new FrontError("com.amazonaws.dynamodb.v20120810#TransactionCanceledException", `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes}]`, 400, {
        CancellationReasons: reasons,
      });
    }
    // A condition check that passed on no item made one of its key alone (apply): removed, a check writes nothing.
    await this.undo(applied.filter((_, i) => planned[i]!.kind === "ConditionCheck"));
    if (input.ClientRequestToken && hash) this.tokens.set(input.ClientRequestToken, { hash, at: Date.now() });
    return {};
  }

  async get(body: string): Promise<Record<string, unknown>> {
    const input = parse(TransactGetInput, body);
    checkCount(input.TransactItems.length);
    const seenItems = new Set<string>();
    for (const { Get } of input.TransactItems) {
      const identity = `${Get.TableName}\u0000${JSON.stringify(await this.keyOf(Get.TableName, Get.Key as Item, false))}`;
      if (seenItems.has(identity)) throw validation("Transaction request cannot include multiple operations on one item");
      seenItems.add(identity);
    }
    const responses = [];
    for (const { Get } of input.TransactItems) {
      const { Item } = await this.dynalite("GetItem", { TableName: Get.TableName, Key: Get.Key, ConsistentRead: true, ProjectionExpression: Get.ProjectionExpression, ExpressionAttributeNames: Get.ExpressionAttributeNames });
      responses.push(Item ? { Item } : {});
    }
    return { Responses: responses };
  }

  /**
   * Applies one action as dynalite's own conditional write and returns the item as it was.
   * A condition check is a conditional update that updates nothing, one pass: an item that
   * exists is written back as it was; where there was none it leaves one of the key alone,
   * removed after (or undone with the rest).
   */
  private async apply(step: Planned): Promise<Item | undefined> {
    const { ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues } = step.action as { ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Item };
    const expressions = { ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues };
    switch (step.kind) {
      case "Put":
        return (await this.dynalite("PutItem", { TableName: step.table, Item: (step.action as { Item: Item }).Item, ...expressions, ReturnValues: "ALL_OLD" })).Attributes;
      case "Update":
        return (await this.dynalite("UpdateItem", { TableName: step.table, Key: step.key, UpdateExpression: (step.action as { UpdateExpression: string }).UpdateExpression, ...expressions, ReturnValues: "ALL_OLD" })).Attributes;
      case "Delete":
        return (await this.dynalite("DeleteItem", { TableName: step.table, Key: step.key, ...expressions, ReturnValues: "ALL_OLD" })).Attributes;
      case "ConditionCheck":
        return (await this.dynalite("UpdateItem", { TableName: step.table, Key: step.key, ...expressions, ReturnValues: "ALL_OLD" })).Attributes;
    }
  }

  /** Puts every item back as it was, the last applied first. */
  private async undo(applied: Applied[]): Promise<void> {
    // Nothing else writes while the lock is held, and no socket lies between: these cannot clash.
    for (const { table, key, old, unchanged } of applied.toReversed()) {
      if (unchanged) continue;
      if (old) await this.dynalite("PutItem", { TableName: table, Item: old });
      else await this.dynalite("DeleteItem", { TableName: table, Key: key });
    }
  }

  private async read(table: string, key: Item): Promise<Item | undefined> {
    return (await this.dynalite("GetItem", { TableName: table, Key: key, ConsistentRead: true })).Item;
  }

  /** The item's key attributes, in the table's key order; `fromItem` for a Put's whole item. */
  private async keyOf(table: string, source: Item, fromItem: boolean): Promise<Item> {
    let names = this.keySchemas.get(table);
    if (!names) {
      try {
        const { Table } = (await this.dynalite("DescribeTable", { TableName: table })) as { Table?: { KeySchema?: { AttributeName: string }[] } };
        names = (Table?.KeySchema ?? []).map((element) => element.AttributeName);
      } catch (error) {
        if (error instanceof DynaliteError && error.name === "ResourceNotFoundException") {
          throw new FrontError("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "Requested resource not found");
        }
        throw error;
      }
      this.keySchemas.set(table, names);
    }
    const key: Item = {};
    for (const name of names) {
      const value = source[name];
      if (!value) throw validation(fromItem ? `One or more parameter values were invalid: Missing the key ${name} in the item` : "The provided key element does not match the schema");
      key[name] = value;
    }
    if (!fromItem && Object.keys(source).length !== names.length) throw validation("The provided key element does not match the schema");
    return key;
  }
}
