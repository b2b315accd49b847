import type { SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { processFifoBatch, toBatchResponse } from "../../packages/agent/src/fifo-batch.ts";

function record(id: string, group: string): SQSRecord {
  return { messageId: id, receiptHandle: `rh-${id}`, body: "{}", attributes: { MessageGroupId: group } as SQSRecord["attributes"], messageAttributes: {}, md5OfBody: "", eventSource: "aws:sqs", eventSourceARN: "arn", awsRegion: "us-east-1" };
}

describe("the FIFO batch processor", () => {
  it("fails a failed record and every later record of its group, and nothing of the other groups", async () => {
    const batch = [record("a1", "A"), record("b1", "B"), record("a2", "A"), record("a3", "A"), record("b2", "B")];
    const ran: string[] = [];
    const outcomes = await processFifoBatch(batch, async (r) => {
      ran.push(r.messageId);
      if (r.messageId === "a2") throw new Error("boom");
    });
    expect(outcomes.map((o) => `${o.record.messageId}:${o.status}`)).toEqual(["a1:succeeded", "b1:succeeded", "a2:failed", "a3:after-failure", "b2:succeeded"]);
    expect(ran).not.toContain("a3");
    expect(toBatchResponse(outcomes)).toEqual({ batchItemFailures: [{ itemIdentifier: "a2" }, { itemIdentifier: "a3" }] });
  });

  it("runs the groups concurrently: one session does not wait for another's turn", async () => {
    let releaseA!: () => void;
    const aWaits = new Promise<void>((resolve) => (releaseA = resolve));
    const outcomes = await processFifoBatch([record("a1", "A"), record("b1", "B")], async (r) => {
      // A's turn only ends once B's has run: sequential processing would never finish.
      if (r.messageId === "a1") await aWaits;
      else releaseA();
    });
    expect(outcomes.every((o) => o.status === "succeeded")).toBe(true);
  });

  it("runs each group strictly in order, one record at a time", async () => {
    const events: string[] = [];
    await processFifoBatch([record("a1", "A"), record("a2", "A"), record("a3", "A")], async (r) => {
      events.push(`start ${r.messageId}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      events.push(`end ${r.messageId}`);
    });
    expect(events).toEqual(["start a1", "end a1", "start a2", "end a2", "start a3", "end a3"]);
  });

  it("leaves the rest of a group for later when time runs short, without failing it", async () => {
    let budget = 1;
    const outcomes = await processFifoBatch([record("a1", "A"), record("a2", "A"), record("a3", "A")], async () => undefined, {
      canStart: () => budget-- > 0,
    });
    expect(outcomes.map((o) => o.status)).toEqual(["succeeded", "out-of-time", "out-of-time"]);
  });
});
