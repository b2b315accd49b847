/**
 * dynalite parses the condition and update expressions of every request with PEG parsers, a
 * quarter of its thread's CPU at 80 turns/s, though an application sends the same few
 * expressions again and again with other values. This keeps each parse by what it depends on:
 * the expression, the attribute names it resolves, the type of each attribute value (its
 * checks look at types, not at values) and which values there are. A repeated expression gets
 * a copy of the kept tree with the request's own values in it, and the names and values it uses
 * are marked used in the request's context as a parse marks them, so dynalite's "unused in
 * expressions" check is unchanged. Not kept: expressions whose checks read values (BETWEEN
 * compares its bounds, attribute_type reads its type name) and every parse that failed, so
 * their errors are dynalite's own. dynalite's answers stay what they were; only its CPU changes.
 */
import { createRequire } from "node:module";

type Values = Record<string, unknown>;
interface ParseContext {
  attrNames?: Record<string, string>;
  attrVals?: Values;
  unusedAttrNames?: Record<string, boolean>;
  unusedAttrVals?: Record<string, boolean>;
  isKeyCondition?: boolean;
}
type Parse = (expression: string, options: { context: ParseContext }) => unknown;
interface Parser {
  parse: Parse;
}

/** What a kept parse needs to be given again: its tree with the values taken out, the names and values it used. */
interface Kept {
  tree: unknown;
  names: string[];
  values: string[];
}

const TYPES = ["S", "N", "B", "NULL", "BOOL", "SS", "NS", "BS", "L", "M"];
const READS_VALUES = /between|attribute_type/i;
/** Parses kept per parser; emptied when full (an application has a few dozen). */
const MAX_KEPT = 1_000;
/** Where a request's value goes in a kept tree. */
class Slot {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

function typeOf(value: unknown): string {
  if (typeof value !== "object" || value === null) return "?";
  return TYPES.find((type) => (value as Record<string, unknown>)[type] != null) ?? "?";
}

/** A copy of the tree, each node in `replace` swapped for what it maps to (arrays and objects copied, with their prototypes). */
function copy(node: unknown, replace: (node: object) => unknown): unknown {
  if (typeof node !== "object" || node === null) return node;
  const swapped = replace(node);
  if (swapped !== undefined) return swapped;
  if (Array.isArray(node)) return node.map((child) => copy(child, replace));
  const out = Object.create(Object.getPrototypeOf(node) as object | null) as Record<string, unknown>;
  for (const [key, child] of Object.entries(node)) out[key] = copy(child, replace);
  return out;
}

function keeping(parse: Parse): Parse {
  const kept = new Map<string, Kept>();
  return (expression, options) => {
    const context = options.context;
    if (READS_VALUES.test(expression)) return parse(expression, options);
    const values = context.attrVals ?? {};
    const key = JSON.stringify([
      expression,
      context.isKeyCondition === true,
      context.attrNames ?? null,
      Object.keys(values)
        .sort()
        .map((name) => [name, typeOf(values[name])]),
    ]);
    let entry = kept.get(key);
    if (entry === undefined) {
      // Parsed against every name and value as unused, so what it uses is known whatever the
      // request's other expressions used before it.
      const names = Object.fromEntries(Object.keys(context.attrNames ?? {}).map((name) => [name, true]));
      const vals = Object.fromEntries(Object.keys(values).map((name) => [name, true]));
      const tree = parse(expression, { context: { ...context, unusedAttrNames: names, unusedAttrVals: vals } });
      // An error (a message, or a thrown SyntaxError above) is dynalite's to give, every time.
      if (typeof tree !== "object" || tree === null) return parse(expression, options);
      const slots = new Map<unknown, Slot>(Object.entries(values).map(([name, value]) => [value, new Slot(name)]));
      entry = {
        tree: copy(tree, (node) => slots.get(node)),
        names: Object.keys(context.attrNames ?? {}).filter((name) => !(name in names)),
        values: Object.keys(values).filter((name) => !(name in vals)),
      };
      if (kept.size >= MAX_KEPT) kept.clear();
      kept.set(key, entry);
    }
    for (const name of entry.names) delete context.unusedAttrNames?.[name];
    for (const name of entry.values) delete context.unusedAttrVals?.[name];
    return copy(entry.tree, (node) => (node instanceof Slot ? values[node.name] : undefined));
  };
}

let installed = false;

/** Puts the keeping parse on dynalite's condition and update parsers, once per thread (dynalite's validations call them through their modules). */
export function keepDynaliteParses(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  for (const path of ["dynalite/db/conditionParser.js", "dynalite/db/updateParser.js"]) {
    const parser = require(path) as Parser;
    parser.parse = keeping(parser.parse.bind(parser));
  }
}
