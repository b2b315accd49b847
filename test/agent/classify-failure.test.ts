import { describe, expect, it } from "vitest";
import { ReplyError } from "ioredis";
import { classifyFailure } from "../../packages/agent/src/classify-failure.ts";
import { receiveStage } from "@azuchi/agent/handlers/consume-jobs";
import { LockLostError, MODEL_FAILURES, ModelCallError, ReceivesExhaustedError, SessionBusyError, TurnDeadlineError, TurnError, TurnFailedError } from "../../packages/agent/src/turn-errors.ts";
import { InvalidJobError, RedisUnavailableError } from "@azuchi/core";

describe("classifyFailure", () => {
  it("calls a lost lock lock-lost wherever it was seen, even wrapped as a failed turn after the reply was stored", () => {
    for (const seen of ["heartbeat", "unrenewed", "fenced-write"] as const) {
      expect(classifyFailure(new LockLostError("s", seen))).toMatchObject({ kind: "lock-lost" });
      expect(classifyFailure(new TurnFailedError(2, new LockLostError("s", seen), { replyStored: true }))).toMatchObject({ kind: "lock-lost", reason: expect.stringContaining(seen) });
    }
  });

  it("calls a locked session busy, with how long to wait", () => {
    expect(classifyFailure(new SessionBusyError("s", 1234))).toEqual({ kind: "busy", retryAfterMs: 1234, reason: expect.stringContaining("SessionBusyError") });
  });

  it("retries what may pass: a deadline, Redis down or refusing writes, DynamoDB or the model failing, anything unknown", () => {
    const oom = new ReplyError("OOM command not allowed when used memory > 'maxmemory'.");
    for (const error of [new TurnDeadlineError(), new RedisUnavailableError("down"), oom, new Error("ResourceNotFoundException"), "a string"]) {
      expect(classifyFailure(error)).toMatchObject({ kind: "retryable", silent: false });
      expect(classifyFailure(new TurnFailedError(1, error))).toMatchObject({ kind: "retryable", silent: false });
    }
  });

  it("gives a model failure its verdict once: final ones with the notice to tell, retryable ones with their retry-after", () => {
    for (const kind of Object.keys(MODEL_FAILURES) as (keyof typeof MODEL_FAILURES)[]) {
      const failure = classifyFailure(new TurnFailedError(1, new ModelCallError(kind, { message: "m", retryAfterMs: 1500 })));
      if (MODEL_FAILURES[kind].final) expect(failure, kind).toMatchObject({ kind: "final", tell: kind, silent: false });
      else expect(failure, kind).toMatchObject({ kind: "retryable", retryAfterMs: 1500 });
      expect(failure.reason, kind).toContain(MODEL_FAILURES[kind].ops);
    }
  });

  it("keeps a failure after the reply was stored silent for the user", () => {
    expect(classifyFailure(new TurnFailedError(1, new Error("Redis write failed"), { replyStored: true }))).toMatchObject({ kind: "retryable", silent: true });
  });

  it("gives up at once on what no retry can mend: receives used up, a malformed job", () => {
    expect(classifyFailure(new TurnFailedError(3, new ReceivesExhaustedError(5)))).toMatchObject({ kind: "final", reason: expect.stringContaining("received 5 times") });
    expect(classifyFailure(new InvalidJobError("invalid agent job"))).toMatchObject({ kind: "final" });
  });

  it("reports the root cause for ops, not the turn's wrapper", () => {
    const failure = classifyFailure(new TurnFailedError(1, new Error("socket hang up", { cause: new Error("ECONNRESET") })));
    expect(failure.reason).toBe("Error: socket hang up (Error: ECONNRESET)");
    expect(new TurnDeadlineError()).toBeInstanceOf(TurnError);
    expect(new TurnDeadlineError().name).toBe("TurnDeadlineError");
  });
});

describe("a receive against the redrive limit", () => {
  it("runs the turn, runs it for the last time on the receive before the limit, and only gives up on the last one", () => {
    expect([1, 2, 3, 4, 5].map((receives) => receiveStage(receives, 5))).toEqual(["run", "run", "run", "last-run", "give-up"]);
    expect(receiveStage(7, 5)).toBe("give-up");
  });
});
