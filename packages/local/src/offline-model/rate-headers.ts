/**
 * The `x-ratelimit-*` headers OpenAI sends on every response: the organisation's limits per
 * minute, what remains of them, and how long until they are whole again (OpenAI's duration
 * format: `6m0s`, `1s`, `300ms`). The offline model keeps the tokens and requests of the last
 * minute, as OpenAI's limits replenish continuously over one.
 */
export const OFFLINE_LIMITS = { requestsPerMinute: 5_000, tokensPerMinute: 2_000_000 } as const;

const MINUTE_MS = 60_000;

export class RateWindow {
  private readonly spent: { at: number; tokens: number }[] = [];

  /** Counts one request of `tokens` and answers the headers of its response. */
  charge(tokens: number, now = Date.now()): Record<string, string> {
    while (this.spent.length > 0 && this.spent[0]!.at <= now - MINUTE_MS) this.spent.shift();
    this.spent.push({ at: now, tokens });
    const usedTokens = this.spent.reduce((sum, entry) => sum + entry.tokens, 0);
    const remainingRequests = Math.max(0, OFFLINE_LIMITS.requestsPerMinute - this.spent.length);
    const remainingTokens = Math.max(0, OFFLINE_LIMITS.tokensPerMinute - usedTokens);
    return {
      "x-ratelimit-limit-requests": String(OFFLINE_LIMITS.requestsPerMinute),
      "x-ratelimit-limit-tokens": String(OFFLINE_LIMITS.tokensPerMinute),
      "x-ratelimit-remaining-requests": String(remainingRequests),
      "x-ratelimit-remaining-tokens": String(remainingTokens),
      "x-ratelimit-reset-requests": duration((this.spent.length / OFFLINE_LIMITS.requestsPerMinute) * MINUTE_MS),
      "x-ratelimit-reset-tokens": duration((Math.min(usedTokens, OFFLINE_LIMITS.tokensPerMinute) / OFFLINE_LIMITS.tokensPerMinute) * MINUTE_MS),
    };
  }
}

/** OpenAI's duration format: `1m30s`, `6s`, `250ms`. */
export function duration(ms: number): string {
  const rounded = Math.ceil(ms);
  if (rounded < 1_000) return `${rounded}ms`;
  const minutes = Math.floor(rounded / MINUTE_MS);
  const seconds = Math.round((rounded % MINUTE_MS) / 100) / 10;
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}
