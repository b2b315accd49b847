import { describe, expect, it } from "vitest";
import { consumerMaxConcurrency } from "@azuchi/agent/job-timing";
import { OLDEST_JOB_ALARM_SECONDS, VPC_CIDR } from "../../stacks/scaling.ts";
import { callsOf, component, functionsOf, loadInfrastructure, pathOf, type Infrastructure } from "./fake-sst.ts";

const CONSUMER = "packages/agent/src/handlers/consume-jobs.handler";

/** What a recorded `transform: { <node>: (args) => … }` does to fresh args. */
function transformed(transform: unknown, node: string): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  (transform as Record<string, (args: Record<string, unknown>) => void>)[node]!(args);
  return args;
}

const deployed = (stage: string) => loadInfrastructure({ stage, dev: false });

describe("how the stacks scale (stacks/scaling.ts)", () => {
  it("caps the consumer's event source mapping per stage: a surge waits in the queue, in order, rather than taking the account's concurrency", async () => {
    for (const [stage, production] of [["prod", true], ["staging", false]] as const) {
      const [subscription] = callsOf(await deployed(stage), "AgentJobs", "subscribe");
      const options = subscription!.args[1] as { transform: unknown };
      expect(transformed(options.transform, "eventSourceMapping"), stage).toEqual({ scalingConfig: { maximumConcurrency: consumerMaxConcurrency(production) } });
    }
    expect(consumerMaxConcurrency(true)).toBeGreaterThan(consumerMaxConcurrency(false));
    expect(consumerMaxConcurrency(false)).toBeGreaterThanOrEqual(2);
    expect(consumerMaxConcurrency(true)).toBeLessThanOrEqual(1000);
  });

  it("alarms when the oldest job has waited too long: a stuck consumer", async () => {
    const alarm = component(await deployed("prod"), "AgentJobsOldestMessage").args;
    expect(alarm).toMatchObject({ namespace: "AWS/SQS", metricName: "ApproximateAgeOfOldestMessage", statistic: "Maximum", threshold: OLDEST_JOB_ALARM_SECONDS });
    expect(pathOf((alarm.dimensions as { QueueName: unknown }).QueueName)).toBe("AgentJobs.nodes.queue.name");
    expect(pathOf((alarm.alarmActions as unknown[])[0])).toBe("Alarms.arn");
  });

  describe("the network path", () => {
    let infra: Infrastructure;
    it("narrows the NAT instance's security group from anywhere to the VPC's own range", async () => {
      infra = await deployed("staging");
      const vpc = component(infra, "Vpc").args;
      expect(vpc.nat).toBe("ec2");
      expect(transformed(vpc.transform, "vpc")).toEqual({ cidrBlock: VPC_CIDR });
      expect(transformed(vpc.transform, "natSecurityGroup")).toEqual({ ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: [VPC_CIDR] }] });
    });

    it("reaches DynamoDB through the free gateway endpoint on the private subnets' routes", async () => {
      const endpoint = component(infra ?? (await deployed("staging")), "DynamoDbEndpoint");
      expect(endpoint.type).toBe("aws.ec2.VpcEndpoint");
      expect(endpoint.args.vpcEndpointType).toBe("Gateway");
      expect(pathOf(endpoint.args.vpcId)).toBe("Vpc.id");
      expect(String(endpoint.args.serviceName)).toMatch(/dynamodb/);
    });
  });

  it("keeps other stages on one small Redis node, with no cluster client", async () => {
    const infra = await deployed("staging");
    expect(component(infra, "AgentMemory").args).toMatchObject({ engine: "redis", cluster: false });
    expect(functionsOf(infra).get(CONSUMER)!.environment?.AZUCHI_REDIS_CLUSTER).toBeUndefined();
  });
});
