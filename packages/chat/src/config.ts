import { MAX_MESSAGE_CHARS } from "@azuchi/core";

/** azuchi-chat's settings, from the environment; every one has a default. */
export interface ChatConfig {
  /** AZUCHI_MAX_MESSAGE_CHARS: longest USER message, in characters (code points). Default 8,000. */
  maxMessageChars: number;
  /** AZUCHI_CHAT_RATE_BURST: putMessage frames a connection may send at once. Default 10. */
  rateBurst: number;
  /** AZUCHI_CHAT_RATE_PER_SECOND: putMessage frames per second a connection may keep sending. Default 1. */
  ratePerSecond: number;
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, integer: boolean): number {
  const text = env[name];
  if (text === undefined || text.trim() === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a positive ${integer ? "integer" : "number"}, not ${JSON.stringify(text)}`);
  }
  return value;
}

export function chatConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ChatConfig {
  return {
    maxMessageChars: positiveNumber(env, "AZUCHI_MAX_MESSAGE_CHARS", MAX_MESSAGE_CHARS, true),
    rateBurst: positiveNumber(env, "AZUCHI_CHAT_RATE_BURST", 10, true),
    ratePerSecond: positiveNumber(env, "AZUCHI_CHAT_RATE_PER_SECOND", 1, false),
  };
}
