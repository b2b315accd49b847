export { freePort } from "../../packages/local/src/net.ts";

/**
 * The port `npm start`'s process says it runs on ("azuchi is running: http://127.0.0.1:<port>"),
 * once it has said it. Start it with PORT=0: the stack binds a port the system gives it. A port
 * picked in the test and handed over could be taken by another test's server while the stack
 * starts, and that server would answer for a stack that never did.
 */
export function announcedPort(output: string): number | undefined {
  const match = /azuchi is running: http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
  return match ? Number(match[1]) : undefined;
}
