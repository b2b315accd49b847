/**
 * The offline model's HTTP server: the few Responses API routes the agent uses, with
 * OpenAI's error shape for everything else, so the real `openai` client can talk to it.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { ApiError, bodyTooLarge, failMode, invalidRequest, modelNotFound, rateLimited, responseNotFound, unknownRoute } from "./errors.ts";
import { generateResponse, generationMs, type Generation } from "./generate.ts";
import { applySettingsPatch, defaultSettings, knowsModel, takeRequest, type OfflineModelSettings } from "./settings.ts";
import { ResponseStore } from "./store.ts";
import { streamGeneration } from "./stream.ts";
import { parseCreateResponseBody } from "./wire.ts";
import { RateWindow } from "./rate-headers.ts";

export interface OfflineModel {
  /** What `new OpenAI({ baseURL })` or OPENAI_BASE_URL takes, e.g. "http://127.0.0.1:PORT/v1". */
  baseURL: string;
  settings(): OfflineModelSettings;
  /** Changes only the fields given; throws InvalidOfflineModelSettingsError on a bad value. */
  configure(patch: Partial<OfflineModelSettings>): OfflineModelSettings;
  close(): Promise<void>;
}

export interface OfflineModelOptions extends Partial<OfflineModelSettings> {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function startOfflineModel(options: OfflineModelOptions = {}): Promise<OfflineModel> {
  const { port = 0, host = "127.0.0.1", ...initial } = options;
  let settings = applySettingsPatch(defaultSettings, initial);
  const store = new ResponseStore();
  const rateWindow = new RateWindow();

  const server = createServer((req, res) => {
    const requestId = `req_${randomBytes(16).toString("hex")}`;
    handle(req, res, requestId).catch((error: unknown) => {
      const apiError =
        error instanceof ApiError ? error : new ApiError(500, `The offline model failed: ${String(error)}`, { type: "server_error", code: "server_error" });
      if (!(error instanceof ApiError)) console.error(JSON.stringify({ level: "ERROR", message: "offline model request failed", requestId, error: String(error) }));
      if (res.headersSent) res.destroy();
      else sendJson(res, apiError.status, apiError.body(), requestId, apiError.headers);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const path = new URL(req.url ?? "/", "http://offline-model").pathname.replace(/\/+$/, "");
    const method = req.method ?? "GET";
    if (method === "POST" && path === "/v1/responses") return createResponse(req, res, requestId);
    const retrieve = /^\/v1\/responses\/([^/]+)$/.exec(path);
    if (method === "GET" && retrieve?.[1] !== undefined) {
      const id = decodeURIComponent(retrieve[1]);
      const response = store.get(id);
      if (response === undefined) throw responseNotFound(id);
      return sendJson(res, 200, response, requestId);
    }
    throw unknownRoute(method, path === "" ? "/" : path);
  }

  async function createResponse(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const raw = await readBody(req, MAX_BODY_BYTES);
    // A snapshot: changing the settings mid-request shapes the next request, not this one.
    const timing = { ...settings };
    const taken = takeRequest(settings);
    settings = taken.next;
    if (taken.mode === "fail") throw failMode();
    if (taken.mode === "rate-limit") throw rateLimited(timing.retryAfterSeconds);
    if (taken.mode === "hang") return hang(res);
    const body = parseCreateResponseBody(parseJson(raw));
    if (!knowsModel(timing.models, body.model)) throw modelNotFound(body.model);
    const generation = generateResponse(body, store, { scenario: taken.scenario, contextTokens: timing.contextTokens, retryAfterSeconds: timing.retryAfterSeconds });
    // OpenAI's x-ratelimit-* headers, on every answer as OpenAI sends them.
    for (const [name, value] of Object.entries(rateWindow.charge(generation.response.usage?.total_tokens ?? 0))) res.setHeader(name, value);

    const disconnected = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) disconnected.abort();
    });
    let finished = false;
    // The model "keeps generating" when the client leaves, so the response is stored anyway;
    // one that failed mid-stream is not, so nothing can chain on it.
    const finish = (): void => {
      if (finished || generation.failure !== undefined) return;
      finished = true;
      generation.response.completed_at = Math.floor(Date.now() / 1000);
      if (generation.response.store) store.save(generation.response, generation.input);
    };
    try {
      if (body.stream === true) {
        await streamGeneration(res, generation, timing, disconnected.signal, requestId, finish);
        return;
      }
      await sleep(generationMs(tokenCount(generation), timing), undefined, { signal: disconnected.signal }).catch(() => undefined);
      finish();
      if (!disconnected.signal.aborted) sendJson(res, 200, generation.response, requestId);
    } finally {
      finish();
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });

  return {
    baseURL: `http://${urlHost(host)}:${listeningPort(server)}/v1`,
    settings: () => ({ ...settings, models: [...settings.models] }),
    configure(patch) {
      settings = applySettingsPatch(settings, patch);
      return { ...settings, models: [...settings.models] };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Open streams and idle keep-alive sockets would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

/** Holds the request open without a byte until the client goes away (its timeout or abort). */
function hang(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    res.once("close", () => resolve());
  });
}

function tokenCount(generation: Generation): number {
  return generation.tokens.reduce((sum, tokens) => sum + tokens.length, 0);
}

function sendJson(res: ServerResponse, status: number, body: unknown, requestId: string, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "x-request-id": requestId,
  });
  res.end(text);
}

/** The body as text; past `limit` bytes it is read to its end and discarded, then refused. */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw bodyTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  if (size > limit) throw bodyTooLarge(limit);
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw invalidRequest(
      "We could not parse the JSON body of your request. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.",
    );
  }
}

function listeningPort(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the offline model is not listening on a TCP port");
  return address.port;
}

/** A host to put in a URL: a wildcard address is reached through loopback, IPv6 in brackets. */
function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}
