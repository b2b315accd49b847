import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleHandler, declaredHandlers, importOnce, loadedBytes, packagesIn, writeBundle, type HandlerBundle } from "../../packages/local/src/bench/bundles.ts";
import { talksToRedis } from "./code-reads.ts";

/**
 * What each Lambda ships, read from esbuild's metafile of the bundle SST would build, split as
 * the stacks split it (by content, not by timing: `npm run bundles` measures sizes and cold
 * imports). A handler imports only what it uses: the token authorizers verify a JWT and touch
 * nothing else, and a chat route carries an AWS SDK client or ioredis only if it calls it. A
 * cold start reads only the entry and the chunks it imports statically.
 */
const chat = (file: string) => `packages/chat/src/handlers/${file}.handler`;
const agent = (file: string) => `packages/agent/src/handlers/${file}.handler`;

const AUTHORIZERS = [chat("authorizer"), agent("http-authorizer")];
const NOT_IN_AUTHORIZERS = [/^ioredis$/, /^@ioredis\//, /^@aws-sdk\//, /^@smithy\//, /^openai$/, /^zod$/];

/** The clients that make a bundle big, by the npm package that brings each. */
const CLIENTS = {
  dynamodb: "@aws-sdk/client-dynamodb",
  sqs: "@aws-sdk/client-sqs",
  eventbridge: "@aws-sdk/client-eventbridge",
  connections: "@aws-sdk/client-apigatewaymanagementapi",
  redis: "ioredis",
  openai: "openai",
} as const;
type Client = keyof typeof CLIENTS;

/**
 * Exactly the clients each handler calls. Every message route answers on its socket
 * (@connections) and reads its connection's row (DynamoDB); only the routes that take a
 * user's message queue a job, only putMessage publishes MessagePosted.
 */
const USES: Record<string, Client[]> = {
  [chat("authorizer")]: [],
  [chat("connect")]: ["dynamodb", "redis"],
  [chat("disconnect")]: ["dynamodb"],
  [chat("default")]: ["dynamodb", "connections"],
  [chat("put-message")]: ["dynamodb", "sqs", "eventbridge", "connections", "redis"],
  [chat("get-session")]: ["dynamodb", "connections"],
  [chat("list-sessions")]: ["dynamodb", "connections"],
  [chat("stop-generation")]: ["dynamodb", "connections", "redis"],
  [chat("retry-message")]: ["dynamodb", "sqs", "connections", "redis"],
  [chat("rename-session")]: ["dynamodb", "connections"],
  [chat("delete-session")]: ["dynamodb", "connections", "redis"],
  [chat("regenerate-reply")]: ["dynamodb", "sqs", "connections", "redis"],
  [chat("session-titles")]: ["dynamodb", "connections"],
  [agent("consume-jobs")]: ["dynamodb", "sqs", "eventbridge", "connections", "redis", "openai"],
  [agent("generate-reply")]: ["dynamodb", "sqs", "eventbridge", "connections", "redis"],
  [agent("http-authorizer")]: [],
};

/**
 * The clients a handler calls only on a rare path, and imports (`import()`) there, so that its
 * cold start does not load them: the consumer calls SQS only for failed jobs (their retries'
 * visibility, the dead letters), and publishes a turn's events after its reply is sent;
 * putMessage and generateChatReply publish only for a message they stored but could not queue.
 */
const LOADED_LATER: Record<string, Client[]> = {
  [agent("consume-jobs")]: ["sqs", "eventbridge"],
  [chat("put-message")]: ["eventbridge"],
  [agent("generate-reply")]: ["eventbridge"],
};

/**
 * Budgets of what a cold start loads (minified, as deployed: the entry and its static
 * imports), the issue's targets: ≤ 250 KB for the authorizers (they load about 27 KB), ≤ 600 KB
 * for every other route (putMessage, the largest, loads 588 KB: ioredis ≈ 180 KB on top of
 * DynamoDB, SQS, @connections and zod) and ≤ 1 MB for the consumer (1,016 KB, the OpenAI client
 * ≈ 412 KB of it).
 */
const KB = 1024;
function budget(handler: string): number {
  if (AUTHORIZERS.includes(handler)) return 250 * KB;
  if (handler === agent("consume-jobs")) return 1_024 * KB;
  return 600 * KB;
}

/** The credential providers a Lambda never reaches (its environment's credentials answer first), and the clients they call. */
const UNUSED_CREDENTIALS = [/^@aws-sdk\/nested-clients$/, /^@aws-sdk\/credential-provider-(sso|ini|login|process|web-identity|http)$/, /^@aws-sdk\/token-providers$/];

let bundles: Map<string, HandlerBundle>;
beforeAll(async () => {
  bundles = new Map();
  for (const handler of await declaredHandlers()) bundles.set(handler, await bundleHandler(handler));
}, 120_000);

describe("handler bundles", () => {
  it("bundles every handler the stacks declare, and this file knows what each calls", () => {
    expect([...bundles.keys()].sort()).toEqual(Object.keys(USES).sort());
  });

  it.each(AUTHORIZERS)("%s carries jose and the verifier, not Redis, the AWS SDK, OpenAI or zod", (handler) => {
    const packages = [...packagesIn(bundles.get(handler)!, "shipped").keys()];
    expect(packages).toContain("jose");
    expect(packages.filter((name) => NOT_IN_AUTHORIZERS.some((pattern) => pattern.test(name)))).toEqual([]);
  });

  it.each(Object.keys(USES))("%s carries the clients it calls and no other", (handler) => {
    const packages = packagesIn(bundles.get(handler)!, "shipped");
    const carried = (Object.keys(CLIENTS) as Client[]).filter((client) => packages.has(CLIENTS[client]));
    expect(carried).toEqual(USES[handler]);
  });

  it.each(Object.keys(USES))("%s loads, cold, the clients it calls but those of its rare paths", (handler) => {
    const packages = packagesIn(bundles.get(handler)!);
    const loaded = (Object.keys(CLIENTS) as Client[]).filter((client) => packages.has(CLIENTS[client]));
    expect(loaded).toEqual(USES[handler]!.filter((client) => !LOADED_LATER[handler]?.includes(client)));
  });

  it.each(Object.keys(USES))("%s carries ioredis if and only if its code talks to Redis (it runs in the VPC)", (handler) => {
    expect(packagesIn(bundles.get(handler)!, "shipped").has("ioredis")).toBe(talksToRedis(handler));
  });

  it.each(Object.keys(USES))("%s loads, cold, within its size budget", (handler) => {
    const bytes = loadedBytes(bundles.get(handler)!);
    expect(bytes, `${handler}: ${(bytes / KB).toFixed(0)} KB, budget ${(budget(handler) / KB).toFixed(0)} KB`).toBeLessThanOrEqual(budget(handler));
  });

  it.each(Object.keys(USES))("%s leaves the credential providers Lambda never reaches out of its cold start", (handler) => {
    const loaded = [...packagesIn(bundles.get(handler)!).keys()];
    expect(loaded.filter((name) => UNUSED_CREDENTIALS.some((pattern) => pattern.test(name)))).toEqual([]);
  });

  it("takes zod tree-shaken (`import * as z`), without the locales a named `z` import drags in", () => {
    for (const [handler, bundle] of bundles) {
      const locales = inputsOf(bundle).filter((path) => /node_modules\/zod\/.*\/locales\/(?!en\.|index\.)/.test(path));
      expect(locales, handler).toEqual([]);
    }
  });

  it("takes zod/mini, never classic zod: one classic schema brings every method of every schema and to-JSON-schema back (≈ 100 KB)", () => {
    for (const [handler, bundle] of bundles) {
      expect(inputsOf(bundle).filter((path) => path.includes("node_modules/zod/v4/classic/")), handler).toEqual([]);
    }
  });

  it("carries no JSON Schema converter: the tools' parameters are written ahead (agent tools/parameters.ts)", () => {
    for (const [handler, bundle] of bundles) {
      expect(inputsOf(bundle, { withCode: true }).filter((path) => /node_modules\/zod\/v4\/core\/(to-)?json-schema/.test(path)), handler).toEqual([]);
    }
  });

  it("sets zod's English messages wherever it takes zod (mini loads no locale: every message would be \"Invalid input\")", () => {
    for (const [handler, bundle] of bundles) {
      // Code kept, not only files seen: esbuild drops a side effect it believes it may (`sideEffects`).
      const inputs = inputsOf(bundle, { withCode: true });
      if (!inputs.some((path) => path.includes("node_modules/zod/"))) continue;
      expect(inputs.filter((path) => path.endsWith("node_modules/zod/v4/locales/en.js") || path.endsWith("packages/core/src/zod-english.ts")), handler).toHaveLength(2);
    }
  });
});

/** The source files of every file of the bundle (with `withCode`, only those that put code in it). */
function inputsOf(bundle: HandlerBundle, { withCode = false } = {}): string[] {
  return Object.values(bundle.metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs)
      .filter(([, input]) => !withCode || input.bytesInOutput > 0)
      .map(([path]) => path),
  );
}

