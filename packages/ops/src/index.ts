/** The pieces of azuchi-ops other code (tests) may use; the CLI is src/main.ts. */
export { toDeadLetter, letterJson, type DeadLetter, type FailureRecord } from "./dead-letter.ts";
export { replayDeduplicationId } from "./replay.ts";
