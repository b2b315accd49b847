import { createHash, createHmac, createSecretKey, type Hash, type Hmac, type KeyObject } from "node:crypto";
import type { DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";

/** What the SDK's clients take as `sha256` (the same type for every client). */
type HashConstructor = NonNullable<DynamoDBClientConfig["sha256"]>;
type SourceData = Exclude<ConstructorParameters<HashConstructor>[0], undefined>;
type Encoding = "utf8" | "ascii" | "latin1";

/**
 * SHA-256 and HMAC-SHA-256 for the AWS SDK's SigV4 signer (the clients' `sha256` option), as
 * the SDK's own, but each HMAC keyed by a KeyObject made once per key.
 *
 * Node 24 tells a Buffer key from a KeyObject or CryptoKey by letting two brand checks throw
 * (nodejs/node#63111, the KeyObject slots' hardening): a `createHmac` with a Buffer key costs
 * 12 µs here against 2.5 µs with a KeyObject (Node 20: 2.3 µs either way). The signer makes
 * two HMACs a request, both with keys it keeps: the secret access key (its cache key for the
 * signing key) and the day's signing key.
 */
export class SigningSha256 {
  private readonly key: KeyObject | undefined;
  private hash!: Hash | Hmac;

  constructor(secret?: SourceData) {
    // As the SDK's: an empty string secret means a plain hash.
    this.key = secret ? keyObjectOf(secret) : undefined;
    this.reset();
  }

  update(data: SourceData, encoding?: Encoding): void {
    this.hash.update(typeof data === "string" ? Buffer.from(data, encoding ?? "utf8") : bytesOf(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }

  reset(): void {
    this.hash = this.key ? createHmac("sha256", this.key) : createHash("sha256");
  }
}

// Keyed by the key's bytes, not by the object (a caller may reuse a buffer): a process signs
// with a handful of keys (a secret, a signing key a day and service; more as credentials rotate).
const MAX_KEYS = 16;
const keys = new Map<string, KeyObject>();

function keyObjectOf(secret: SourceData): KeyObject {
  const bytes = typeof secret === "string" ? Buffer.from(secret, "utf8") : bytesOf(secret);
  const id = bytes.toString("latin1");
  let key = keys.get(id);
  if (key) return key;
  key = createSecretKey(Buffer.from(bytes));
  if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value!);
  keys.set(id, key);
  return key;
}

function bytesOf(data: ArrayBuffer | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
}
