import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerFrame } from "@azuchi/core";
import { startTestStack, type TestStack } from "../support/stack.ts";

// The other test files run the default stack (handlers, consumer and dynalite on threads of
// their own); this one keeps the single-thread arrangement working, for debugging in one loop.
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ handlerRuntime: "in-process", consumerRuntime: "in-process", dynamoRuntime: "in-process" });
});
afterAll(async () => {
  await stack?.stop();
});

describe("the stack on one thread", () => {
  it("answers a message and titles its session, every handler on the test's own event loop", async () => {
    const tab = await stack.connect("dave");
    const sessionId = await stack.sessionOf(tab);
    tab.send({ action: "putMessage", message: "one loop for everything" });
    const reply = await tab.waitFor((frame: ServerFrame) => frame.type === "message" && frame.message.role === "AGENT" && frame.message.messageType === "CONVERSATION");
    if (reply.type !== "message") throw new Error("unreachable");
    expect(reply.message.message).toContain("one loop for everything");
    await tab.close();

    const titled = await stack.connect("dave");
    for (;;) {
      const start = titled.frames.length;
      titled.send({ action: "listSessions" });
      const frame = await titled.waitFor((f) => f.type === "sessions" && titled.frames.indexOf(f) >= start);
      if (frame.type === "sessions" && frame.sessions.find((s) => s.sessionId === sessionId)?.title) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await titled.close();
  });
});

describe("GET/POST /dev/bus", () => {
  it("sets, shows and lifts the bus's fault, and answers a body it cannot take with 400 and an example", async () => {
    const post = (body: string) => fetch(`${stack.url}/dev/bus`, { method: "POST", body });
    const fault = { mode: "hold", source: "azuchi.ai-agent", detailType: "AgentRunCompleted", requests: 2 };
    expect(await (await post(JSON.stringify({ fault }))).json()).toEqual({ fault, held: 0, failed: 0, open: 0 });
    expect(await (await fetch(`${stack.url}/dev/bus`)).json()).toEqual({ fault, held: 0, failed: 0, open: 0 });
    for (const bad of ["not json", "{}", JSON.stringify({ fault: { mode: "hold", requests: -1 } }), JSON.stringify({ fault: { mode: "drop", requests: 1 } }), JSON.stringify({ fault: { mode: "fail", requests: 1, typo: true } })]) {
      const response = await post(bad);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).not.toBe("");
    }
    expect(await (await post(JSON.stringify({ fault: null }))).json()).toEqual({ fault: null, held: 0, failed: 0, open: 0 });
    expect((await fetch(`${stack.url}/dev/bus`, { method: "DELETE" })).status).toBe(405);
  });
});
