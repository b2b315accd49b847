import * as z from "zod";
import { SCENARIOS, type Scenario } from "./scenarios.ts";

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
   * How many more requests the mode (or scenario) applies to before the model heals back to
   * "ok" by itself; null: until changed. Lets a fault drill fail the next N requests and then
   * see the recovery.
   */
  faultRequests: number | null;
  /** A case of the Responses API every reply takes (scenarios.ts); null: plain replies. */
  scenario: Scenario | null;
  /**
   * The context window in the offline tokeniser's tokens (instructions plus the whole chained
   * conversation): a request over it is refused with context_length_exceeded, unless it asks
   * for truncation "auto". null: no limit.
   */
  contextTokens: number | null;
  /** The model names it answers to; a trailing `*` matches any suffix. Others get model_not_found (404). */
  models: string[];
}

/** OpenAI's current families, by prefix (dated snapshots and -mini/-nano variants), and "offline" for tests. */
export const DEFAULT_MODELS = ["offline", "gpt-4.1*", "gpt-4o*", "gpt-5*", "o1*", "o3*", "o4-mini*"];

export const defaultSettings: OfflineModelSettings = {
  mode: "ok",
  firstTokenMs: 20,
  tokenMs: 2,
  retryAfterSeconds: 1,
  faultRequests: null,
  scenario: null,
  contextTokens: null,
  models: DEFAULT_MODELS,
};

const delayMs = z.number().int().min(0).max(60_000);

const settingsPatchSchema = z.strictObject({
  mode: ModelMode.optional(),
  firstTokenMs: delayMs.optional(),
  tokenMs: delayMs.optional(),
  retryAfterSeconds: z.number().int().min(0).max(3_600).optional(),
  faultRequests: z.number().int().min(1).max(1_000_000).nullable().optional(),
  scenario: z.enum(SCENARIOS).nullable().optional(),
  contextTokens: z.number().int().min(1).max(10_000_000).nullable().optional(),
  models: z.array(z.string().regex(/^[A-Za-z0-9._:/-]+\*?$/, "a model name, optionally ending in *")).min(1).max(100).optional(),
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
        `retryAfterSeconds an integer from 0 to 3600; faultRequests a positive integer or null; scenario null or one of ${SCENARIOS.join(", ")}; ` +
        `contextTokens a positive integer or null; models a list of model names, each may end in *): ${problems.join("; ")}`,
    );
  }
  const next = { ...settings };
  for (const [field, value] of Object.entries(parsed.data)) if (value !== undefined) Object.assign(next, { [field]: value });
  // A count only means something for a fault or a scenario; with neither it is cleared.
  if (next.mode === "ok" && next.scenario === null) next.faultRequests = null;
  return next;
}

/**
 * The mode and scenario this request gets, and the settings after it: a counted fault is used
 * up one request at a time, and the model is "ok" with plain replies again once it is spent.
 */
export function takeRequest(settings: OfflineModelSettings): { mode: ModelMode; scenario: Scenario | null; next: OfflineModelSettings } {
  const taken = { mode: settings.mode, scenario: settings.scenario };
  if ((settings.mode === "ok" && settings.scenario === null) || settings.faultRequests === null) return { ...taken, next: settings };
  const left = settings.faultRequests - 1;
  return { ...taken, next: left > 0 ? { ...settings, faultRequests: left } : { ...settings, mode: "ok", scenario: null, faultRequests: null } };
}

/** Whether the model answers to `name`: listed exactly, or by a listed prefix ending in `*`. */
export function knowsModel(models: readonly string[], name: string): boolean {
  return models.some((pattern) => (pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern));
}

/**
 * Initial settings that also answer to `configured` (the stack's AZUCHI_OPENAI_MODEL), so a
 * local stack pointed at any model name still gets replies rather than model_not_found.
 */
export function acceptingModel(settings: Partial<OfflineModelSettings> | undefined, configured: string | undefined): Partial<OfflineModelSettings> {
  const models = settings?.models ?? DEFAULT_MODELS;
  if (configured === undefined || configured === "" || knowsModel(models, configured)) return { ...settings };
  return { ...settings, models: [...models, configured] };
}
