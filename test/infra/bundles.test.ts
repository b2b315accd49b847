import { beforeAll, describe, expect, it } from "vitest";
import { bundleHandler, declaredHandlers, packagesIn, type HandlerBundle } from "../../packages/local/src/bench/bundles.ts";

/**
 * What each Lambda ships, read from esbuild's metafile of the bundle SST would build (by
 * content, not by timing: `npm run bundles` measures sizes and cold imports). A handler
 * imports only what it uses: the token authorizers verify a JWT and touch nothing else.
 */
const AUTHORIZERS = ["packages/chat/src/handlers/authorizer.handler", "packages/agent/src/handlers/http-authorizer.handler"];
const NOT_IN_AUTHORIZERS = [/^ioredis$/, /^@ioredis\//, /^@aws-sdk\//, /^@smithy\//, /^openai$/, /^zod$/];

let bundles: Map<string, HandlerBundle>;
beforeAll(async () => {
  bundles = new Map();
  for (const handler of declaredHandlers()) bundles.set(handler, await bundleHandler(handler));
}, 120_000);

describe("handler bundles", () => {
  it("bundles every handler the stacks declare, the authorizers among them", () => {
    expect(bundles.size).toBeGreaterThanOrEqual(12);
    for (const handler of AUTHORIZERS) expect([...bundles.keys()]).toContain(handler);
  });

  it.each(AUTHORIZERS)("%s carries jose and the verifier, not Redis, the AWS SDK, OpenAI or zod", (handler) => {
    const packages = [...packagesIn(bundles.get(handler)!).keys()];
    expect(packages).toContain("jose");
    expect(packages.filter((name) => NOT_IN_AUTHORIZERS.some((pattern) => pattern.test(name)))).toEqual([]);
  });

  it("only the consumer carries the OpenAI client", () => {
    const withOpenAi = [...bundles].filter(([, bundle]) => packagesIn(bundle).has("openai")).map(([handler]) => handler);
    expect(withOpenAi).toEqual(["packages/agent/src/handlers/consume-jobs.handler"]);
  });

  it("takes zod tree-shaken (`import * as z`), without the locales a named `z` import drags in", () => {
    for (const [handler, bundle] of bundles) {
      const locales = Object.keys(Object.values(bundle.metafile.outputs)[0]!.inputs).filter((path) => /node_modules\/zod\/.*\/locales\/(?!en\.|index\.)/.test(path));
      expect(locales, handler).toEqual([]);
    }
  });
});
