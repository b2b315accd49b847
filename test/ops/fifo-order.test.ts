import { randomUUID } from "node:crypto";
import type { SQSClient} from "@aws-sdk/client-sqs";
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, type Message } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentJob } from "@azuchi/core";
import type { SqsEmulator } from "@azuchi/local/sqs";
import { emulatorEnv, spawnOps, startEmulatorAndClient, stopEmulatorAndClient, testJob as job, type OpsRun } from "../support/ops-cli.ts";

// A session with more dead letters than one receive hands out (10): SQS FIFO shows nothing more of
// a group while some of it is held, so a read-only list says what it could not see, and a replay,
// deleting as it goes, reaches them all and keeps every session's order across its batches.
let emulator: SqsEmulator;
let sqs: SQSClient;
let jobsUrl: string;
let dlqUrl: string;

beforeAll(async () => {
  ({ emulator, sqs } = await startEmulatorAndClient());
  ({ QueueUrl: dlqUrl = "" } = await sqs.send(new CreateQueueCommand({ QueueName: "order-dlq.fifo", Attributes: { FifoQueue: "true" } })));
  ({ QueueUrl: jobsUrl = "" } = await sqs.send(new CreateQueueCommand({ QueueName: "order-jobs.fifo", Attributes: { FifoQueue: "true" } })));
});
afterAll(() => stopEmulatorAndClient(emulator, sqs));

/** The CLI against explicit queue URLs, the SDK pointed at the emulator as on AWS it would be at SQS. */
function ops(args: string[]): Promise<OpsRun> {
  return spawnOps([...args, "--queue-url", jobsUrl, "--dlq-url", dlqUrl], emulatorEnv(emulator.endpoint)).done;
}

describe("dead letters of a session beyond one receive", () => {
  it("list says how many it could not see; replay --all reaches them all, each session in order", async () => {
    const [big, small] = [randomUUID(), randomUUID()];
    const sent: AgentJob[] = [];
    for (let i = 1; i <= 12; i++) {
      sent.push(job(big, `big ${i}`));
      if (i <= 3) sent.push(job(small, `small ${i}`));
    }
    for (const j of sent) {
      await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify(j), MessageGroupId: j.sessionId, MessageDeduplicationId: j.jobId, MessageAttributes: { reason: { DataType: "String", StringValue: "model down" } } }));
    }
    const list = await ops(["dlq", "list"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("13 of 13 dead letter(s)");
    expect(list.stderr).toMatch(/note: 2 more dead letter\(s\)/);
    const exported = await ops(["dlq", "export"]);
    expect(exported.code).toBe(1);
    expect(exported.stderr).toMatch(/the export is incomplete: 2 dead letter/);

    const replay = await ops(["dlq", "replay", "--all", "--yes", "--json"]);
    expect(replay.code).toBe(0);
    expect((JSON.parse(replay.stdout) as { replayed: unknown[] }).replayed).toHaveLength(15);
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["All"] }));
    expect(Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible)).toBe(0);

    const received: Message[] = [];
    for (;;) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: jobsUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"] }));
      if (Messages.length === 0) break;
      received.push(...Messages);
      for (const m of Messages) await sqs.send(new DeleteMessageCommand({ QueueUrl: jobsUrl, ReceiptHandle: m.ReceiptHandle }));
    }
    const of = (session: string) => received.filter((m) => m.Attributes?.MessageGroupId === session).map((m) => (JSON.parse(m.Body!) as AgentJob).message);
    expect(of(big)).toEqual(Array.from({ length: 12 }, (_, i) => `big ${i + 1}`));
    expect(of(small)).toEqual(["small 1", "small 2", "small 3"]);
    // Each carries its history back, for a second give-up to add to.
    expect(JSON.parse(received[0]!.MessageAttributes!.failureHistory!.StringValue!)).toMatchObject([{ reason: "model down" }]);
  }, 60_000);
});
