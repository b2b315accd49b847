import { invalidParameterValue, missingParameter } from "./errors.ts";
import type { WireMessageAttributes } from "./message-attributes.ts";

/** A request body of the JSON protocol: an object of named parameters. */
export type Input = Record<string, unknown>;

export function requiredString(input: Input, name: string): string {
  const value = input[name];
  if (value === undefined || value === null) throw missingParameter(name);
  if (typeof value !== "string") throw invalidParameterValue(`Value for parameter ${name} must be a string.`);
  return value;
}

export function optionalString(input: Input, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidParameterValue(`Value for parameter ${name} must be a string.`);
  return value;
}

export function optionalInteger(input: Input, name: string, min: number, max: number): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalidParameterValue(`Value ${String(value)} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}.`);
  }
  return value;
}

export function requiredInteger(input: Input, name: string, min: number, max: number): number {
  const value = optionalInteger(input, name, min, max);
  if (value === undefined) throw missingParameter(name);
  return value;
}

export function stringList(input: Input, name: string): string[] {
  const value = input[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw invalidParameterValue(`Value for parameter ${name} must be a list of strings.`);
  }
  return value;
}

export function stringMap(input: Input, name: string): Record<string, string> {
  const value = input[name];
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value) || !Object.values(value).every((item) => typeof item === "string")) {
    throw invalidParameterValue(`Value for parameter ${name} must be a map of strings.`);
  }
  return value as Record<string, string>;
}

export function messageAttributeMap(input: Input, name: string): WireMessageAttributes {
  const value = input[name];
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw invalidParameterValue(`Value for parameter ${name} must be a map.`);
  const attributes: WireMessageAttributes = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const attribute = item as Record<string, unknown> | null;
    if (attribute === null || typeof attribute !== "object" || typeof attribute.DataType !== "string") {
      throw invalidParameterValue(`The message attribute '${key}' must contain a DataType.`);
    }
    attributes[key] = {
      DataType: attribute.DataType,
      ...(typeof attribute.StringValue === "string" ? { StringValue: attribute.StringValue } : {}),
      ...(typeof attribute.BinaryValue === "string" ? { BinaryValue: attribute.BinaryValue } : {}),
    };
  }
  return attributes;
}

/** Batch entries: a list of objects, each with an Id. */
export function entryList(input: Input, name: string): Input[] {
  const value = input[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => item !== null && typeof item === "object" && !Array.isArray(item))) {
    throw invalidParameterValue(`Value for parameter ${name} must be a list of entries.`);
  }
  return value as Input[];
}
