import { describe, expect, it } from "vitest";
import type { Message } from "@azuchi/core";
import { check, checkEvents, formatFigures, type BusEvent, type SessionHistory } from "../../packages/local/src/drills/checker.ts";

const sessionId = "00000000-0000-4000-8000-000000000001";
let clock = 1_000;
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const row = (messageId: string, fields: Partial<Message>): Message => ({ sessionId, createdAt: clock++, messageId, role: "AGENT", messageType: "CONVERSATION", message: "", ...fields });
const user = (n: number) => row(id(n), { role: "USER", message: `m${n}` });
const reply = (n: number, replyId = 100 + n) => row(id(replyId), { jobId: id(n), message: `reply ${n}` });
const finalNotice = (n: number) => row(id(200 + n), { role: "SYSTEM", messageType: "SYSTEM_LOG", jobId: id(n), payload: { attempt: 3, final: true } });
const retrying = (n: number) => row(id(300 + n), { role: "SYSTEM", messageType: "SYSTEM_LOG", jobId: id(n), payload: { attempt: 1, final: false } });

function history(stored: Message[], sent = [1, 2], seen: Message[] = stored): SessionHistory {
  return { sessionId, sent: sent.map((n) => ({ messageId: id(n), text: `m${n}` })), unacked: [], stored, seen: new Map(seen.map((m) => [m.messageId, m])) };
}
const empty = { queued: 0, inFlight: 0, deadLettered: 0 };

