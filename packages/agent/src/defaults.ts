/**
 * The agent's defaults that code outside the agent reads too, written once: the agent's
 * settings (deps.ts) take them when a variable is unset, the stacks deploy them
 * (stacks/agent.ts, job-timing.ts), the local stack and the bench run on them
 * (`@azuchi/agent/defaults`). No imports, so infrastructure code can read them without loading
 * the agent.
 */

/** The model the agent asks unless AZUCHI_OPENAI_MODEL names another. */
export const DEFAULT_OPENAI_MODEL = "gpt-4.1-mini";

/** AZUCHI_TURN_TIMEOUT_MS: the longest one turn may run (the queue's visibility timeout is derived from it). */
export const DEFAULT_TURN_TIMEOUT_MS = 120_000;

/** AZUCHI_MAX_ATTEMPTS: failed turns of a job before the agent gives it up to the dead-letter queue. */
export const DEFAULT_MAX_ATTEMPTS = 3;

/** AZUCHI_MAX_RECEIVES: the jobs queue's redrive maxReceiveCount, above the attempts. */
export const DEFAULT_MAX_RECEIVES = 5;

/** AZUCHI_LOCK_TTL_MS: the session lock's lifetime; a running turn renews it, so only a crashed turn holds it this long. */
export const DEFAULT_LOCK_TTL_MS = 30_000;
