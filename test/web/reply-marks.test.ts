import { describe, expect, it } from "vitest";
import { replyMarks } from "../../packages/web/src/ui/reply-marks.ts";

describe("reply marks: what a stored reply's badge says", () => {
  it("shows a reply the model cut off as cut off", () => {
    expect(replyMarks({ payload: { incomplete: "max_output_tokens" } }).map((m) => m.label)).toEqual(["Cut off"]);
  });
  it("shows a refusal as declined, and a stopped reply as stopped", () => {
    expect(replyMarks({ payload: { refusal: true } }).map((m) => m.label)).toEqual(["Declined"]);
    expect(replyMarks({ stopped: true }).map((m) => m.label)).toEqual(["Stopped"]);
  });
  it("marks a whole answer with nothing", () => {
    expect(replyMarks({})).toEqual([]);
    expect(replyMarks({ payload: { plan: [] } })).toEqual([]);
  });
});
