import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { EventBridgeEvent } from "aws-lambda";
import { Deliveries, type EventTarget } from "./delivery.ts";
import { matchesEventPattern, validateEventPattern, type EventPattern } from "./event-pattern.ts";
import { putEvents, ValidationException } from "./put-events.ts";

export interface EventBridgeRule {
  name: string;
  eventBusName: string;
  pattern: EventPattern;
  target: EventTarget;
}

export interface EventBridgeOptions {
  /** Sees every request as it arrives (the local stack counts AWS calls with it). */
  onRequest?: (req: IncomingMessage) => void;
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default us-east-1. */
  region?: string;
  /** Default 000000000000. */
  accountId?: string;
  /** Custom buses; "default" always exists. */
  buses?: string[];
  rules?: EventBridgeRule[];
  /** Attempts per target before giving up; default 3. */
  maxAttempts?: number;
  /** The first retry's delay, doubled for each later one; default 100 ms. */
  retryBaseDelayMs?: number;
  /** A delivery that failed for good, or an event sent to a bus that does not exist; default: logged to stderr. */
  onError?: (error: unknown, event: EventBridgeEvent<string, unknown>) => void;
}

/**
 * A fault for drills and tests, on the next `requests` PutEvents calls with an entry of this
 * source and detail type (either may be left out); calls that do not match pass as usual.
 * - `hold`: the call is held, never answered nor applied, as if its caller died before the
 *   request reached EventBridge; it is dropped when its connection closes.
 * - `fail`: the call is answered 500 InternalException and not applied (the SDK retries it:
 *   each attempt is a request).
 */
export interface PutEventsFault {
  mode: "hold" | "fail";
  source?: string;
  detailType?: string;
  requests: number;
}

export interface PutEventsFaults {
  /** The fault in force (its `requests` are those still to fault), or null. */
  fault: PutEventsFault | null;
  /** Calls held, and calls failed, since the fault was set. */
  held: number;
  failed: number;
  /** Of the held calls, those whose connection is still open. */
  open: number;
}

