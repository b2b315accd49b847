/**
 * What every stack shares: which stages are production, and the defaults every function gets.
 * As in every stack module, top-level values are plain data, and SST's globals ($app, $dev,
 * sst, aws) are touched only inside functions that run() calls.
 */

/** Stages whose data survives `sst remove` (removal: retain) and whose stack is protected. */
export const PRODUCTION_STAGES: readonly string[] = ["prod", "production"];

export function isProductionStage(stage: string): boolean {
  return PRODUCTION_STAGES.includes(stage);
}

/** CloudWatch retention of function and API access logs. */
export function logRetention(stage: string): "3 months" | "1 week" {
  return isProductionStage(stage) ? "3 months" : "1 week";
}

/** Every function runs on Node 24 (the project's runtime) on Graviton; nothing native is bundled. */
export const FUNCTION_RUNTIME = "nodejs24.x";
export const FUNCTION_ARCHITECTURE = "arm64";

/** A WebSocket route or authorizer answers in well under a second; 30 s is API Gateway's own limit. */
export const ROUTE_TIMEOUT = "30 seconds";
export const ROUTE_MEMORY = "512 MB";

/**
 * How SST bundles every function (packages/local/src/bench/bundles.ts bundles the same way).
 * - keepNames: SST minifies bundles; failure reasons (logs, dead letters, the TurnFailures and
 *   JobsGivenUp metrics' reason) are error class names, which minification would turn into one letter.
 * - splitting: what a module loads with `import()` goes into chunks of its own, read only when
 *   that code first runs, instead of into the one file every cold start reads. The AWS SDK's
 *   default credential chain imports its SSO, ini, process, web-identity and container
 *   providers (with the STS and SSO clients they call) that way, and on Lambda the environment's
 *   credentials answer before any of them; our rare paths (docs/architecture.md, "Cold starts"
 *   in README) are imported so too. Requires ESM, which the functions are.
 */
export const FUNCTION_NODEJS = { esbuild: { keepNames: true }, splitting: true };

type Environment = Record<string, string>;

/**
 * The token verifier's OIDC settings (docs/architecture.md §7), read from the deploying shell or
 * `.env.<stage>` when `sst deploy` runs. Unset ones are left out: the verifier then uses
 * HS256 with AuthSecret only.
 */
export function authEnvironment(env: Record<string, string | undefined> = process.env): Environment {
  const names = ["AZUCHI_AUTH_ISSUER", "AZUCHI_AUTH_AUDIENCE", "AZUCHI_AUTH_JWKS_URL"] as const;
  // The verifier refuses such a configuration when it starts; refusing the deploy says it sooner.
  if (env.AZUCHI_AUTH_JWKS_URL && (!env.AZUCHI_AUTH_ISSUER || !env.AZUCHI_AUTH_AUDIENCE)) {
    throw new Error("AZUCHI_AUTH_JWKS_URL is set without AZUCHI_AUTH_ISSUER and AZUCHI_AUTH_AUDIENCE: any token that issuer signs for any app would be accepted. Set both.");
  }
  return Object.fromEntries(names.flatMap((name) => (env[name] ? [[name, env[name]]] : [])));
}

/**
 * Functions that link AgentMemory: ElastiCache requires TLS; under `sst dev` the link points at
 * a plain redis-server on localhost. A cluster-mode AgentMemory (production, stacks/scaling.ts)
 * needs ioredis' Cluster client.
 */
export function redisEnvironment(dev: boolean, cluster = false): Environment {
  return { AZUCHI_REDIS_TLS: dev ? "false" : "true", ...(cluster && { AZUCHI_REDIS_CLUSTER: "true" }) };
}

export interface FunctionSpec {
  /** `packages/<service>/src/handlers/<file>.handler`, relative to the repository root. */
  handler: string;
  /** Exactly the resources the handler reads through `Resource` (least privilege). */
  link: sst.aws.FunctionArgs["link"];
  environment?: Record<string, $util.Input<string>>;
  timeout?: sst.aws.FunctionArgs["timeout"];
  memory?: sst.aws.FunctionArgs["memory"];
  vpc?: sst.aws.FunctionArgs["vpc"];
}

/** An azuchi function: the shared defaults, then the handler's own settings. */
export function functionArgs(service: "azuchi-chat" | "azuchi-ai-agent", spec: FunctionSpec): sst.aws.FunctionArgs {
  return {
    runtime: FUNCTION_RUNTIME,
    architecture: FUNCTION_ARCHITECTURE,
    memory: ROUTE_MEMORY,
    timeout: ROUTE_TIMEOUT,
    logging: { retention: logRetention($app.stage) },
    nodejs: FUNCTION_NODEJS,
    ...spec,
    environment: { POWERTOOLS_SERVICE_NAME: service, ...spec.environment },
  };
}
