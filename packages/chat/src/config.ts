import type { Env } from "@azuchi/core/env";
import { maxMessageCharsFromEnv, userLimitsFromEnv, type UserLimits } from "@azuchi/core/redis";

/** azuchi-chat's settings, from the environment; every one has a default. */
export interface ChatConfig {
  /** AZUCHI_MAX_MESSAGE_CHARS: longest USER message, in characters (code points). Default 8,000. */
  maxMessageChars: number;
  /** The per-user limits (AZUCHI_RATE_BURST, AZUCHI_RATE_PER_SECOND, AZUCHI_MAX_CONNECTIONS_PER_USER, AZUCHI_MAX_NEW_SESSIONS_PER_HOUR), shared with the HTTP API. */
  limits: UserLimits;
}

export function chatConfigFromEnv(env: Env = process.env): ChatConfig {
  return {
    maxMessageChars: maxMessageCharsFromEnv(env),
    limits: userLimitsFromEnv(env),
  };
}
