import { existsSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { resourcesReadBy, handlerFile, talksToRedis } from "./code-reads.ts";
import { functionsOf, linkNames, loadInfrastructure, pathOf, type FunctionRecord, type Infrastructure } from "./fake-sst.ts";

/** Every function the stacks deploy: WebSocket routes and authorizer, bus subscriber, consumer, HTTP API. */
const HANDLERS = [
  "packages/chat/src/handlers/authorizer.handler",
  "packages/chat/src/handlers/connect.handler",
  "packages/chat/src/handlers/disconnect.handler",
  "packages/chat/src/handlers/default.handler",
  "packages/chat/src/handlers/put-message.handler",
  "packages/chat/src/handlers/get-session.handler",
  "packages/chat/src/handlers/list-sessions.handler",
  "packages/chat/src/handlers/stop-generation.handler",
  "packages/chat/src/handlers/retry-message.handler",
  "packages/chat/src/handlers/rename-session.handler",
  "packages/chat/src/handlers/delete-session.handler",
  "packages/chat/src/handlers/regenerate-reply.handler",
  "packages/chat/src/handlers/session-titles.handler",
  "packages/agent/src/handlers/consume-jobs.handler",
  "packages/agent/src/handlers/generate-reply.handler",
  "packages/agent/src/handlers/http-authorizer.handler",
];

/** The names handlers read through `Resource`; anything else deployed is not linked to a function. */
const LINKABLE = [
  "Sessions", "Connections", "Messages", "MessageIds", "AgentJobs", "AgentJobsDlq",
  "ChatSocket", "AgentMemory", "Events", "OpenAiApiKey", "AuthSecret",
];

describe("each function's links, as `sst deploy --stage prod` builds them", () => {
  let infra: Infrastructure;
  let functions: Map<string, FunctionRecord>;
  beforeAll(async () => {
    infra = await loadInfrastructure({ stage: "prod", dev: false });
    functions = functionsOf(infra);
  });

  it("deploys exactly the known handlers", () => {
    expect([...functions.keys()].sort()).toEqual([...HANDLERS].sort());
  });

  it("declares the resources under the names the handlers read", () => {
    const names = new Set(infra.components.map((c) => c.name));
    for (const name of [...LINKABLE, "Vpc", "Web", "AgentApi"]) expect(names, name).toContain(name);
  });

  describe.each(HANDLERS)("%s", (handler) => {
    it("exists and exports the named function", () => {
      const file = handlerFile(handler);
      expect(existsSync(file), `${file} is missing: the deploy would fail to bundle it`).toBe(true);
      const name = handler.slice(handler.lastIndexOf(".") + 1);
      expect(readFileSync(file, "utf8")).toMatch(new RegExp(`export (async )?(function|const) ${name}\\b`));
    });

    it("links exactly what its code reads through Resource: nothing missing, nothing spare", () => {
      const reads = resourcesReadBy(handler);
      const links = linkNames(functions.get(handler)!);
      // App (name and stage) is SST's own, in every function without a link.
      const missing = reads.names.filter((name) => name !== "App" && !links.includes(name));
      const spare = links.filter((name) => !reads.names.includes(name));
      expect(
        { missing, spare },
        `missing links throw "X is not linked" at run time (read in ${missing.map((n) => `${n}: ${reads.where[n]!.join(", ")}`).join("; ")}); ` +
          "spare links are privileges no code uses",
      ).toEqual({ missing: [], spare: [] });
    });

    it("runs in the VPC if and only if its code talks to Redis; with TLS and cluster mode wherever it links AgentMemory", () => {
      const fn = functions.get(handler)!;
      const linked = linkNames(fn).includes("AgentMemory");
      // Outside the VPC a function reaches DynamoDB and API Gateway without NAT; inside, Redis.
      expect(pathOf(fn.vpc)).toBe(talksToRedis(handler) ? "Vpc" : undefined);
      if (talksToRedis(handler)) expect(linked).toBe(true);
      expect(fn.environment?.AZUCHI_REDIS_TLS).toBe(linked ? "true" : undefined);
      // Production's AgentMemory is a cluster (stacks/scaling.ts): ioredis' Cluster client.
      expect(fn.environment?.AZUCHI_REDIS_CLUSTER).toBe(linked ? "true" : undefined);
    });

    it("runs on Node 24 and keeps its logs for three months", () => {
      const fn = functions.get(handler)!;
      expect(fn.runtime).toBe("nodejs24.x");
      expect(fn.logging?.retention).toBe("3 months");
    });
  });
});