/**
 * A split bundle as the function's directory holds it: its entry imports in a fresh `node` (as
 * `npm run bundles` times it), which fails if a chunk it needs is missing, and so does every
 * chunk it ships, those that only an `import()` reaches included.
 */
describe("a split bundle on disk", () => {
  const handler = agent("consume-jobs");
  let dir: string;
  beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), "azuchi-split-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("imports, and so does every chunk it ships", async () => {
    const bundle = bundles.get(handler)!;
    expect(bundle.files.size).toBeGreaterThan(bundle.loaded.length);
    const entry = writeBundle(bundle, join(dir, "whole"));
    for (const file of bundle.files.keys()) await importOnce(join(dir, "whole", file));
    await importOnce(entry);
  }, 60_000);

  it("runs a path that loads a chunk through `import()`: the $connect authorizer's refusal, which loads its logger then", async () => {
    const bundle = bundles.get(chat("authorizer"))!;
    expect(packagesIn(bundle).has("@aws-lambda-powertools/logger")).toBe(false);
    const entry = writeBundle(bundle, join(dir, "authorizer"));
    const script =
      `const { handler } = await import(${JSON.stringify(pathToFileURL(entry).href)}); ` +
      `const result = await handler({ queryStringParameters: { token: "not-a-token" }, methodArn: "arn:test" }); ` +
      `console.log(JSON.stringify(result.policyDocument.Statement[0].Effect));`;
    const env = { PATH: process.env.PATH ?? "", SST_RESOURCE_AuthSecret: JSON.stringify({ value: "a-test-secret-of-at-least-32-bytes!", type: "sst.sst.Secret" }) };
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { env });
    const lines = stdout.trim().split("\n");
    expect(lines.some((line) => line.includes('"message":"connection refused"')), stdout).toBe(true);
    expect(lines.at(-1)).toBe('"Deny"');
  }, 60_000);

  it("says in English what is wrong with an input (zod/mini has no messages of its own): chat's title subscriber logs a malformed event", async () => {
    const entry = writeBundle(bundles.get(chat("session-titles"))!, join(dir, "session-titles"));
    const script =
      `const { handler } = await import(${JSON.stringify(pathToFileURL(entry).href)}); ` +
      `await handler({ source: "azuchi.ai-agent", "detail-type": "AgentRunCompleted", detail: { sessionId: "nope", jobId: "j", userId: "u", durationMs: 1, usage: { inputTokens: 1, outputTokens: 1 }, toolCalls: [] } });`;
    const { stderr } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { env: { PATH: process.env.PATH ?? "" } });
    expect(JSON.parse(stderr.trim().split("\n").at(-1)!)).toMatchObject({ message: "not an AgentRunCompleted event; dropped", issues: "✖ Invalid UUID\n  → at detail.sessionId" });
  }, 60_000);

  it("fails to import without one of the chunks its entry imports", async () => {
    const bundle = bundles.get(handler)!;
    const chunk = bundle.loaded.find((file) => file !== "bundle.mjs")!;
    const entry = writeBundle({ ...bundle, files: new Map([...bundle.files].filter(([file]) => file !== chunk)) }, join(dir, "short"));
    await expect(importOnce(entry)).rejects.toThrow(/importing .* failed/);
  }, 60_000);
});
