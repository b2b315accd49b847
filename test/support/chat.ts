import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Redis } from "ioredis";
import { SignJWT, type JWTPayload } from "jose";
import type { ErrorFrame, ServerFrame } from "../../packages/core/src/frames.ts";
import type { LocalStack, LocalStackOptions } from "@azuchi/local/stack";
import { startTestStack, type TestStack } from "./stack.ts";
import { ConnectionRefusedError, openClient, type TestClient } from "./ws-client.ts";

/** Helpers for tests that talk to azuchi-chat through the local stack. */

/** The linked resource `name` as the handlers see it (SST_RESOURCE_<name>). */
export function linked<T = Record<string, unknown>>(stack: LocalStack, name: string): T {
  return JSON.parse(stack.environment[`SST_RESOURCE_${name}`]!) as T;
}

export function tableName(stack: LocalStack, name: "Sessions" | "Connections" | "Messages" | "MessageIds"): string {
  return linked<{ name: string }>(stack, name).name;
}

/** A document client on the stack's DynamoDB, to look at what the handlers stored. */
export function documentClient(stack: LocalStack): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: stack.environment.AWS_ENDPOINT_URL_DYNAMODB, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
}

/** The local stack a chat test file talks to, and a document client on its DynamoDB. */
export interface ChatStack {
  stack: TestStack;
  doc: DynamoDBDocumentClient;
}

/**
 * The local stack for a chat test file, its offline model answering at once (these files wait on
 * what chat does, not on tokens) unless `options` say otherwise, and a document client on its
 * DynamoDB to look at what the handlers stored; stop the stack in afterAll.
 */
export async function startChatStack(options: LocalStackOptions = {}): Promise<ChatStack> {
  const stack = await startTestStack({ model: { firstTokenMs: 0, tokenMs: 0 }, ...options });
  return { stack, doc: documentClient(stack) };
}

/** A client on the stack's Redis (AgentMemory). */
export function redisClient(stack: LocalStack): Redis {
  const { host, port } = linked<{ host: string; port: number }>(stack, "AgentMemory");
  return new Redis({ host, port, lazyConnect: false, maxRetriesPerRequest: 1 });
}

/**
 * A token signed like the stack's /dev/token (HS256, its secret, issuer and audience),
 * with `claims` changed: expired, for another audience, and so on.
 */
export async function signToken(stack: LocalStack, claims: JWTPayload, header: { alg?: string; secret?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const secret = header.secret ?? linked<{ value: string }>(stack, "AuthSecret").value;
  const payload: JWTPayload = {
    iss: stack.environment.AZUCHI_AUTH_ISSUER,
    aud: stack.environment.AZUCHI_AUTH_AUDIENCE,
    iat: now,
    exp: now + 600,
    ...claims,
  };
  return new SignJWT(payload).setProtectedHeader({ alg: header.alg ?? "HS256", typ: "JWT" }).sign(new TextEncoder().encode(secret));
}

/** The HTTP status $connect answers with (101: the socket opened, and is closed again). */
export async function connectStatus(url: string): Promise<number> {
  try {
    const client = await openClient(url);
    await client.close();
    return 101;
  } catch (error) {
    if (error instanceof ConnectionRefusedError) return error.status;
    throw error;
  }
}

/** Sends a frame and resolves with the first frame after it that matches. */
export async function exchange<T extends ServerFrame>(client: TestClient, frame: unknown, match: (frame: ServerFrame) => frame is T, timeoutMs?: number): Promise<T>;
export async function exchange(client: TestClient, frame: unknown, match: (frame: ServerFrame) => boolean, timeoutMs?: number): Promise<ServerFrame>;
export async function exchange(client: TestClient, frame: unknown, match: (frame: ServerFrame) => boolean, timeoutMs?: number): Promise<ServerFrame> {
  const start = client.frames.length;
  if (typeof frame === "string") client.sendRaw(frame);
  else client.send(frame);
  return client.waitFor((f) => client.frames.indexOf(f) >= start && match(f), timeoutMs);
}

/** The `error` frame a frame gets (raw strings are sent as they are). */
export function errorFor(client: TestClient, frame: unknown): Promise<ErrorFrame> {
  return exchange(client, frame, (f): f is ErrorFrame => f.type === "error");
}

/** Whether the socket still answers: a getSession gets its `session` frame. */
export async function stillUsable(client: TestClient): Promise<boolean> {
  const frame = await exchange(client, { action: "getSession", limit: 1 }, (f) => f.type === "session" || f.type === "error");
  return frame.type === "session";
}

/** Sends a USER message and returns its messageId (= its jobId) once acknowledged. */
export async function sendMessage(tab: TestClient, text: string): Promise<string> {
  const clientMessageId = crypto.randomUUID();
  tab.send({ action: "putMessage", message: text, clientMessageId });
  const ack = await tab.waitFor((f) => f.type === "ack" && f.clientMessageId === clientMessageId);
  if (ack.type !== "ack") throw new Error("unreachable");
  return ack.messageId;
}

export const isAgentReply = (frame: ServerFrame): boolean =>
  frame.type === "message" && frame.message.role === "AGENT" && frame.message.messageType === "CONVERSATION";
