import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { rebuildHistory } from "../../packages/agent/src/memory-rebuild.ts";
import type { Message } from "@azuchi/core";
import { ackOf, messageFrame, where } from "../support/frames.ts";
import { useConsumerKit } from "../support/consumer-kit.ts";

/**
 * What the agent sends the model, seen on the wire: a pass-through in front of the offline
 * model that keeps each request's JSON body.
 */
const seen: { input?: unknown; previous_response_id?: string }[] = [];
let target = "";
const proxy: Server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    if (req.method === "POST" && body.length > 0) seen.push(JSON.parse(body.toString("utf8")) as (typeof seen)[number]);
    const url = new URL(req.url ?? "/", target);
    const upstream = request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    upstream.end(body);
  });
});
await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

const kit = useConsumerKit("rebuild", { stack: { environment: { OPENAI_BASE_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1` } } });

const agentReply = messageFrame("CONVERSATION", "AGENT");

describe("when Redis has lost a session's memory", () => {
  it("rebuilds the conversation from the messages table, so the model still sees the earlier turns", async () => {
    target = new URL(kit.stack.model!.baseURL).origin;
    const tab = await kit.stack.connect("amnesiac");
    const sessionId = await kit.stack.sessionOf(tab);
    const exchange = async (text: string) => {
      tab.send({ action: "putMessage", message: text });
      const user = await tab.waitFor(ackOf(text));
      const reply = await tab.waitFor(where(agentReply, (f) => f.message.jobId === user.message.messageId));
      await expect.poll(() => kit.redis.get(kit.keys.job(sessionId, reply.message.jobId!))).toBe("completed");
      return reply.message;
    };
    const first = await exchange("remember the word azalea");
    const second = await exchange("and the word birch");
    // Failover to an empty node: no history, no previous_response_id, no fence, no lock.
    await kit.redis.flushall();
    seen.length = 0;
    await exchange("which words did I ask you to remember?");

    const request = seen.at(-1)!;
    expect(request.previous_response_id ?? undefined).toBeUndefined();
    expect(request.input).toEqual([
      { role: "user", content: "remember the word azalea" },
      { role: "assistant", content: first.message },
      { role: "user", content: "and the word birch" },
      { role: "assistant", content: second.message },
      { role: "user", content: "which words did I ask you to remember?" },
    ]);
    // Written back with the turn: Redis holds the whole conversation again.
    const history = (await kit.redis.lrange(kit.keys.history(sessionId), 0, -1)).map((item) => (JSON.parse(item) as { message: string }).message).reverse();
    expect(history.slice(0, 4)).toEqual(["remember the word azalea", first.message, "and the word birch", second.message]);
    expect(history).toHaveLength(6);
    expect(await kit.redis.ttl(kit.keys.history(sessionId))).toBeGreaterThan(1_728_000 - 5);
    await tab.close();
  });
});

describe("the conversation rebuilt from the messages table", () => {
  it("pairs each answered USER message with its reply, even one stored after later messages, and leaves out the rest", async () => {
    const sessionId = crypto.randomUUID();
    const t = Date.now() - 10_000;
    const put = (message: Partial<Message> & Pick<Message, "role" | "messageType" | "message">) =>
      kit.messages.put({ sessionId, messageId: crypto.randomUUID(), createdAt: t, ...message }).then((stored) => stored.message);
    const u1 = await put({ role: "USER", messageType: "CONVERSATION", message: "one", createdAt: t });
    const u2 = await put({ role: "USER", messageType: "CONVERSATION", message: "two, never answered", createdAt: t + 1 });
    await put({ role: "AGENT", messageType: "AGENT_LOG", message: "Working on your message…", jobId: u1.messageId, createdAt: t + 2 });
    const r1 = await put({ role: "AGENT", messageType: "CONVERSATION", message: "reply to one", jobId: u1.messageId, createdAt: t + 3 });
    await put({ role: "SYSTEM", messageType: "SYSTEM_LOG", message: "gave up on two", jobId: u2.messageId, createdAt: t + 4 });
    const job = kit.job(sessionId, "three");
    const u3 = await put({ role: "USER", messageType: "CONVERSATION", message: "three", messageId: job.messageId, createdAt: t + 5 });
    await put({ role: "USER", messageType: "CONVERSATION", message: "four, after three", createdAt: t + 6 });
    const history = await rebuildHistory(kit.messages, { ...job, createdAt: u3.createdAt }, 50);
    expect(history).toEqual([
      { messageId: u1.messageId, role: "USER", message: "one", createdAt: u1.createdAt },
      { messageId: r1.messageId, role: "AGENT", message: "reply to one", createdAt: r1.createdAt },
    ]);
    expect(await rebuildHistory(kit.messages, { ...job, createdAt: u3.createdAt }, 1)).toEqual([history[1]]);
  });
});
