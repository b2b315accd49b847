import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorCode } from "@azuchi/core";
import { errorFor, exchange, stillUsable } from "../support/chat.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import type { TestClient } from "../support/ws-client.ts";

// Every bad input a client can send. Each gets an `error` frame with its docs/architecture.md §5
// code, nothing is stored, and the socket keeps working.

let stack: TestStack;
let tab: TestClient;

beforeAll(async () => {
  stack = await startTestStack({ model: { firstTokenMs: 0, tokenMs: 0 } });
  tab = await stack.connect("mallory");
});
afterAll(async () => {
  await tab?.close();
  await stack?.stop();
});

const ROUTES = ["putMessage", "getSession", "listSessions", "stopGeneration", "retryMessage", "renameSession", "deleteSession", "regenerateReply"];

const badFrames: [string, unknown, ErrorCode][] = [
  // Not a JSON object: $default.
  ["malformed JSON", "{not json", "BAD_REQUEST"],
  ["truncated JSON", '{"action":"putMessage","message":"hi"', "BAD_REQUEST"],
  ["an empty frame", "", "BAD_REQUEST"],
  ["JSON null", "null", "BAD_REQUEST"],
  ["a JSON number", "42", "BAD_REQUEST"],
  ["a JSON string", '"putMessage"', "BAD_REQUEST"],
  ["a JSON array", '[{"action":"putMessage","message":"hi"}]', "BAD_REQUEST"],
  // A JSON object with no route: $default.
  ["no action", { message: "hello" }, "UNKNOWN_ROUTE"],
  ["an unknown action", { action: "deleteEverything" }, "UNKNOWN_ROUTE"],
  ["an action of the wrong case", { action: "PutMessage", message: "hi" }, "UNKNOWN_ROUTE"],
  ["a reserved route as action", { action: "$connect" }, "UNKNOWN_ROUTE"],
  ["an inherited property as action", { action: "constructor" }, "UNKNOWN_ROUTE"],
  ["a non-string action", { action: 42 }, "UNKNOWN_ROUTE"],
  // putMessage with wrong fields.
  ["putMessage without message", { action: "putMessage" }, "BAD_REQUEST"],
  ["putMessage with a number", { action: "putMessage", message: 42 }, "BAD_REQUEST"],
  ["putMessage with null", { action: "putMessage", message: null }, "BAD_REQUEST"],
  ["putMessage with an array", { action: "putMessage", message: ["hi"] }, "BAD_REQUEST"],
  ["putMessage with an object", { action: "putMessage", message: { text: "hi" } }, "BAD_REQUEST"],
  ["an empty message", { action: "putMessage", message: "" }, "BAD_REQUEST"],
  ["a blank message", { action: "putMessage", message: "   \n\t " }, "BAD_REQUEST"],
  ["a message of ideographic spaces", { action: "putMessage", message: "\u3000\u3000" }, "BAD_REQUEST"],
  ["a message of zero-width characters", { action: "putMessage", message: "\u200b\u200d\ufeff" }, "BAD_REQUEST"],
  ["a message with a lone surrogate", { action: "putMessage", message: "bad \ud83c text" }, "BAD_REQUEST"],
  ["a clientMessageId that is not a UUID", { action: "putMessage", message: "hi", clientMessageId: "nope" }, "BAD_REQUEST"],
  ["a numeric clientMessageId", { action: "putMessage", message: "hi", clientMessageId: 7 }, "BAD_REQUEST"],
  ["8,001 characters", { action: "putMessage", message: "a".repeat(8_001) }, "MESSAGE_TOO_LONG"],
  ["8,001 emoji (16,002 UTF-16 units, 32 KB frame)", { action: "putMessage", message: "🎌".repeat(8_001) }, "MESSAGE_TOO_LONG"],
  ["20,000 characters in a 20 KB frame", { action: "putMessage", message: "x".repeat(20_000) }, "MESSAGE_TOO_LONG"],
  // getSession, listSessions with wrong fields.
  ["getSession with a string limit", { action: "getSession", limit: "ten" }, "BAD_REQUEST"],
  ["getSession with limit 0", { action: "getSession", limit: 0 }, "BAD_REQUEST"],
  ["getSession with limit 201", { action: "getSession", limit: 201 }, "BAD_REQUEST"],
  ["getSession with a negative before", { action: "getSession", before: -1 }, "BAD_REQUEST"],
  ["getSession with a fractional after", { action: "getSession", after: 1.5 }, "BAD_REQUEST"],
  ["listSessions with limit 0", { action: "listSessions", limit: 0 }, "BAD_REQUEST"],
  ["listSessions with limit 101", { action: "listSessions", limit: 101 }, "BAD_REQUEST"],
  ["listSessions with a numeric cursor", { action: "listSessions", cursor: 42 }, "BAD_REQUEST"],
  ["listSessions with a made-up cursor", { action: "listSessions", cursor: "eyJzIjoiYSJ9.AAAA" }, "BAD_REQUEST"],
  ["listSessions with a cursor over 2 KB", { action: "listSessions", cursor: "a".repeat(2_049) }, "BAD_REQUEST"],
];

describe("bad frames", () => {
  it.each(badFrames)("answers %s with its error code, and the socket still works", async (_name, frame, code) => {
    const error = await errorFor(tab, frame);
    expect(error.code).toBe(code);
    expect(error.message).toEqual(expect.any(String));
    if (code === "UNKNOWN_ROUTE") expect(error.routes).toEqual(ROUTES);
    expect(await stillUsable(tab)).toBe(true);
  });

  it("says how long a message may be", async () => {
    const error = await errorFor(tab, { action: "putMessage", message: "日本🎌".repeat(3_000) });
    expect(error).toMatchObject({ code: "MESSAGE_TOO_LONG", limit: 8_000, length: 9_000 });
  });

  it("answers a binary frame with BAD_REQUEST", async () => {
    const start = tab.frames.length;
    tab.socket.send(Buffer.from([0xff, 0x00, 0x7b]), { binary: true });
    const error = await tab.waitFor((f) => tab.frames.indexOf(f) >= start && f.type === "error");
    expect(error).toMatchObject({ code: "BAD_REQUEST" });
  });

  it("stored none of them", async () => {
    const session = await exchange(tab, { action: "getSession" }, (f) => f.type === "session");
    expect(session.type === "session" && session.messages).toEqual([]);
  });

  it("closes a connection whose frame is over API Gateway's 32 KB with 1009, as AWS does", async () => {
    const big = await stack.connect("peggy");
    const closed = new Promise<number>((resolve) => big.socket.once("close", (code) => resolve(code)));
    big.send({ action: "putMessage", message: "x".repeat(33_000) });
    expect(await closed).toBe(1009);
  });
});
