import { createHash } from "node:crypto";
import { invalidParameterValue } from "./errors.ts";

/** A message attribute as the JSON protocol carries it (binary values in base64). */
export interface WireMessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
  StringListValues?: string[];
  BinaryListValues?: string[];
}

export type WireMessageAttributes = Record<string, WireMessageAttribute>;

const maxAttributes = 10;
const attributeNamePattern = /^[\p{L}\p{N}_.-]{1,256}$/u;
const numberPattern = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function md5Hex(data: string | Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}

export function sha256Hex(data: string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** SQS allows only these characters in bodies and string attribute values. */
export function hasOnlyValidCharacters(text: string): boolean {
  return !/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(text);
}

/**
 * Checks attributes the way SendMessage does: at most 10, names SQS accepts, a known base type
 * and the value field that type needs.
 */
export function validateMessageAttributes(attributes: WireMessageAttributes): void {
  const kind = "message attribute";
  const names = Object.keys(attributes);
  if (names.length > maxAttributes) {
    throw invalidParameterValue(`Number of message attributes [${names.length}] exceeds the allowed maximum [${maxAttributes}].`);
  }
  for (const name of names) {
    const attribute = attributes[name]!;
    if (!attributeNamePattern.test(name) || name.startsWith(".") || name.endsWith(".") || name.includes("..")) {
      throw invalidParameterValue(`The ${kind} name '${name}' is invalid.`);
    }
    if (/^(aws|amazon)\./i.test(name)) {
      throw invalidParameterValue(`The ${kind} name '${name}' uses a reserved prefix.`);
    }
    const baseType = baseTypeOf(attribute.DataType);
    if (baseType === undefined) {
      throw invalidParameterValue(`The type of ${kind} '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`);
    }
    if (baseType === "Binary") {
      if (attribute.BinaryValue === undefined) {
        throw invalidParameterValue(`The ${kind} '${name}' with type 'Binary' must use field 'Binary'.`);
      }
      continue;
    }
    const value = attribute.StringValue;
    if (value === undefined || value === "") {
      throw invalidParameterValue(`The ${kind} '${name}' must contain a non-empty value of type '${baseType}'.`);
    }
    if (baseType === "Number" && !numberPattern.test(value)) {
      throw invalidParameterValue(`Can't cast the value of ${kind} '${name}' to a number.`);
    }
    if (!hasOnlyValidCharacters(value)) {
      throw invalidParameterValue(`The ${kind} '${name}' contains invalid characters.`);
    }
  }
}

function baseTypeOf(dataType: string | undefined): "String" | "Number" | "Binary" | undefined {
  if (typeof dataType !== "string") return undefined;
  const base = dataType.split(".", 1)[0];
  return base === "String" || base === "Number" || base === "Binary" ? base : undefined;
}

/** Bytes the attributes take towards the message size limit: names, types and values. */
export function attributesSize(attributes: WireMessageAttributes): number {
  let size = 0;
  for (const [name, attribute] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(attribute.DataType);
    if (attribute.StringValue !== undefined) size += Buffer.byteLength(attribute.StringValue);
    if (attribute.BinaryValue !== undefined) size += Buffer.from(attribute.BinaryValue, "base64").length;
  }
  return size;
}

/**
 * MD5OfMessageAttributes as SQS computes it: for each attribute in order of name, the
 * length-prefixed (4-byte big endian) name, the length-prefixed data type, a transport byte
 * (1 for string values, 2 for binary) and the length-prefixed value; then MD5 of it all.
 * Undefined for no attributes, as SQS omits the field then.
 */
export function md5OfMessageAttributes(attributes: WireMessageAttributes): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const pushWithLength = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of names) {
    const attribute = attributes[name]!;
    pushWithLength(Buffer.from(name, "utf8"));
    pushWithLength(Buffer.from(attribute.DataType, "utf8"));
    if (attribute.BinaryValue !== undefined && baseTypeOf(attribute.DataType) === "Binary") {
      parts.push(Buffer.from([2]));
      pushWithLength(Buffer.from(attribute.BinaryValue, "base64"));
    } else {
      parts.push(Buffer.from([1]));
      pushWithLength(Buffer.from(attribute.StringValue ?? "", "utf8"));
    }
  }
  return md5Hex(Buffer.concat(parts));
}

/**
 * The attributes a receive asked for: `All` or `.*` for every one, `prefix.*` for a prefix,
 * otherwise exact names.
 */
export function selectMessageAttributes(attributes: WireMessageAttributes, requested: readonly string[]): WireMessageAttributes {
  if (requested.length === 0) return {};
  const wantsAll = requested.some((name) => name === "All" || name === ".*");
  const selected: WireMessageAttributes = {};
  for (const [name, attribute] of Object.entries(attributes)) {
    const wanted = wantsAll || requested.some((pattern) =>
      pattern.endsWith(".*") ? name.startsWith(pattern.slice(0, -1)) : pattern === name);
    if (wanted) selected[name] = attribute;
  }
  return selected;
}