describe("the drills' checker", () => {
  it("passes messages each answered once, or told once they were given up, in order", () => {
    const verdict = check([history([user(1), retrying(1), reply(1), user(2), finalNotice(2)])], empty);
    expect(verdict.violations).toEqual([]);
    expect(formatFigures(verdict.figures)).toBe("sent 2, answered 1, told 1, lost 0, duplicated 0, out of order 0");
  });

  it("counts a message with neither reply nor final notice as lost, and one acked but not stored", () => {
    const verdict = check([history([user(1), retrying(1)])], empty);
    expect(verdict.figures).toMatchObject({ lost: 2, answered: 0 });
    expect(verdict.violations.join("\n")).toMatch(/neither answered nor told[\s\S]*not stored/);
  });

  it("counts two replies, a reply and a final notice, or a second USER copy as duplicates", () => {
    const twice = check([history([user(1), reply(1), reply(1, 150), user(2), reply(2), finalNotice(2), row(id(9), { role: "USER", message: "m2" })])], empty);
    expect(twice.figures.duplicated).toBe(3);
    // A DLQ replay may answer a message it told was given up.
    const replayed = check([history([user(1), reply(1), user(2), finalNotice(2), reply(2)])], empty, { answerAfterGiveUp: true });
    expect(replayed.violations).toEqual([]);
    expect(replayed.figures).toMatchObject({ answered: 2, told: 1 });
    const toldLate = check([history([user(1), reply(1), user(2), reply(2), finalNotice(2)])], empty, { answerAfterGiveUp: true });
    expect(toldLate.violations).toEqual([expect.stringMatching(/told it was given up after it was answered/)]);
  });

  it("sees replies stored in another order than sent, outcomes the tab never got, and jobs left in the queue", () => {
    const second = [user(2), reply(2)];
    const first = [user(1), reply(1)];
    const verdict = check([history([...second, ...first], [1, 2], second)], { queued: 1, inFlight: 2, deadLettered: 0 });
    expect(verdict.figures).toMatchObject({ outOfOrder: 1, unseen: 1, queued: 1, inFlight: 2 });
    expect(verdict.violations).toHaveLength(4);
  });

  it("sees replies that reached the tab in another order than sent", () => {
    const stored = [user(1), reply(1), user(2), reply(2)];
    const inOrder = { ...history(stored), arrival: stored.map((m) => m.messageId) };
    expect(check([inOrder], empty).violations).toEqual([]);
    const swapped = { ...history(stored), arrival: [id(1), id(2), id(102), id(101)] };
    expect(check([swapped], empty).figures.outOfOrder).toBe(1);
  });

  it("takes a reply the tab got only by catching up after a reconnect as placed by its createdAt, not as late", () => {
    const stored = [user(1), reply(1), user(2), reply(2)];
    // Reply 1's live frame went to a cut socket; reply 2 came live before the catch-up's answer.
    const caughtUpLate = { ...history(stored), arrival: [id(1), id(2), id(102), id(101)], caughtUp: new Set([id(101)]) };
    expect(check([caughtUpLate], empty).violations).toEqual([]);
    // A live reply after a later live one is still out of order, whatever else was caught up.
    const liveSwapped = { ...history(stored), arrival: [id(1), id(2), id(102), id(101)], caughtUp: new Set([id(1)]) };
    expect(check([liveSwapped], empty).figures.outOfOrder).toBe(1);
  });

  describe("the bus's side", () => {
    const posted = (m: Message): BusEvent => ({ "detail-type": "MessagePosted", detail: { sessionId, messageId: m.messageId, jobId: m.jobId } });
    const completed = (n: number): BusEvent => ({ "detail-type": "AgentRunCompleted", detail: { sessionId, jobId: id(n) } });
    const verdictOf = (stored: Message[], events: BusEvent[], delivery: "exactly-once" | "at-least-once" = "exactly-once", deadLettered: string[] = []) => {
      const sessions = [history(stored, [1, 2].filter((n) => stored.some((m) => m.messageId === id(n))))];
      const verdict = check(sessions, empty);
      checkEvents(sessions, events, verdict, { delivery, deadLetteredJobIds: new Set(deadLettered) });
      return verdict;
    };

    it("passes each message announced once and each answered job completed once; a SYSTEM_LOG notice is AgentRunFailed's to tell", () => {
      const stored = [user(1), retrying(1), reply(1), user(2), reply(2)];
      const verdict = verdictOf(stored, [...stored.filter((m) => m.messageType !== "SYSTEM_LOG").map(posted), completed(1), completed(2)]);
      expect(verdict.violations).toEqual([]);
      expect(formatFigures(verdict.figures)).toBe("sent 2, answered 2, told 0, lost 0, duplicated 0, out of order 0, announced once 6");
    });

    it("counts a message or a completion never announced, or announced twice, and an announcement of nothing stored", () => {
      const stored = [user(1), reply(1), user(2), reply(2)];
      const verdict = verdictOf(stored, [posted(user(1)), posted(stored[1]!), posted(stored[1]!), posted(user(2)), completed(1), completed(1), posted(row(id(77), {}))]);
      expect(verdict.figures).toMatchObject({ unannounced: 2, announcedTwice: 3 });
      expect(verdict.violations.join("\n")).toMatch(/announced 2 times[\s\S]*announced 0 times[\s\S]*2 AgentRunCompleted[\s\S]*0 AgentRunCompleted[\s\S]*not stored/);
    });

    it("takes a repeat for no violation when the fault allows at-least-once, but never a loss", () => {
      const stored = [user(1), reply(1)];
      const twice = verdictOf(stored, [posted(stored[0]!), posted(stored[0]!), posted(stored[1]!), completed(1)], "at-least-once");
      expect(twice.violations).toEqual([]);
      expect(twice.figures.announcedTwice).toBe(1);
      expect(verdictOf(stored, [posted(stored[0]!), completed(1)], "at-least-once").violations).toHaveLength(1);
    });

    it("does not wait for the completion of a job left in the dead-letter queue, nor for the announcement of a question it has not announced", () => {
      const stored = [user(1), reply(1)];
      const events = stored.map(posted);
      expect(verdictOf(stored, events, "exactly-once", [id(1)]).violations).toEqual([]);
      expect(verdictOf(stored, events).violations).toEqual([expect.stringMatching(/0 AgentRunCompleted/)]);
      // Given up before its turn stored anything: told (a SYSTEM_LOG), its question announced by its replay.
      const givenUp = [user(1), finalNotice(1)];
      expect(verdictOf(givenUp, [], "exactly-once", [id(1)]).violations).toEqual([]);
      expect(verdictOf(givenUp, []).violations).toEqual([expect.stringMatching(/USER CONVERSATION .* announced 0 times/)]);
      // Announced twice is a violation all the same.
      expect(verdictOf(givenUp, [posted(givenUp[0]!), posted(givenUp[0]!)], "exactly-once", [id(1)]).violations).toHaveLength(1);
    });
  });
});
