import { describe, expect, it } from "vitest";
import { noticeLanguage, say } from "../../packages/agent/src/notices.ts";

describe("the language of azuchi's own notices", () => {
  it("follows the page's locale when it is Japanese or English, whatever the message is written in", () => {
    expect(noticeLanguage({ message: "今日は何をしようか", locale: "en-US" })).toBe("en");
    expect(noticeLanguage({ message: "What shall we do today?", locale: "ja-JP" })).toBe("ja");
    expect(noticeLanguage({ message: "What shall we do today?", locale: "ja" })).toBe("ja");
    expect(noticeLanguage({ message: "今日は", locale: "EN_gb" })).toBe("en");
  });

  it("follows the message when the locale is another language, or missing", () => {
    expect(noticeLanguage({ message: "今日は何をしようか", locale: "fr-FR" })).toBe("ja");
    expect(noticeLanguage({ message: "Qu'est-ce qu'on fait ?", locale: "fr-FR" })).toBe("en");
    expect(noticeLanguage({ message: "今日は何をしようか" })).toBe("ja");
    expect(noticeLanguage({ message: "hello" })).toBe("en");
    // "jav" (Javanese) is not Japanese: only the language subtag counts, whole.
    expect(noticeLanguage({ message: "hello", locale: "jav" })).toBe("en");
  });

  it("says the same notice in the language chosen", () => {
    expect(say("received", noticeLanguage({ message: "今日は", locale: "en-US" }))).toBe("Working on your message…");
    expect(say("willRetry", noticeLanguage({ message: "hello", locale: "ja-JP" }))(1)).toBe("エージェントが応答できませんでした（1 回目）。まもなく再試行します…");
  });
});
