import { detectLanguage, type AgentJob, type Language } from "@azuchi/core/contracts";

/**
 * The language azuchi speaks to a job's user: the page's locale when it is Japanese or English
 * (the language they set their browser to read in), otherwise that of their message, since
 * the notices come in those two languages only. A job without a locale (the HTTP API without
 * one, a job queued before jobs carried it) goes by the message.
 */
export function noticeLanguage(job: Pick<AgentJob, "message" | "locale">): Language {
  const language = job.locale?.split(/[-_]/, 1)[0]?.toLowerCase();
  return language === "ja" || language === "en" ? language : detectLanguage(job.message);
}

/** What azuchi itself says to the user, in the user's language. */
export const notices = {
  received: { en: "Working on your message…", ja: "メッセージを確認しています…" },
  /** A model call held back by the shared model rate limit (model-limiter.ts). */
  waitingForModel: {
    en: (seconds: number) => `Many people are asking at once; waiting about ${seconds} s for the model…`,
    ja: (seconds: number) => `混み合っています。モデルの順番を待っています（約 ${seconds} 秒）…`,
  },
  calling: { en: (tool: string) => `Calling ${tool}…`, ja: (tool: string) => `${tool} を呼び出しています…` },
  toolDone: { en: (tool: string, outcome: string) => `${tool}: ${outcome}`, ja: (tool: string, outcome: string) => `${tool}: ${outcome}` },
  toolFailed: {
    en: (tool: string) => `${tool} failed; the agent was told.`,
    ja: (tool: string) => `${tool} が失敗しました（エージェントに伝えました）。`,
  },
  unknownTool: {
    en: (tool: string) => `The model asked for a tool azuchi does not have (${tool}); it was told so.`,
    ja: (tool: string) => `モデルが azuchi にないツール（${tool}）を呼び出そうとしました。モデルにそう伝えました。`,
  },
  /** The reply when the model was cut off before it wrote any answer (its reasoning used the budget). */
  cutOffEmpty: {
    en: "The model ran out of room before it could write an answer. Please ask again, perhaps more narrowly.",
    ja: "モデルが回答を書く前に出力の上限に達しました。質問を絞ってもう一度お試しください。",
  },
  willRetry: {
    en: (attempt: number) => `The agent could not answer (attempt ${attempt}); retrying shortly…`,
    ja: (attempt: number) => `エージェントが応答できませんでした（${attempt} 回目）。まもなく再試行します…`,
  },
  gaveUp: {
    en: "The agent could not answer this message after several attempts. It has been set aside for the operators; please try again later.",
    ja: "何度か試しましたが、このメッセージに応答できませんでした。運用担当者が確認します。しばらくしてからもう一度お試しください。",
  },
  /** A final model failure: what happened, so the user knows whether trying again can help. */
  modelFailed: {
    en: {
      quota: "The agent could not answer: its AI service account has run out of credit or quota. The operators have been told; trying again will not help until they fix it.",
      "model-not-found": "The agent could not answer: it is set up to use an AI model the service does not offer. The operators have been told.",
      "too-large": "The agent could not answer: this message (with the conversation) is too large for the AI model. Please send a shorter message.",
      "context-too-long": "The agent could not answer: this conversation has grown too long for the AI model, even shortened. Please start a new conversation.",
      rejected: "The agent could not answer: the AI service refused the request because of a setup problem. The operators have been told.",
      "too-many-steps": "The agent could not answer: the AI model kept calling tools without finishing its answer. Please try again, perhaps asking more narrowly.",
    },
    ja: {
      quota: "応答できませんでした。AI サービスのクレジットまたは利用枠が尽きています。運用担当者に伝えました。解決するまで再試行しても応答できません。",
      "model-not-found": "応答できませんでした。AI サービスが提供していないモデルを使う設定になっています。運用担当者に伝えました。",
      "too-large": "応答できませんでした。このメッセージ（会話を含む）が AI モデルには大きすぎます。短くして送ってください。",
      "context-too-long": "応答できませんでした。会話が長くなりすぎ、短くしても AI モデルが読めません。新しい会話を始めてください。",
      rejected: "応答できませんでした。設定の問題により AI サービスがリクエストを拒否しました。運用担当者に伝えました。",
      "too-many-steps": "応答できませんでした。AI モデルがツールの呼び出しを繰り返し、回答を書き終えませんでした。質問を絞ってもう一度お試しください。",
    },
  },
} as const;

export function say<K extends keyof typeof notices>(key: K, language: Language): (typeof notices)[K]["en"] {
  return notices[key][language] as (typeof notices)[K]["en"];
}
