/**
 * EventBridge event patterns: the subset azuchi's rules use, with EventBridge's
 * semantics — a field's array matches when any event value at that path matches
 * any of its entries; nested objects descend; `$or` takes alternatives.
 */
export interface EventPattern {
  [field: string]: EventPattern | PatternEntry[] | EventPattern[] | undefined;
  $or?: EventPattern[];
}

export type PatternEntry =
  | string
  | number
  | boolean
  | null
  | { prefix: string | { "equals-ignore-case": string } }
  | { suffix: string | { "equals-ignore-case": string } }
  | { "equals-ignore-case": string }
  | { "anything-but": AnythingBut }
  | { exists: boolean }
  | { numeric: (string | number)[] };

type AnythingBut = string | number | boolean | null | (string | number)[] | { prefix: string } | { suffix: string };

type Leaf = string | number | boolean | null;

export class InvalidEventPatternError extends Error {
  constructor(message: string) {
    super(`Event pattern is not valid. Reason: ${message}`);
    this.name = "InvalidEventPatternError";
  }
}

export function matchesEventPattern(pattern: EventPattern, event: object): boolean {
  return matchesObject(pattern, "", flatten(event));
}

/** Throws InvalidEventPatternError for a pattern EventBridge would refuse or this emulator does not know. */
export function validateEventPattern(pattern: EventPattern, path = ""): void {
  if (typeof pattern !== "object" || pattern === null || Array.isArray(pattern)) throw new InvalidEventPatternError(`${path || "the pattern"} must be an object`);
  for (const [field, value] of Object.entries(pattern)) {
    if (field === "$or") {
      if (!Array.isArray(value) || value.length < 2) throw new InvalidEventPatternError("$or needs at least two alternatives");
      for (const alternative of value) validateEventPattern(alternative as EventPattern, path);
    } else if (Array.isArray(value)) {
      for (const entry of value) validateEntry(entry, `${path}${field}`);
    } else if (typeof value === "object" && value !== null) {
      validateEventPattern(value, `${path}${field}.`);
    } else {
      throw new InvalidEventPatternError(`${path}${field} must be an object or an array`);
    }
  }
}

function validateEntry(entry: unknown, path: string): void {
  if (entry === null || ["string", "number", "boolean"].includes(typeof entry)) return;
  if (typeof entry !== "object" || Array.isArray(entry)) throw new InvalidEventPatternError(`${path} holds an entry that is not a value or a filter`);
  const [operator, ...rest] = Object.keys(entry);
  const known = ["prefix", "suffix", "equals-ignore-case", "anything-but", "exists", "numeric"];
  if (operator === undefined || rest.length > 0 || !known.includes(operator)) {
    throw new InvalidEventPatternError(`${path} uses an unsupported filter ${JSON.stringify(entry)}`);
  }
  if (operator === "numeric") numericTests((entry as { numeric: unknown[] }).numeric, path);
  if (operator === "exists" && typeof (entry as { exists: unknown }).exists !== "boolean") throw new InvalidEventPatternError(`${path}: exists takes true or false`);
}

/** Every leaf value of the event by dotted path; arrays contribute each element to the same path. */
function flatten(value: unknown, path = "", into = new Map<string, Leaf[]>()): Map<string, Leaf[]> {
  if (Array.isArray(value)) {
    for (const element of value) flatten(element, path, into);
  } else if (typeof value === "object" && value !== null) {
    for (const [key, child] of Object.entries(value)) flatten(child, path === "" ? key : `${path}.${key}`, into);
  } else if (path !== "" && value !== undefined) {
    const leaves = into.get(path) ?? [];
    leaves.push(value as Leaf);
    into.set(path, leaves);
  }
  return into;
}

function matchesObject(pattern: EventPattern, prefix: string, event: Map<string, Leaf[]>): boolean {
  for (const [field, value] of Object.entries(pattern)) {
    if (value === undefined) continue;
    if (field === "$or") {
      if (!(value as EventPattern[]).some((alternative) => matchesObject(alternative, prefix, event))) return false;
    } else if (Array.isArray(value)) {
      if (!matchesField(value as PatternEntry[], event.get(`${prefix}${field}`) ?? [])) return false;
    } else if (!matchesObject(value, `${prefix}${field}.`, event)) {
      return false;
    }
  }
  return true;
}

function matchesField(entries: PatternEntry[], values: Leaf[]): boolean {
  // A missing field matches only `exists: false`; every other filter needs a value.
  if (values.length === 0) return entries.some((entry) => isFilter(entry, "exists") && entry.exists === false);
  return entries.some((entry) => values.some((value) => matchesEntry(entry, value)));
}

function matchesEntry(entry: PatternEntry, value: Leaf): boolean {
  if (entry === null || typeof entry !== "object") return entry === value;
  if (isFilter(entry, "exists")) return entry.exists;
  if (isFilter(entry, "prefix")) return matchesText(entry.prefix, value, (v, p) => v.startsWith(p));
  if (isFilter(entry, "suffix")) return matchesText(entry.suffix, value, (v, s) => v.endsWith(s));
  if (isFilter(entry, "equals-ignore-case")) return typeof value === "string" && value.toLowerCase() === entry["equals-ignore-case"].toLowerCase();
  if (isFilter(entry, "numeric")) return typeof value === "number" && numericTests(entry.numeric, "numeric").every((test) => test(value));
  if (isFilter(entry, "anything-but")) return !matchesAnyOf(entry["anything-but"], value);
  return false;
}

function matchesText(operand: string | { "equals-ignore-case": string }, value: Leaf, test: (value: string, operand: string) => boolean): boolean {
  if (typeof value !== "string") return false;
  if (typeof operand === "string") return test(value, operand);
  return test(value.toLowerCase(), operand["equals-ignore-case"].toLowerCase());
}

/** What `anything-but` excludes: one value, a list of values, or a prefix or suffix. */
function matchesAnyOf(excluded: AnythingBut, value: Leaf): boolean {
  if (Array.isArray(excluded)) return excluded.some((item) => item === value);
  if (excluded !== null && typeof excluded === "object") {
    if ("prefix" in excluded) return typeof value === "string" && value.startsWith(excluded.prefix);
    return typeof value === "string" && value.endsWith(excluded.suffix);
  }
  return excluded === value;
}

const COMPARISONS: Record<string, (value: number, bound: number) => boolean> = {
  "=": (v, b) => v === b,
  "<": (v, b) => v < b,
  "<=": (v, b) => v <= b,
  ">": (v, b) => v > b,
  ">=": (v, b) => v >= b,
};

/** `[">", 0, "<=", 5]`: operator and bound pairs, all of which must hold. */
function numericTests(spec: unknown[], path: string): ((value: number) => boolean)[] {
  if (!Array.isArray(spec) || spec.length === 0 || spec.length % 2 !== 0) throw new InvalidEventPatternError(`${path}: numeric takes operator and number pairs`);
  const tests: ((value: number) => boolean)[] = [];
  for (let i = 0; i < spec.length; i += 2) {
    const compare = COMPARISONS[String(spec[i])];
    const bound = spec[i + 1];
    if (compare === undefined || typeof bound !== "number") throw new InvalidEventPatternError(`${path}: numeric takes operator and number pairs`);
    tests.push((value) => compare(value, bound));
  }
  return tests;
}

function isFilter<K extends string>(entry: PatternEntry, key: K): entry is Extract<PatternEntry, Record<K, unknown>> {
  return typeof entry === "object" && entry !== null && key in entry;
}