export interface EventBridgeEmulator {
  /** For `new EventBridgeClient({ endpoint })` or AWS_ENDPOINT_URL_EVENTBRIDGE. */
  endpoint: string;
  addRule(rule: EventBridgeRule): void;
  /** Sets (or, with null, lifts) the PutEvents fault; answers its state. */
  fault(fault: PutEventsFault | null): PutEventsFaults;
  faults(): PutEventsFaults;
  /** Resolves when every delivery so far (retries included) has finished. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** PutEvents sent to a bus that does not exist: EventBridge accepts the entry and delivers it nowhere. */
export class UnknownEventBusError extends Error {
  constructor(busName: string) {
    super(`event bus ${busName} does not exist: the event was accepted and dropped, as EventBridge does`);
    this.name = "UnknownEventBusError";
  }
}

/** Beyond this a body cannot be a valid PutEvents call: entries are capped at 256 KB (JSON escaping may double that). */
const MAX_BODY_BYTES = 2 * 1024 * 1024;
const JSON_11 = "application/x-amz-json-1.1";

/**
 * A local EventBridge speaking AWS JSON 1.1 (`X-Amz-Target: AWSEvents.PutEvents`),
 * with buses, rules matched by event pattern, and asynchronous at-least-once
 * delivery to in-process targets.
 */
export async function startEventBridge(options: EventBridgeOptions = {}): Promise<EventBridgeEmulator> {
  const where = { region: options.region ?? "us-east-1", accountId: options.accountId ?? "000000000000" };
  const onError = options.onError ?? ((error: unknown) => console.error("[eventbridge]", error));
  const rulesByBus = new Map<string, EventBridgeRule[]>([["default", []]]);
  for (const bus of options.buses ?? []) if (!rulesByBus.has(bus)) rulesByBus.set(bus, []);
  const deliveries = new Deliveries({ maxAttempts: options.maxAttempts ?? 3, retryBaseDelayMs: options.retryBaseDelayMs ?? 100, onError });

  function addRule(rule: EventBridgeRule): void {
    const rules = rulesByBus.get(rule.eventBusName);
    if (rules === undefined) throw new Error(`Event bus ${rule.eventBusName} does not exist.`);
    if (rules.some((existing) => existing.name === rule.name)) throw new Error(`Rule ${rule.name} already exists on event bus ${rule.eventBusName}.`);
    validateEventPattern(rule.pattern);
    rules.push(rule);
  }
  for (const rule of options.rules ?? []) addRule(rule);

  let fault: PutEventsFault | null = null;
  let held = 0;
  let failed = 0;
  const heldOpen = new Set<ServerResponse>();
  const faults = (): PutEventsFaults => ({ fault: fault && { ...fault }, held, failed, open: heldOpen.size });
  const faulted = (body: unknown): boolean => {
    const entries = (body as { Entries?: unknown } | null)?.Entries;
    if (!fault || fault.requests <= 0 || !Array.isArray(entries)) return false;
    const { source, detailType } = fault;
    return entries.some((entry: { Source?: unknown; DetailType?: unknown } | null) => (source === undefined || entry?.Source === source) && (detailType === undefined || entry?.DetailType === detailType));
  };

  function handlePutEvents(body: unknown, res: ServerResponse): void {
    if (faulted(body)) {
      fault!.requests--;
      if (fault!.mode === "fail") {
        failed++;
        return sendError(res, 500, "InternalException", "fault injected: PutEvents failed (POST /dev/bus)");
      }
      held++;
      heldOpen.add(res);
      res.once("close", () => heldOpen.delete(res));
      return;
    }
    const { output, accepted } = putEvents(body, where);
    sendJson(res, 200, output);
    for (const { busName, event } of accepted) {
      const rules = rulesByBus.get(busName);
      if (rules === undefined) {
        onError(new UnknownEventBusError(busName), event);
        continue;
      }
      for (const rule of rules) if (matchesEventPattern(rule.pattern, event)) deliveries.deliver(rule.name, rule.target, event);
    }
  }

  const server = createServer((req, res) => {
    options.onRequest?.(req);
    readBody(req)
      .then((text) => {
        const target = req.headers["x-amz-target"];
        if (req.method !== "POST" || !String(req.headers["content-type"] ?? "").startsWith(JSON_11)) {
          return sendError(res, 400, "SerializationException", `expected a POST with Content-Type ${JSON_11}`);
        }
        if (target !== "AWSEvents.PutEvents") return sendError(res, 400, "UnknownOperationException", `operation ${String(target)} is not emulated`);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return sendError(res, 400, "SerializationException", "the request body is not JSON");
        }
        handlePutEvents(body, res);
      })
      .catch((error: unknown) => {
        if (error instanceof ValidationException) return sendError(res, 400, "ValidationException", error.message);
        if (error instanceof BodyTooLargeError) return sendError(res, 413, "ValidationException", error.message);
        console.error("[eventbridge]", error);
        sendError(res, 500, "InternalException", "internal error");
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;

  return {
    endpoint: `http://${host}:${port}`,
    addRule,
    fault(next) {
      if (next !== null && !(Number.isInteger(next.requests) && next.requests >= 0)) throw new RangeError("fault.requests must be a whole number, 0 or more");
      fault = next && { ...next };
      held = 0;
      failed = 0;
      return faults();
    },
    faults,
    idle: () => deliveries.idle(),
    async close() {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // The SDK keeps connections alive; without this, close() waits for them to time out.
      server.closeAllConnections();
      await stopped;
      await deliveries.close();
    },
  };
}

class BodyTooLargeError extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => (size > MAX_BODY_BYTES ? reject(new BodyTooLargeError("Request body is too large.")) : resolve(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}

/** AWS JSON 1.1 errors: the SDK reads the error's name from `__type`. */
function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { __type: type, message });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": JSON_11, "Content-Length": Buffer.byteLength(text), "x-amzn-RequestId": randomUUID() }).end(text);
}
