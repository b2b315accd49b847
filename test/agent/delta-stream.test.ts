import { randomUUID } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import { describe, expect, it } from "vitest";
import { DeltaStream } from "../../packages/agent/src/delta-stream.ts";
import { SessionChannel } from "../../packages/agent/src/session-channel.ts";
import { useConsumerKit } from "../support/consumer-kit.ts";

const kit = useConsumerKit("delta-stream");

describe("DeltaStream, a reply's text as delta frames to the session's tabs", () => {
  it("sends the first text at once, then what reaches maxChars, and leaves the text still waiting at the end to the stored reply", async () => {
    const tab = await kit.stack.connect("delta-stream");
    const sessionId = await kit.stack.sessionOf(tab);
    const deps = kit.deps();
    const channel = new SessionChannel(deps.notifier, deps.connections, sessionId, new Logger({ logLevel: "SILENT" }));
    const messageId = randomUUID();
    // No timer flush within the test: only the first text and maxChars send.
    const stream = new DeltaStream(channel, messageId, { intervalMs: 60_000, maxChars: 5 });
    stream.push("こん");
    stream.push("にちは 🎌");
    stream.push(" ok");
    expect(await stream.finish()).toBe("こんにちは 🎌 ok");
    stream.push(" too late");

    // finish() waited for the deltas sent; a frame sent after it reaches the tab after them.
    const marker = randomUUID();
    await channel.send({ type: "delta", messageId: marker, offset: 0, delta: "marker" });
    await tab.waitFor((f) => f.type === "delta" && f.messageId === marker);
    expect(tab.frames.filter((f) => f.type === "delta" && f.messageId === messageId)).toEqual([
      { type: "delta", messageId, offset: 0, delta: "こん" },
      { type: "delta", messageId, offset: 2, delta: "にちは 🎌" },
    ]);
    await tab.close();
  });
});
