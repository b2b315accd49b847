import type { Language } from "@azuchi/core";

/** What azuchi itself says to the user, in the user's language. */
export const notices = {
  received: { en: "Working on your message…", ja: "メッセージを確認しています…" },
  calling: { en: (tool: string) => `Calling ${tool}…`, ja: (tool: string) => `${tool} を呼び出しています…` },
  toolDone: { en: (tool: string, outcome: string) => `${tool}: ${outcome}`, ja: (tool: string, outcome: string) => `${tool}: ${outcome}` },
  toolFailed: {
    en: (tool: string) => `${tool} failed; the agent was told.`,
    ja: (tool: string) => `${tool} が失敗しました（エージェントに伝えました）。`,
  },
  willRetry: {
    en: (attempt: number) => `The agent could not answer (attempt ${attempt}); retrying shortly…`,
    ja: (attempt: number) => `エージェントが応答できませんでした（${attempt} 回目）。まもなく再試行します…`,
  },
  gaveUp: {
    en: "The agent could not answer this message after several attempts. It has been set aside for the operators; please try again later.",
    ja: "何度か試しましたが、このメッセージに応答できませんでした。運用担当者が確認します。しばらくしてからもう一度お試しください。",
  },
} as const;

export function say<K extends keyof typeof notices>(key: K, language: Language): (typeof notices)[K]["en"] {
  return notices[key][language] as (typeof notices)[K]["en"];
}
