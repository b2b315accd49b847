/**
 * What the offline model says or calls, decided from the current turn alone so that the same
 * conversation always gets the same answer. Tool calls come first, one per response, and only
 * for tools the request offers; then the text, which quotes the user's message verbatim and
 * mentions what the tools returned. A plan is kept up to date as a real agent keeps it: stated
 * with its first step in progress, updated as each step is done (before the time is looked up,
 * when there is one to look up), and marked all done before the answer.
 */
import type { Turn } from "./conversation.ts";
import { containsJapanese } from "./tokens.ts";

export const PLAN_TOOL = "update_plan";
export const TIME_TOOL = "get_current_time";

export type Reply = { kind: "function_call"; name: string; arguments: string } | { kind: "text"; text: string };

// Whole words in English, so that "explain" or "sometimes" do not trigger a tool.
const asksForPlan = /\bplan(s|ned|ning)?\b|計画|手順/i;
const asksForTime = /\btimes?\b|時刻|何時/i;

export function decideReply(turn: Turn, offeredTools: ReadonlySet<string>): Reply {
  const japanese = containsJapanese(turn.userText);
  const called = new Set(turn.calls.map((call) => call.name));
  const wantsPlan = asksForPlan.test(turn.userText) && offeredTools.has(PLAN_TOOL);
  const wantsTime = asksForTime.test(turn.userText) && offeredTools.has(TIME_TOOL);
  const plans = turn.calls.filter((call) => call.name === PLAN_TOOL);
  if (wantsPlan && plans.length === 0) return planUpdate(turn.userText, wantsTime, japanese, 0);
  if (wantsTime && !called.has(TIME_TOOL)) {
    // The first step (understanding the request) is done once the plan is stated: say so, then look.
    if (wantsPlan && plans.length === 1) return planUpdate(turn.userText, wantsTime, japanese, 1);
    return timeCall(japanese);
  }
  if (wantsPlan && !allCompleted(plans.at(-1)!.arguments)) return planUpdate(turn.userText, wantsTime, japanese, Number.POSITIVE_INFINITY);
  return { kind: "text", text: replyText(turn) };
}

/** The plan with its first `done` steps completed and the next one in progress. */
function planUpdate(request: string, withTime: boolean, japanese: boolean, done: number): Reply & { kind: "function_call" } {
  return { kind: "function_call", name: PLAN_TOOL, arguments: JSON.stringify(planArguments(request, withTime, japanese, done)) };
}

function allCompleted(args: string): boolean {
  try {
    const parsed: unknown = JSON.parse(args);
    if (typeof parsed === "object" && parsed !== null && "plan" in parsed && Array.isArray(parsed.plan)) {
      return parsed.plan.every((step: unknown) => typeof step === "object" && step !== null && "status" in step && step.status === "completed");
    }
  } catch {
    // Arguments that do not parse are no finished plan.
  }
  return false;
}

/** A question about "now" is about the user's own time zone: null leaves it to the agent, which knows it. */
export function timeCall(_japanese: boolean): Reply & { kind: "function_call" } {
  return { kind: "function_call", name: TIME_TOOL, arguments: JSON.stringify({ timezone: null }) };
}

export function planCall(request: string, withTime: boolean): Reply & { kind: "function_call" } {
  return { kind: "function_call", name: PLAN_TOOL, arguments: JSON.stringify(planArguments(request, withTime, containsJapanese(request))) };
}

/** The answer: the user's message quoted, then what each tool of the turn returned. */
export function replyText(turn: Turn): string {
  const japanese = containsJapanese(turn.userText);
  const sentences = [japanese ? `「${turn.userText}」と受け取りました。` : `You said: "${turn.userText}".`];
  // A plan updated several times is one plan: told of once, where it was first made.
  const firstPlan = turn.calls.find((call) => call.name === PLAN_TOOL);
  for (const call of turn.calls) {
    if (call.name === PLAN_TOOL) {
      if (call !== firstPlan) continue;
      const steps = planStepCount(call.arguments);
      sentences.push(japanese ? `${steps}つの手順で計画を立てました。` : `I made a plan with ${steps} steps.`);
    } else if (call.name === TIME_TOOL) {
      const time = timeFromOutput(call.output ?? "");
      sentences.push(japanese ? `現在時刻は ${time} です。` : `The current time is ${time}.`);
    } else {
      const output = shorten(call.output ?? "", 200);
      sentences.push(japanese ? `${call.name} の結果：${output}` : `${call.name} returned: ${output}`);
    }
  }
  return sentences.join(japanese ? "" : " ");
}

function planArguments(request: string, withTime: boolean, japanese: boolean, done = 0) {
  const quoted = shorten(request, 60);
  const steps = japanese
    ? [`依頼を確認する：「${quoted}」`, ...(withTime ? ["現在時刻を調べる"] : []), "回答をまとめる"]
    : [`Understand the request: "${quoted}"`, ...(withTime ? ["Look up the current time"] : []), "Write the answer"];
  return {
    explanation: japanese ? `「${quoted}」に答えるための計画です。` : `A plan for answering "${quoted}".`,
    plan: steps.map((step, index) => ({ step, status: index < done ? "completed" : index === done ? "in_progress" : "pending" })),
  };
}

function planStepCount(args: string): number {
  try {
    const parsed: unknown = JSON.parse(args);
    if (typeof parsed === "object" && parsed !== null && "plan" in parsed && Array.isArray(parsed.plan)) return parsed.plan.length;
  } catch {
    // An agent may echo arguments it altered; the count is only cosmetic.
  }
  return 0;
}

/**
 * The time tool's output is the agent's choice of format: a plain string, or JSON with a
 * field such as `time` or `currentTime`. Mention the time itself when it can be found.
 */
function timeFromOutput(output: string): string {
  try {
    const parsed: unknown = JSON.parse(output);
    if (typeof parsed === "string") return parsed;
    if (typeof parsed === "object" && parsed !== null) {
      for (const [key, value] of Object.entries(parsed)) {
        if (typeof value === "string" && /time|now|date/i.test(key) && !/zone/i.test(key)) return value;
      }
    }
  } catch {
    // Not JSON: the output is the time as text.
  }
  return shorten(output.trim(), 200);
}

/** At most `max` graphemes, so a quote never ends in half an emoji. */
function shorten(text: string, max: number): string {
  const segments = [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text)];
  if (segments.length <= max) return text;
  return `${segments
    .slice(0, max)
    .map((s) => s.segment)
    .join("")}…`;
}
