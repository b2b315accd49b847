/**
 * Runs sst.config.ts's real app() and run() against a recording stand-in for SST's globals, so
 * the infra tests read the component graph the stacks would deploy, with no AWS, no network
 * and no .sst/platform. `new sst.aws.Queue("AgentJobs", args)` records a component; a method
 * call (`socket.route(...)`) records a call; any property (`queue.arn`) is a token that
 * remembers where it came from, so a test can tell that the DLQ's ARN is what AgentJobs got.
 * What it cannot see is whether AWS accepts the values: the type-check against SST's own
 * types (npm run typecheck:infra) and a real deploy cover that.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

export const root = resolve(import.meta.dirname, "../..");

export interface ComponentRecord {
  /** e.g. "sst.aws.Queue", "aws.cloudwatch.MetricAlarm". */
  type: string;
  name: string;
  args: Record<string, unknown>;
}

export interface CallRecord {
  /** The receiver's path, e.g. "ChatSocket" or "AgentJobs". */
  receiver: string;
  method: string;
  args: unknown[];
  /** The path of what the call returned, e.g. "ChatSocket.addAuthorizer(ConnectToken)". */
  result: string;
}

export interface Scenario {
  stage: string;
  /** true for `sst dev`, false for `sst deploy`. */
  dev: boolean;
  env?: Record<string, string>;
}

export interface AppConfig {
  name: string;
  home: string;
  removal?: string;
  protect?: boolean;
  providers?: Record<string, unknown>;
}

export interface Infrastructure {
  app: AppConfig;
  components: ComponentRecord[];
  calls: CallRecord[];
  outputs: Record<string, unknown>;
}

const tokens = new WeakMap<object, { path: string; component?: ComponentRecord }>();

/** The path of a token (`"AgentJobsDlq.arn"`), or undefined for anything else. */
export function pathOf(value: unknown): string | undefined {
  return (typeof value === "function" || typeof value === "object") && value !== null ? tokens.get(value)?.path : undefined;
}

/** The component a token *is* (not a property of it): what `link: [queue]` names. */
export function componentOf(value: unknown): ComponentRecord | undefined {
  return (typeof value === "function" || typeof value === "object") && value !== null ? tokens.get(value)?.component : undefined;
}

function label(value: unknown): string {
  if (typeof value === "string") return value;
  const named = value as { name?: unknown } | null;
  return typeof named?.name === "string" ? named.name : "…";
}

function recorder(components: ComponentRecord[], calls: CallRecord[]) {
  const token = (path: string, component?: ComponentRecord): unknown => {
    const children = new Map<string, unknown>();
    const proxy: object = new Proxy(function () {}, {
      get(_target, property) {
        // Not a promise (await must not call it), but printable inside template strings.
        if (property === "then") return undefined;
        if (property === Symbol.toPrimitive || property === "toString" || property === "toJSON") return () => `\${${path}}`;
        if (typeof property === "symbol") return undefined;
        if (!children.has(property)) children.set(property, token(`${path}.${property}`));
        return children.get(property);
      },
      apply(_target, _this, args: unknown[]) {
        const cut = path.lastIndexOf(".");
        const result = `${path}(${label(args[0])})`;
        calls.push({ receiver: path.slice(0, cut), method: path.slice(cut + 1), args, result });
        return token(result);
      },
      construct(_target, args: unknown[]) {
        const record: ComponentRecord = { type: path, name: String(args[0]), args: (args[1] ?? {}) as Record<string, unknown> };
        components.push(record);
        return token(record.name, record) as object;
      },
    });
    tokens.set(proxy, { path, component });
    return proxy;
  };
  return token;
}

let config: { app(input: { stage: string }): AppConfig; run(): Promise<Record<string, unknown>> } | undefined;

/** app() and run() of sst.config.ts for one stage, as `sst deploy` (dev: false) or `sst dev` would. */
export async function loadInfrastructure(scenario: Scenario): Promise<Infrastructure> {
  const components: ComponentRecord[] = [];
  const calls: CallRecord[] = [];
  const token = recorder(components, calls);
  const globals = globalThis as Record<string, unknown>;
  globals.$config = (input: unknown) => input;
  config ??= (await import(pathToFileURL(resolve(root, "sst.config.ts")).href)).default;
  const app = config!.app({ stage: scenario.stage });

  const saved = { ...process.env };
  Object.assign(process.env, scenario.env);
  Object.assign(globals, {
    $app: { name: app.name, stage: scenario.stage, removal: app.removal ?? "retain", protect: app.protect ?? false },
    $dev: scenario.dev,
    sst: token("sst"),
    aws: token("aws"),
    $interpolate: (strings: TemplateStringsArray, ...values: unknown[]) => String.raw({ raw: strings }, ...values.map(String)),
    // Tokens print as their path (toJSON), so a test can read the JSON a stack built.
    $jsonStringify: (value: unknown) => JSON.stringify(value),
  });
  try {
    const outputs = await config!.run();
    return { app, components, calls, outputs };
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

/** A function's settings as the stacks declared them (inline FunctionArgs). */
export interface FunctionRecord {
  handler: string;
  link?: unknown[];
  environment?: Record<string, unknown>;
  timeout?: string;
  vpc?: unknown;
  runtime?: string;
  logging?: { retention?: string };
  [key: string]: unknown;
}

/** Every inline function of the graph (route handlers, authorizers, subscribers), by handler path. */
export function functionsOf(infra: Infrastructure): Map<string, FunctionRecord> {
  const found = new Map<string, FunctionRecord>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 6 || value === null || typeof value !== "object" || pathOf(value) !== undefined) return;
    if (Array.isArray(value)) return value.forEach((item) => visit(item, depth + 1));
    const record = value as Record<string, unknown>;
    if (typeof record.handler === "string") found.set(record.handler, record as FunctionRecord);
    for (const child of Object.values(record)) visit(child, depth + 1);
  };
  for (const call of infra.calls) visit(call.args, 0);
  for (const component of infra.components) visit(component.args, 0);
  return found;
}

/** The component names a function links, sorted. */
export function linkNames(fn: FunctionRecord): string[] {
  return (fn.link ?? []).map((item) => componentOf(item)?.name ?? `not a component: ${pathOf(item) ?? String(item)}`).sort();
}

export function component(infra: Infrastructure, name: string): ComponentRecord {
  const found = infra.components.filter((record) => record.name === name);
  if (found.length !== 1) throw new Error(`expected one component named ${name}, found ${found.length}`);
  return found[0]!;
}

export function callsOf(infra: Infrastructure, receiver: string, method: string): CallRecord[] {
  return infra.calls.filter((call) => call.receiver === receiver && call.method === method);
}

/** "5 minutes" → 300. SST's duration strings. */
export function seconds(duration: unknown): number {
  const match = /^(\d+(?:\.\d+)?) (second|minute|hour|day)s?$/.exec(String(duration));
  if (!match) throw new Error(`not a duration: ${String(duration)}`);
  const unit = { second: 1, minute: 60, hour: 3600, day: 86400 }[match[2] as "second" | "minute" | "hour" | "day"];
  return Number(match[1]) * unit;
}
