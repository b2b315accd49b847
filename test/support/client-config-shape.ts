/**
 * Run by test/core/aws-client-options.test.ts as `node --allow-natives-syntax`: makes the
 * handlers' AWS clients with their factories, calls each against a loopback server that
 * answers as AWS would, and prints whether each client's configuration is still a V8
 * fast-properties object (withFastConfig), beside a client made without it.
 */
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const hasFastProperties = new Function("object", "return %HasFastProperties(object)") as (object: object) => boolean;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>) : {};
    const answer = target.endsWith(".SendMessage")
      ? { MessageId: "m-1", MD5OfMessageBody: createHash("md5").update(String(body.MessageBody)).digest("hex") }
      : target.endsWith(".PutEvents")
        ? { FailedEntryCount: 0, Entries: [{ EventId: "e-1" }] }
        : target.endsWith(".Query")
          ? { Items: [], Count: 0 }
          : {};
    res.writeHead(200, { "content-type": target.startsWith("AmazonSQS") ? "application/x-amz-json-1.0" : "application/json" }).end(req.url?.startsWith("/@connections/") ? "" : JSON.stringify(answer));
  });
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
Object.assign(process.env, {
  AWS_REGION: "ap-northeast-1",
  AWS_ACCESS_KEY_ID: "local",
  AWS_SECRET_ACCESS_KEY: "local",
  AWS_ENDPOINT_URL_DYNAMODB: endpoint,
  AWS_ENDPOINT_URL_SQS: endpoint,
  AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint,
});

const { DynamoDBClient, GetItemCommand } = await import("@aws-sdk/client-dynamodb");
const { QueryCommand } = await import("@aws-sdk/lib-dynamodb");
const { PostToConnectionCommand } = await import("@aws-sdk/client-apigatewaymanagementapi");
const { SendMessageCommand } = await import("@aws-sdk/client-sqs");
const { PutEventsCommand } = await import("@aws-sdk/client-eventbridge");
const { createDocumentClient, createManagementClient } = await import("../../packages/core/src/aws-clients.ts");
const { createSqsClient } = await import("../../packages/core/src/sqs-client.ts");
const { createEventBridgeClient } = await import("../../packages/core/src/event-publisher.ts");

const documents = createDocumentClient();
const management = createManagementClient(endpoint);
const sqs = createSqsClient();
const events = createEventBridgeClient();
const plain = new DynamoDBClient({});
for (let i = 0; i < 3; i++) {
  await documents.send(new QueryCommand({ TableName: "Connections", KeyConditionExpression: "sessionId = :s", ExpressionAttributeValues: { ":s": "会話" } }));
  await management.send(new PostToConnectionCommand({ ConnectionId: "c-1", Data: "{}" }));
  await sqs.send(new SendMessageCommand({ QueueUrl: `${endpoint}/000000000000/jobs.fifo`, MessageBody: "job", MessageGroupId: "g", MessageDeduplicationId: `d-${i}` }));
  await events.send(new PutEventsCommand({ Entries: [{ Source: "azuchi.chat", DetailType: "MessagePosted", Detail: "{}" }] }));
  await plain.send(new GetItemCommand({ TableName: "Sessions", Key: { sessionId: { S: "x" } } }));
}
console.log(JSON.stringify({ documents: hasFastProperties(documents.config), management: hasFastProperties(management.config), sqs: hasFastProperties(sqs.config), events: hasFastProperties(events.config), plain: hasFastProperties(plain.config) }));
for (const client of [documents, management, sqs, events, plain]) client.destroy();
server.close();
