/**
 * The published quotas and prices the capacity model starts from: us-east-1, default quotas, on-
 * demand prices, as read on 2026-12-01 from the pages linked. Quotas can be raised on request
 * (Service Quotas); prices change: check the pages before relying on a figure.
 */
export const PUBLISHED = {
  region: "us-east-1",
  checkedOn: "2026-12-01",
  apiGateway: {
    /** Across HTTP, REST, WebSocket APIs and WebSocket callback (@connections) APIs, per account and Region. */
    accountRequestsPerSecond: 10_000,
    /** New WebSocket connections per second per account (not per turn: shown in the README). */
    newConnectionsPerSecond: 500,
    source: "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html",
    /** WebSocket messages, first billion a month, metered in 32 KB increments. */
    perMillionMessages: 1.0,
    priceSource: "https://aws.amazon.com/api-gateway/pricing/",
  },
  sqs: {
    /** A FIFO queue without high throughput: 300 API calls a second per action. */
    plainFifoTps: 300,
    /** High-throughput FIFO in US East (N. Virginia), US West (Oregon), Europe (Ireland), non-batched. */
    highThroughputTps: 70_000,
    source: "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html",
    /** FIFO requests (each 64 KB chunk is one), after the free million. */
    perMillionFifoRequests: 0.5,
    priceSource: "https://aws.amazon.com/sqs/pricing/",
  },
  lambda: {
    /** Default concurrent executions per account and Region. */
    accountConcurrency: 1_000,
    source: "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    perMillionRequests: 0.2,
    /** arm64, first 7.5 billion GB-s a month. */
    perGbSecondArm: 0.0000133334,
    priceSource: "https://aws.amazon.com/lambda/pricing/",
  },
  dynamodb: {
    /** On-demand: default maximum throughput per table, write request units a second. */
    tableWritesPerSecond: 40_000,
    source: "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html",
    /** On-demand, Standard table class (prices halved in November 2024). */
    perMillionWru: 0.625,
    perMillionRru: 0.125,
    priceSource: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
  },
  eventbridge: {
    /** Custom events put on a bus (64 KB chunks). */
    perMillionEvents: 1.0,
    source: "https://aws.amazon.com/eventbridge/pricing/",
  },
  elasticache: {
    /** Serverless Valkey: ECPUs (a simple command on ≤ 1 KB is about one). */
    perMillionEcpuValkey: 0.0023,
    source: "https://aws.amazon.com/elasticache/pricing/",
  },
  openai: {
    /**
     * Tokens per minute by usage tier for the GPT-4o class, as third-party summaries of OpenAI's
     * rate-limit page list them; the real figures are per model and per organisation
     * (platform.openai.com/settings/organization/limits, and every response's
     * x-ratelimit-limit-tokens, which the shared limiter reads).
     */
    tokensPerMinute: { "tier 1": 30_000, "tier 2": 450_000, "tier 3": 800_000, "tier 4": 2_000_000, "tier 5": 30_000_000 } as Record<string, number>,
    source: "https://platform.openai.com/docs/guides/rate-limits (tier figures: third-party summary, e.g. https://www.ai-buzz.com/ai-openai-rate-limits)",
  },
};
export type Published = typeof PUBLISHED;
