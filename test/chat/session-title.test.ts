import { describe, expect, it } from "vitest";
import { MAX_TITLE_CHARS, titleFromMessage } from "../../packages/chat/src/session-title.ts";

const graphemes = (text: string) => [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text)].length;

describe("a session's title, from its first message", () => {
  it("is the message itself when it is one short line", () => {
    expect(titleFromMessage("How do I bake bread?")).toBe("How do I bake bread?");
    expect(titleFromMessage("今日の天気は？")).toBe("今日の天気は？");
  });

  it("is the first line that has text, with its white space tidied", () => {
    expect(titleFromMessage("\n  \r\n  Plan my   trip\tto Kyoto  \nwith details")).toBe("Plan my trip to Kyoto");
    expect(titleFromMessage("\u3000京都\u3000旅行の\u3000計画\u3000")).toBe("京都 旅行の 計画");
  });

  it("is cut to 60 characters, the last one an ellipsis", () => {
    const title = titleFromMessage("word ".repeat(40));
    expect(graphemes(title)).toBe(MAX_TITLE_CHARS);
    expect(title).toBe(`${"word ".repeat(12).trim()}…`);
    expect(titleFromMessage("あ".repeat(61))).toBe(`${"あ".repeat(59)}…`);
    expect(titleFromMessage("あ".repeat(60))).toBe("あ".repeat(60));
  });

  it("never cuts an emoji, a flag or a combining mark in half", () => {
    const family = "👨‍👩‍👧‍👦";
    for (const unit of [family, "🇯🇵", "👍🏽", "か\u3099", "e\u0301"]) {
      const title = titleFromMessage(unit.repeat(70));
      expect(title).toBe(`${unit.repeat(59)}…`);
      expect(title.isWellFormed()).toBe(true);
    }
    // Cut just after a family emoji: it stays whole.
    expect(titleFromMessage(`${"x".repeat(58)}${family}yyy`)).toBe(`${"x".repeat(58)}${family}…`);
  });

  it("is empty for a message of white space only", () => {
    expect(titleFromMessage(" \n\t\n ")).toBe("");
  });
});
