import { z } from "zod";

export interface OfflineModelSettings {
  /** "fail" makes every POST /v1/responses answer HTTP 500, to exercise retries and the DLQ. */
  mode: "ok" | "fail";
  /** Delay before the first token of a response. */
  firstTokenMs: number;
  /** Delay between later tokens. */
  tokenMs: number;
}

export const defaultSettings: OfflineModelSettings = { mode: "ok", firstTokenMs: 20, tokenMs: 2 };

const delayMs = z.number().int().min(0).max(60_000);

const settingsPatchSchema = z.strictObject({
  mode: z.enum(["ok", "fail"]).optional(),
  firstTokenMs: delayMs.optional(),
  tokenMs: delayMs.optional(),
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
      `Invalid offline model settings (mode is "ok" or "fail"; firstTokenMs and tokenMs are integers from 0 to 60000): ${problems.join("; ")}`,
    );
  }
  const next = { ...settings };
  if (parsed.data.mode !== undefined) next.mode = parsed.data.mode;
  if (parsed.data.firstTokenMs !== undefined) next.firstTokenMs = parsed.data.firstTokenMs;
  if (parsed.data.tokenMs !== undefined) next.tokenMs = parsed.data.tokenMs;
  return next;
}
