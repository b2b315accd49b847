export { freePort } from "../../packages/local/src/net.ts";
