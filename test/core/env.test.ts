import { describe, expect, it } from "vitest";
import {
  booleanFromEnv,
  nonNegativeIntFromEnv,
  optionalStringFromEnv,
  positiveDecimalFromEnv,
  positiveIntFromEnv,
  stringFromEnv,
} from "@azuchi/core/env";

const NAME = "AZUCHI_SOMETHING";
const env = (value: string | undefined) => ({ [NAME]: value });

describe("core's environment readers", () => {
  it("give the default for an unset, empty or blank variable", () => {
    for (const unset of [{}, env(undefined), env(""), env("   "), env("\t\n")]) {
      expect(positiveIntFromEnv(NAME, 7, unset)).toBe(7);
      expect(nonNegativeIntFromEnv(NAME, 7, unset)).toBe(7);
      expect(positiveDecimalFromEnv(NAME, 0.5, unset)).toBe(0.5);
      expect(booleanFromEnv(NAME, true, unset)).toBe(true);
      expect(stringFromEnv(NAME, "default", unset)).toBe("default");
      expect(optionalStringFromEnv(NAME, unset)).toBeUndefined();
    }
  });

  it("read a well-formed value, around whitespace", () => {
    expect(positiveIntFromEnv(NAME, 7, env("120000"))).toBe(120_000);
    expect(positiveIntFromEnv(NAME, 7, env(" 42 "))).toBe(42);
    expect(nonNegativeIntFromEnv(NAME, 7, env("0"))).toBe(0);
    expect(positiveDecimalFromEnv(NAME, 1, env("0.25"))).toBe(0.25);
    expect(positiveDecimalFromEnv(NAME, 1, env("3"))).toBe(3);
    expect(booleanFromEnv(NAME, true, env("false"))).toBe(false);
    expect(booleanFromEnv(NAME, false, env(" true"))).toBe(true);
  });

  it("keep a string as written", () => {
    expect(stringFromEnv(NAME, "default", env(" Be brief. "))).toBe(" Be brief. ");
    expect(optionalStringFromEnv(NAME, env("https://issuer.example/"))).toBe("https://issuer.example/");
  });

  it.each([
    ["a word", "many"],
    ["zero", "0"],
    ["a negative", "-1"],
    ["a fraction", "2.5"],
    ["an exponent", "1e3"],
    ["hex", "0x10"],
    ["a sign", "+5"],
    ["full-width (Japanese) digits", "１２"],
    ["kanji numerals", "十二"],
    ["a unit", "500ms"],
    ["digits with a separator", "8_000"],
    ["Infinity", "Infinity"],
    ["beyond a safe integer", "9007199254740993"],
  ])("refuse %s as a positive integer, naming the variable, the value and what was expected", (_, value) => {
    expect(() => positiveIntFromEnv(NAME, 7, env(value))).toThrow(`${NAME} must be a positive integer, not ${JSON.stringify(value)}`);
  });

  it("refuse a negative or fractional count where zero is allowed", () => {
    expect(() => nonNegativeIntFromEnv(NAME, 2, env("-1"))).toThrow(`${NAME} must be a non-negative integer, not "-1"`);
    expect(() => nonNegativeIntFromEnv(NAME, 2, env("0.5"))).toThrow(/non-negative integer/);
    expect(() => nonNegativeIntFromEnv(NAME, 2, env("０"))).toThrow(/non-negative integer/);
  });

  it("refuse a positive number that is not one", () => {
    for (const value of ["0", "0.0", "-0.5", "NaN", "Infinity", "1e-3", "０.５", "half"]) {
      expect(() => positiveDecimalFromEnv(NAME, 1, env(value)), value).toThrow(`${NAME} must be a positive number, not ${JSON.stringify(value)}`);
    }
  });

  it("refuse a boolean other than true or false rather than guess", () => {
    for (const value of ["1", "0", "yes", "TRUE", "False", "on"]) {
      expect(() => booleanFromEnv(NAME, false, env(value)), value).toThrow(`${NAME} must be "true" or "false", not ${JSON.stringify(value)}`);
    }
  });

  it("read process.env when given no environment", () => {
    process.env[NAME] = "9";
    try {
      expect(positiveIntFromEnv(NAME, 7)).toBe(9);
    } finally {
      delete process.env[NAME];
    }
  });
});
