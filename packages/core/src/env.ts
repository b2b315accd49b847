/**
 * `@azuchi/core/env`: the one way azuchi's functions read a setting from the environment.
 * A variable that is unset (or blank) gives its default, written once at the reader's call; a
 * variable that is set to something the reader cannot take stops the function from starting,
 * with an Error naming the variable, its value and what was expected. A typo in a deployed
 * setting then fails the first invocation loudly instead of quietly running on the default.
 * No imports: the token authorizers read their settings through it too.
 */

export type Env = Readonly<Record<string, string | undefined>>;

/** Plain ASCII decimals only: no signs, exponents, hex or full-width (Japanese) digits. */
const INTEGER = /^\d+$/;
const DECIMAL = /^(\d+(\.\d*)?|\.\d+)$/;

/** The variable's text, trimmed; undefined when unset or blank. */
function textOf(env: Env, name: string): string | undefined {
  const text = env[name]?.trim();
  return text === undefined || text === "" ? undefined : text;
}

function invalid(name: string, raw: string | undefined, expected: string): Error {
  return new Error(`${name} must be ${expected}, not ${JSON.stringify(raw)}`);
}

function integerFromEnv(env: Env, name: string, fallback: number, min: 0 | 1): number {
  const text = textOf(env, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!INTEGER.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw invalid(name, env[name], min === 1 ? "a positive integer" : "a non-negative integer");
  }
  return value;
}

/** A whole number above zero (a count, a size, milliseconds). */
export function positiveIntFromEnv(name: string, fallback: number, env: Env = process.env): number {
  return integerFromEnv(env, name, fallback, 1);
}

/** A whole number, zero allowed (retries: zero means none). */
export function nonNegativeIntFromEnv(name: string, fallback: number, env: Env = process.env): number {
  return integerFromEnv(env, name, fallback, 0);
}

/** A number above zero, fractions allowed (a rate per second). */
export function positiveDecimalFromEnv(name: string, fallback: number, env: Env = process.env): number {
  const text = textOf(env, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!DECIMAL.test(text) || !Number.isFinite(value) || value <= 0) throw invalid(name, env[name], "a positive number");
  return value;
}

/** "true" or "false" (nothing else: "1", "yes" and "TRUE" are refused rather than guessed). */
export function booleanFromEnv(name: string, fallback: boolean, env: Env = process.env): boolean {
  const text = textOf(env, name);
  if (text === undefined) return fallback;
  if (text !== "true" && text !== "false") throw invalid(name, env[name], `"true" or "false"`);
  return text === "true";
}

/** Any text, as written; unset or blank gives the default. */
export function stringFromEnv(name: string, fallback: string, env: Env = process.env): string {
  return optionalStringFromEnv(name, env) ?? fallback;
}

/** Any text, as written, or undefined when unset or blank (a setting whose absence means "not configured"). */
export function optionalStringFromEnv(name: string, env: Env = process.env): string | undefined {
  return textOf(env, name) === undefined ? undefined : env[name];
}
