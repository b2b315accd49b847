import { createHash, createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signing } from "../../packages/core/src/aws-client-options.ts";
import { SigningSha256 } from "../../packages/core/src/signing-hash.ts";

const hex = async (hash: SigningSha256) => Buffer.from(await hash.digest()).toString("hex");

describe("SigningSha256", () => {
  it("hashes as node:crypto does, whatever form the data comes in", async () => {
    const hash = new SigningSha256();
    hash.update("会話 🙂 ");
    hash.update(new Uint8Array([1, 2, 3]));
    hash.update(new DataView(new Uint8Array([9, 4, 5, 6]).buffer, 1, 2));
    hash.update(new Uint8Array([7, 8]).buffer);
    hash.update("café", "latin1");
    const expected = createHash("sha256")
      .update("会話 🙂 ")
      .update(Buffer.from([1, 2, 3, 4, 5, 7, 8]))
      .update(Buffer.from("café", "latin1"))
      .digest("hex");
    expect(await hex(hash)).toBe(expected);
  });

  it("makes the HMAC of a string, bytes or an ArrayBuffer key as node:crypto does, and starts afresh on reset", async () => {
    const backing = new Uint8Array([0, 0, ...Buffer.from("key-bytes"), 0]);
    const keys = ["wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", backing.subarray(2, 11), new Uint8Array(Buffer.from("key-bytes")).buffer];
    for (const key of keys) {
      const hash = new SigningSha256(key);
      hash.update("20261207");
      const expected = createHmac("sha256", typeof key === "string" ? key : Buffer.from("key-bytes")).update("20261207").digest("hex");
      expect(await hex(hash)).toBe(expected);
      hash.reset();
      hash.update("us-east-1");
      expect(await hex(hash)).toBe(createHmac("sha256", typeof key === "string" ? key : Buffer.from("key-bytes")).update("us-east-1").digest("hex"));
    }
  });

  it("keys by the key's bytes, so a buffer changed in place is a new key", async () => {
    const key = new Uint8Array(Buffer.from("first-key"));
    const first = new SigningSha256(key);
    first.update("x");
    key.set(Buffer.from("other-key"));
    const second = new SigningSha256(key);
    second.update("x");
    expect(await hex(first)).toBe(createHmac("sha256", "first-key").update("x").digest("hex"));
    expect(await hex(second)).toBe(createHmac("sha256", "other-key").update("x").digest("hex"));
  });

  it("treats an empty string secret as no key, as the SDK's hash does", async () => {
    const hash = new SigningSha256("");
    hash.update("abc");
    expect(await hex(hash)).toBe(createHash("sha256").update("abc").digest("hex"));
  });
});

describe("an AWS client signing with SigningSha256", () => {
  const secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  let server: Server;
  const verdicts: boolean[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        verdicts.push(signatureIsValid(req, Buffer.concat(chunks), secretAccessKey));
        res.writeHead(200, { "content-type": "application/x-amz-json-1.0" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("signs requests that check out under SigV4, request after request", async () => {
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new DynamoDBClient({ region: "ap-northeast-1", endpoint, credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey }, ...signing });
    expect(client.config.sha256).toBe(SigningSha256);
    for (const table of ["Sessions", "Messages", "Sessions"]) {
      await client.send(new GetItemCommand({ TableName: table, Key: { sessionId: { S: "会話 🙂" } } }));
    }
    client.destroy();
    expect(verdicts).toEqual([true, true, true]);
  });

  it("and the check fails a request signed with another secret", async () => {
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new DynamoDBClient({ region: "ap-northeast-1", endpoint, credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "another" }, ...signing });
    verdicts.length = 0;
    await client.send(new GetItemCommand({ TableName: "Sessions", Key: { sessionId: { S: "x" } } }));
    client.destroy();
    expect(verdicts).toEqual([false]);
  });
});

/** SigV4 computed here with node:crypto alone, for a request at "/" without a query. */
function signatureIsValid(req: IncomingMessage, body: Buffer, secret: string): boolean {
  const auth = /^AWS4-HMAC-SHA256 Credential=[^/]+\/([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(String(req.headers.authorization));
  if (!auth) return false;
  const [, scope, signedHeaders, signature] = auth as unknown as [string, string, string, string];
  const [date, region, service] = scope.split("/") as [string, string, string];
  const canonicalHeaders = signedHeaders
    .split(";")
    .map((name) => `${name}:${String(req.headers[name]).trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const payloadHash = createHash("sha256").update(body).digest("hex");
  const canonicalRequest = [req.method, req.url, "", canonicalHeaders, signedHeaders, payloadHash].join("\n");
  const stringToSign = ["AWS4-HMAC-SHA256", String(req.headers["x-amz-date"]), scope, createHash("sha256").update(canonicalRequest).digest("hex")].join("\n");
  let key: Buffer | string = `AWS4${secret}`;
  for (const part of [date, region, service, "aws4_request"]) key = createHmac("sha256", key).update(part).digest();
  return createHmac("sha256", key).update(stringToSign).digest("hex") === signature;
}
