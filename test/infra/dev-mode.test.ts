import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { callsOf, component, componentOf, functionsOf, linkNames, loadInfrastructure, root, type FunctionRecord, type Infrastructure } from "./fake-sst.ts";

describe("`sst dev`", () => {
  let infra: Infrastructure;
  beforeAll(async () => {
    infra = await loadInfrastructure({ stage: "alice", dev: true });
  });

  it("does not subscribe a Lambda stub to AgentJobs, which would delete jobs while sst dev is stopped", () => {
    expect(callsOf(infra, "AgentJobs", "subscribe")).toEqual([]);
    expect(infra.components.filter((c) => c.type === "aws.cloudwatch.MetricAlarm" && c.args.namespace === "AWS/Lambda")).toEqual([]);
  });

  it("consumes AgentJobs with a command that runs only while sst dev does", async () => {
    const command = component(infra, "AgentJobsConsumer");
    expect(command.type).toBe("sst.x.DevCommand");
    const args = command.args as { dev: { command: string; autostart: boolean }; link: unknown[]; environment: Record<string, unknown> };
    expect(args.dev.autostart).toBe(true);
    // Run through npm exec so node_modules/.bin (the project's Node 24) comes first on PATH.
    const script = /^npm exec --offline -- node (\S+)$/.exec(args.dev.command)?.[1];
    expect(script && existsSync(resolve(root, script)), `${args.dev.command} runs a file that exists`).toBe(true);

    // The same links and settings as the deployed consumer, so the same handler runs unchanged.
    const deployed = functionsOf(await loadInfrastructure({ stage: "alice", dev: false })).get("packages/agent/src/handlers/consume-jobs.handler")!;
    expect(linkNames({ handler: "", link: args.link })).toEqual(linkNames(deployed));
    for (const name of ["AZUCHI_TURN_TIMEOUT_MS", "AZUCHI_MAX_ATTEMPTS", "AZUCHI_MAX_RECEIVES", "AZUCHI_OPENAI_MODEL"]) {
      expect(args.environment[name], name).toBe(deployed.environment![name]);
    }
    expect(args.environment.AZUCHI_REDIS_TLS).toBe("false");
  });

  it("creates no VPC, and points Redis at a plain local redis-server", () => {
    expect(infra.components.some((c) => c.type === "sst.aws.Vpc")).toBe(false);
    expect(component(infra, "AgentMemory").args.dev).toEqual({ host: "localhost", port: 6379 });
    for (const [handler, fn] of functionsOf(infra) as Map<string, FunctionRecord>) {
      expect(fn.vpc, handler).toBeUndefined();
      if ((fn.link ?? []).some((item) => componentOf(item)?.name === "AgentMemory")) expect(fn.environment?.AZUCHI_REDIS_TLS, handler).toBe("false");
    }
  });
});
