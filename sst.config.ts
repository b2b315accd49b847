// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./.sst/platform/config.d.ts" />

/**
 * azuchi on AWS (docs/architecture.md §9). One module per concern in stacks/, read in this order:
 * storage (tables, Redis, VPC) → pipeline (queue, DLQ, bus, alarms) → chat (WebSocket API) →
 * agent (queue consumer, HTTP API) → web (static site) → dashboard (the metrics in CloudWatch). README.md "Deploying" says how to use it.
 */
export default $config({
  app(input) {
    // stacks/defaults.ts PRODUCTION_STAGES (SST allows no imports here; a test keeps them equal).
    const production = ["prod", "production"].includes(input.stage);
    return {
      name: "azuchi",
      home: "aws",
      // Production refuses `sst remove` (protect). Under "retain" a resource dropped from the
      // config keeps only what SST retains: the DynamoDB tables, S3 buckets and the VPC; the
      // queues (with any dead letters), the bus, Redis and the functions are deleted.
      removal: production ? "retain" : "remove",
      protect: production,
      providers: { aws: { version: "7.20.0" } },
    };
  },
  async run() {
    const { createStorage } = await import("./stacks/storage.ts");
    const { createPipeline } = await import("./stacks/pipeline.ts");
    const { createChat } = await import("./stacks/chat.ts");
    const { createAgent } = await import("./stacks/agent.ts");
    const { createWeb } = await import("./stacks/web.ts");
    const { createDashboard } = await import("./stacks/dashboard.ts");

    const openAiApiKey = new sst.Secret("OpenAiApiKey");
    const authSecret = new sst.Secret("AuthSecret");

    const storage = createStorage();
    const pipeline = createPipeline();
    const chat = createChat({ storage, pipeline, authSecret });
    const agent = createAgent({ storage, pipeline, chat, openAiApiKey, authSecret });
    const { web } = createWeb({ chat });
    createDashboard({ pipeline });

    return {
      websocketUrl: chat.socket.url,
      apiUrl: agent.api.url,
      siteUrl: web.url,
    };
  },
});
