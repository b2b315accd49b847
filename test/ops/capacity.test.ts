import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadInput, toMarkdown } from "../../packages/ops/src/capacity/main.ts";
import { capacity, type CapacityInput } from "../../packages/ops/src/capacity/model.ts";
import { PUBLISHED } from "../../packages/ops/src/capacity/published.ts";
import { consumerMaxConcurrency } from "@azuchi/agent/job-timing";

const input: CapacityInput = {
  profile: {
    callsPerTurn: { "DynamoDB_20120810.PutItem": 4, "DynamoDB_20120810.Query": 2, "AmazonSQS.SendMessage": 1, "AmazonSQS.DeleteMessageBatch": 1, "ApiGatewayManagement.POST": 9, "AWSEvents.PutEvents": 1, "Unknown.Thing": 100 },
    redisRoundTripsPerTurn: 5,
  },
  assumptions: {
    consumerSecondsPerTurn: 10, consumerMemoryMb: 1024, chatInvocationsPerTurn: 1, chatSecondsPerInvocation: 0.5, chatMemoryMb: 512,
    tokensPerTurn: 5000, consumerMaxConcurrency: 100, redisOpsPerSecondPerShard: 50_000, redisShards: 2, wruPerWrite: 2, rruPerRead: 1,
  },
};
const limit = (name: string) => capacity(input).limits.find((l) => l.component.startsWith(name))!.turnsPerSecond;

describe("the capacity model", () => {
  it("divides each published quota by what one turn takes of it", () => {
    expect(limit("API Gateway")).toBe(10_000 / 10); // 9 posts + 1 frame in
    expect(limit("SQS FIFO, plain")).toBe(300);
    expect(limit("SQS FIFO, high")).toBe(70_000);
    expect(limit("Lambda, the consumer")).toBe(100 / 10);
    expect(limit("Lambda, account")).toBe(1_000 / 10.5);
    expect(limit("DynamoDB")).toBe(40_000 / 8); // 4 writes of 2 WRU
    expect(limit("Redis")).toBe((50_000 * 2) / 5);
    expect(limit("OpenAI tier 1")).toBeCloseTo(30_000 / 60 / 5000);
  });

  it("names what binds first for the deployed mode and tier, and what binds among AWS's", () => {
    expect(capacity(input).binding.component).toBe("OpenAI tier 1");
    expect(capacity(input, PUBLISHED, "tier 5").binding.component).toBe("Lambda, the consumer's maximumConcurrency");
    // The plain FIFO mode is shown, not deployed: it never binds.
    expect(capacity(input).bindingInfrastructure.component).toBe("Lambda, the consumer's maximumConcurrency");
  });

  it("prices 1,000 turns from the calls, the model's tokens excluded", () => {
    const report = capacity(input);
    const cost = (item: string) => report.costs.find((c) => c.item === item)!.per1000Turns;
    expect(cost("API Gateway WebSocket messages")).toBeCloseTo((1000 * 10 * 1.0) / 1e6);
    expect(cost("SQS FIFO requests")).toBeCloseTo((1000 * 2 * 0.5) / 1e6);
    expect(cost("Lambda duration (arm64)")).toBeCloseTo(1000 * (1 * 10 + 0.5 * 0.5) * 0.0000133334);
    expect(cost("DynamoDB on-demand writes")).toBeCloseTo((1000 * 8 * 0.625) / 1e6);
    expect(cost("DynamoDB on-demand reads")).toBeCloseTo((1000 * 2 * 0.125) / 1e6);
    expect(report.costPer1000Turns).toBeCloseTo(report.costs.reduce((sum, c) => sum + c.per1000Turns, 0));
    expect(toMarkdown(report)).toContain("**(binds first)**");
  });

  it("reads a bench's minimal JSON with the shipped assumptions, and says what is wrong with another", () => {
    const dir = mkdtempSync(join(tmpdir(), "capacity-"));
    const bench = join(dir, "bench.json");
    writeFileSync(bench, JSON.stringify({ callsPerTurn: { "AmazonSQS.SendMessage": 1 }, redisRoundTripsPerTurn: 3, other: "ignored" }));
    const loaded = loadInput(bench);
    expect(loaded.profile).toEqual({ callsPerTurn: { "AmazonSQS.SendMessage": 1 }, redisRoundTripsPerTurn: 3 });
    // The shipped assumptions follow the stacks: production's cap on the consumer.
    expect(loaded.assumptions.consumerMaxConcurrency).toBe(consumerMaxConcurrency(true));
    writeFileSync(bench, JSON.stringify({ turns: 3 }));
    expect(() => loadInput(bench)).toThrow(/not a turn profile/);
  });
});
