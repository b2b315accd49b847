import { describe, expect, it } from "vitest";
import { component, functionsOf, loadInfrastructure } from "./fake-sst.ts";

const PRODUCTION = ["prod", "production"];
const OTHERS = ["dev", "staging", "alice", "pr-42"];

function tableTransform(args: Record<string, unknown>): Record<string, unknown> {
  const table: Record<string, unknown> = {};
  (args.transform as { table: (table: Record<string, unknown>) => void }).table(table);
  return table;
}

describe("stages", () => {
  it.each(PRODUCTION)("%s retains its resources on `sst remove` and is protected from it", async (stage) => {
    const { app } = await loadInfrastructure({ stage, dev: false });
    expect(app.removal).toBe("retain");
    expect(app.protect).toBe(true);
  });

  it.each(OTHERS)("%s is removed whole by `sst remove`", async (stage) => {
    const { app } = await loadInfrastructure({ stage, dev: false });
    expect(app.removal).toBe("remove");
    expect(app.protect).toBe(false);
  });

  it.each([...PRODUCTION, ...OTHERS])("%s: app() and the stacks agree on whether it is production", async (stage) => {
    const infra = await loadInfrastructure({ stage, dev: false });
    expect(component(infra, "Sessions").args.deletionProtection).toBe(infra.app.protect);
  });

  it("pins the AWS provider, so a fresh clone type-checks and deploys against the same one", async () => {
    const { app } = await loadInfrastructure({ stage: "prod", dev: false });
    expect(app).toMatchObject({ name: "azuchi", home: "aws", providers: { aws: { version: expect.stringMatching(/^\d+\.\d+\.\d+$/) } } });
  });

  it("protects production's tables from deletion and keeps point-in-time recovery", async () => {
    const prod = await loadInfrastructure({ stage: "prod", dev: false });
    const dev = await loadInfrastructure({ stage: "dev", dev: false });
    for (const name of ["Sessions", "Connections", "Messages", "MessageIds"]) {
      expect(component(prod, name).args.deletionProtection, name).toBe(true);
      expect(tableTransform(component(prod, name).args), name).toEqual({ pointInTimeRecovery: { enabled: true } });
      expect(component(dev, name).args.deletionProtection, name).toBe(false);
    }
  });

  it("keeps every log in production for three months, elsewhere for a week", async () => {
    const prod = await loadInfrastructure({ stage: "prod", dev: false });
    const dev = await loadInfrastructure({ stage: "dev", dev: false });
    for (const [infra, retention] of [[prod, "3 months"], [dev, "1 week"]] as const) {
      for (const [handler, fn] of functionsOf(infra)) expect(fn.logging?.retention, handler).toBe(retention);
      for (const api of ["ChatSocket", "AgentApi"]) expect(component(infra, api).args.accessLog, api).toEqual({ retention });
    }
  });

  it("uses managed NAT gateways in production and a NAT instance elsewhere", async () => {
    expect(component(await loadInfrastructure({ stage: "prod", dev: false }), "Vpc").args.nat).toBe("managed");
    expect(component(await loadInfrastructure({ stage: "dev", dev: false }), "Vpc").args.nat).toBe("ec2");
  });
});
