import type { IncomingMessage, ServerResponse } from "node:http";
import { SignJWT } from "jose";
import * as z from "zod";
import { CallCounts } from "@azuchi/core";
import type { CallCounter } from "./call-counter.ts";
import type { EventBridgeEmulator } from "./eventbridge/index.ts";
import { readBody, sendJson } from "./http-body.ts";
import { InvalidOfflineModelSettingsError, type OfflineModel } from "./offline-model/index.ts";

export interface DevAuth {
  secret: string;
  issuer: string;
  audience: string;
}

/** What GET /dev/resources answers: where the stack's queues and tables are (azuchi-ops --local reads it). */
export interface DevResources {
  region: string;
  sqs: { endpoint: string; jobs: { url: string; arn: string }; dlq: { url: string; arn: string } };
  tables: Record<string, string>;
  busName: string;
}

const UserName = z.string().regex(/^[\p{L}\p{N}_.@-]{1,64}$/u, "1–64 letters, digits or _ . @ -");
/** Dev tokens outlive a working day and survive restarts (the secret is kept in the data folder). */
const DEV_TOKEN_TTL = "7d";

export async function signDevToken(auth: DevAuth, user: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(user)
    .setIssuer(auth.issuer)
    .setAudience(auth.audience)
    .setIssuedAt()
    .setExpirationTime(DEV_TOKEN_TTL)
    .sign(new TextEncoder().encode(auth.secret));
}

/**
 * GET /dev/token?user=alice, GET/POST /dev/model, GET /dev/resources (the queues and tables),
 * GET /dev/calls (the handlers' AWS calls by operation; POST /dev/calls/reset starts afresh):
 * local-stack-only conveniences. /dev/model changes the offline model (settings.ts): mode ok,
 * fail, rate-limit or hang; a scenario of the Responses API (scenarios.ts: refusal, preamble,
 * context-length-exceeded, …); faultRequests to heal after N requests; contextTokens; the model
 * names it answers to.
 */
export async function handleDevRequest(req: IncomingMessage, res: ServerResponse, url: URL, auth: DevAuth, model: OfflineModel | undefined, resources?: DevResources, calls?: CallCounter): Promise<void> {
  if (url.pathname === "/dev/resources" && req.method === "GET" && resources) return sendJson(res, 200, resources);
  if (url.pathname === "/dev/calls" && req.method === "GET" && calls) return sendJson(res, 200, CallCounts.parse(await calls.snapshot()));
  if (url.pathname === "/dev/calls/reset" && req.method === "POST" && calls) return sendJson(res, 200, CallCounts.parse(await calls.reset()));
  if (url.pathname === "/dev/token" && req.method === "GET") {
    const user = UserName.safeParse(url.searchParams.get("user") ?? "");
    if (!user.success) return sendJson(res, 400, { error: `user: ${user.error.issues[0]?.message ?? "invalid"}` });
    return sendJson(res, 200, { token: await signDevToken(auth, user.data) });
  }
  if (url.pathname === "/dev/model" && (req.method === "POST" || req.method === "GET")) {
    if (!model) return sendJson(res, 409, { error: "OPENAI_API_KEY is set: the stack uses OpenAI, not the offline model" });
    if (req.method === "GET") return sendJson(res, 200, model.settings());
    let patch: unknown;
    try {
      patch = JSON.parse((await readBody(req, 4096)).toString("utf8") || "{}");
    } catch {
      return sendJson(res, 400, {
        error: "body must be JSON, e.g. {\"mode\":\"fail\"}, {\"mode\":\"rate-limit\",\"retryAfterSeconds\":2,\"faultRequests\":3} or {\"scenario\":\"refusal\"}",
      });
    }
    try {
      return sendJson(res, 200, model.configure(patch as Parameters<OfflineModel["configure"]>[0]));
    } catch (error) {
      if (error instanceof InvalidOfflineModelSettingsError) return sendJson(res, 400, { error: error.message });
      throw error;
    }
  }
  sendJson(res, 404, { error: `no dev endpoint ${req.method} ${url.pathname}` });
}

const BusFault = z.strictObject({
  fault: z.union([
    z.null(),
    z.strictObject({
      mode: z.enum(["hold", "fail"]),
      source: z.string().min(1).optional(),
      detailType: z.string().min(1).optional(),
      requests: z.int().min(0).max(1000),
    }),
  ]),
});

/**
 * GET/POST /dev/bus: the local EventBridge's PutEvents fault (eventbridge/server.ts), for drills
 * and people testing by hand: `{"fault":{"mode":"hold","source":"azuchi.ai-agent","detailType":"AgentRunCompleted","requests":1}}`
 * holds the next such call unanswered and unapplied, as if its caller died first; mode `fail`
 * answers it 500; `{"fault":null}` lifts it. Both answer the fault's state.
 */
export async function handleBusRequest(req: IncomingMessage, res: ServerResponse, bus: Pick<EventBridgeEmulator, "fault" | "faults">): Promise<void> {
  if (req.method === "GET") return sendJson(res, 200, bus.faults());
  if (req.method !== "POST") return sendJson(res, 405, { error: "GET or POST /dev/bus" });
  let body: unknown;
  try {
    body = JSON.parse((await readBody(req, 4096)).toString("utf8"));
  } catch {
    return sendJson(res, 400, { error: "body must be JSON, e.g. {\"fault\":{\"mode\":\"fail\",\"source\":\"azuchi.ai-agent\",\"requests\":3}} or {\"fault\":null}" });
  }
  const parsed = BusFault.safeParse(body);
  if (!parsed.success) return sendJson(res, 400, { error: z.prettifyError(parsed.error) });
  sendJson(res, 200, bus.fault(parsed.data.fault));
}
