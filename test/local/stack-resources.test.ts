import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerFrame } from "@azuchi/core";
import { startTestStack, type TestStack } from "../support/stack.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const isReply = (frame: ServerFrame) => frame.type === "message" && frame.message.role === "AGENT" && frame.message.messageType === "CONVERSATION";

describe("the stack's resource usage (what the bench reads per turn)", () => {
  it("counts the CPU a turn costs across the stack's threads and its redis-server, and their memory", async () => {
    const tab = await stack.connect("carol");
    const before = await stack.resourceUsage();
    tab.send({ action: "putMessage", message: "how much did that cost?" });
    await tab.waitFor(isReply);
    const after = await stack.resourceUsage();
    await tab.close();

    expect(after.cpuMs).toBeGreaterThan(before.cpuMs);
    // This process alone holds less than the stack: redis-server is counted too.
    expect(after.rssBytes).toBeGreaterThan(process.memoryUsage.rss());
    expect(after.peakRssBytes).toBeGreaterThanOrEqual(process.memoryUsage.rss());
  });

  it("counts redis-server by its process id while it runs, and not once it is halted", async () => {
    const pid = stack.redis!.pid();
    expect(pid).toBeGreaterThan(0);
    await stack.redis!.halt();
    expect(stack.redis!.pid()).toBeUndefined();
    await stack.redis!.start();
    expect(stack.redis!.pid()).toBeGreaterThan(0);
  });
});
