import { describe, expect, it } from "vitest";
import { openChat, say, useChatBrowser } from "./browser.ts";

const env = useChatBrowser();

describe("a plan the agent did not finish marking", () => {
  it("shows its last state honestly once the turn has ended: a step left in progress is 'not finished', not work going on", async () => {
    const tab = await openChat(env.browser, env.stack.url, "sachi");
    // The parallel-tool-calls case: the plan and the time in one response, then the answer,
    // with the plan never updated after it was stated.
    await say(tab, "Plan my evening and tell me the time [[parallel-tool-calls]]");
    const answer = tab.conversation.locator('.bubble[data-role="AGENT"][data-type="CONVERSATION"]');
    await answer.waitFor({ timeout: 10_000 });
    const plan = tab.conversation.getByRole("group", { name: "Plan" });
    const steps = plan.getByRole("listitem");
    await expect.poll(() => steps.evaluateAll((items) => items.map((item) => item.getAttribute("data-status")))).toEqual(["unfinished", "pending", "pending"]);
    await expect(steps.first().innerText()).resolves.toContain("(not finished)");
    await expect(plan.locator(".plan-progress").innerText()).resolves.toBe("0/3 done");
    await expect(tab.conversation.locator("details.activity summary .activity-last").innerText()).resolves.toMatch(/^\d+ steps? · \d+(\.\d)? s$/);
    await tab.context.close();
  });
});
