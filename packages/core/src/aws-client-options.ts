import toFastProperties from "to-fast-properties";
import { SigningSha256 } from "./signing-hash.ts";

// What the handlers' AWS clients take beyond their defaults, for the CPU of a call: the SDK's
// client side was a third of the handlers' CPU in the bench's profiles, and a plain turn makes
// 15 calls. Each is a public option of the SDK or a fact of V8; none changes what is sent.

/** For every client: SigV4's HMACs keyed by KeyObjects (signing-hash.ts). */
export const signing = { sha256: SigningSha256 };

/**
 * For a client whose middleware no one changes after its first request: the SDK resolves the
 * middleware stack once per command class, not on every call. Not for DynamoDB's document
 * client, which refuses it (it adds its marshalling to each command).
 */
export const signingAndCachedMiddleware = { ...signing, cacheMiddleware: true };

/**
 * The client's resolved configuration made a V8 fast-properties object. The SDK builds it by
 * adding properties step by step, which leaves it a dictionary, and its serializer, endpoint
 * and deserializer middlewares copy it whole (`{ ...config }`) on every call: 8 µs a copy of
 * the dictionary here, 0.1 µs of the fast object. Call it once the client is whole
 * (DynamoDBDocumentClient.from adds to the configuration); a property added later may make it
 * a dictionary again, which costs only the time saved.
 */
export function withFastConfig<C extends { config: object }>(client: C): C {
  toFastProperties(client.config);
  return client;
}
