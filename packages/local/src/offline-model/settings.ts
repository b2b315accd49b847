import { z } from "zod";

/**
 * How the model answers POST /v1/responses:
 * - "ok": a reply;
 * - "fail": HTTP 500, to exercise retries and the DLQ;
 * - "rate-limit": HTTP 429 with Retry-After and x-ratelimit-* headers, as OpenAI sends when a
 *   key's quota is spent;
 * - "hang": accepts the request and never sends a byte, until the client gives up (its timeout).
 */
export const ModelMode = z.enum(["ok", "fail", "rate-limit", "hang"]);
export type ModelMode = z.infer<typeof ModelMode>;

export interface OfflineModelSettings {
  mode: ModelMode;
  /** Delay before the first token of a response. */
  firstTokenMs: number;
  /** Delay between later tokens. */
  tokenMs: number;
  /** "rate-limit": the seconds its 429s tell the client to wait (Retry-After). */
  retryAfterSeconds: number;
  /**
   * How many more requests the mode applies to before the model heals back to "ok" by itself;
   * null: until changed. Lets a fault drill fail the next N requests and then see the recovery.
   */
  faultRequests: number | null;
}

export const defaultSettings: OfflineModelSettings = { mode: "ok", firstTokenMs: 20, tokenMs: 2, retryAfterSeconds: 1, faultRequests: null };

const delayMs = z.number().int().min(0).max(60_000);

const settingsPatchSchema = z.strictObject({
  mode: ModelMode.optional(),
  firstTokenMs: delayMs.optional(),
  tokenMs: delayMs.optional(),
  retryAfterSeconds: z.number().int().min(0).max(3_600).optional(),
  faultRequests: z.number().int().min(1).max(1_000_000).nullable().optional(),
});

export class InvalidOfflineModelSettingsError extends Error {
  override name = "InvalidOfflineModelSettingsError";
}

/** The settings with the fields of `patch` applied; throws on an unknown field or a bad value. */
export function applySettingsPatch(settings: OfflineModelSettings, patch: unknown): OfflineModelSettings {
  const parsed = settingsPatchSchema.safeParse(patch);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = issue.path.join(".");
      return field === "" ? issue.message : `${field}: ${issue.message}`;
    });
    throw new InvalidOfflineModelSettingsError(
      `Invalid offline model settings (mode is "ok", "fail", "rate-limit" or "hang"; firstTokenMs and tokenMs are integers from 0 to 60000; ` +
        `retryAfterSeconds an integer from 0 to 3600; faultRequests a positive integer or null): ${problems.join("; ")}`,
    );
  }
  const next = { ...settings };
  if (parsed.data.mode !== undefined) next.mode = parsed.data.mode;
  if (parsed.data.firstTokenMs !== undefined) next.firstTokenMs = parsed.data.firstTokenMs;
  if (parsed.data.tokenMs !== undefined) next.tokenMs = parsed.data.tokenMs;
  if (parsed.data.retryAfterSeconds !== undefined) next.retryAfterSeconds = parsed.data.retryAfterSeconds;
  if (parsed.data.faultRequests !== undefined) next.faultRequests = parsed.data.faultRequests;
  // A count only means something for a fault; setting "ok" clears it.
  if (next.mode === "ok") next.faultRequests = null;
  return next;
}

/**
 * The mode this request gets, and the settings after it: a counted fault is used up one request
 * at a time, and the model is "ok" again once it is spent.
 */
export function takeRequest(settings: OfflineModelSettings): { mode: ModelMode; next: OfflineModelSettings } {
  if (settings.mode === "ok" || settings.faultRequests === null) return { mode: settings.mode, next: settings };
  const left = settings.faultRequests - 1;
  return { mode: settings.mode, next: left > 0 ? { ...settings, faultRequests: left } : { ...settings, mode: "ok", faultRequests: null } };
}
