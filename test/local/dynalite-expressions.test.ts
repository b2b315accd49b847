/**
 * dynalite's expression parses, kept and given again (dynalite-expressions.ts): a repeated
 * expression must behave as a fresh parse would, with the request's own values, its own unused
 * names and values, and dynalite's own errors. Driven through the local DynamoDB with the SDK.
 */
import { GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type UpdateItemCommandInput } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { useDynaliteWith } from "../support/dynamo.ts";

const db = useDynaliteWith([
  {
    TableName: "Items",
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "N" }],
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
    BillingMode: "PAY_PER_REQUEST",
  },
]);

const key = (pk: string) => ({ pk: { S: pk }, sk: { N: "1" } });
const read = async (pk: string) => (await db.client.send(new GetItemCommand({ TableName: "Items", Key: key(pk), ConsistentRead: true }))).Item;
const update = (input: Omit<UpdateItemCommandInput, "TableName">) => db.client.send(new UpdateItemCommand({ TableName: "Items", ...input }));
const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as Error);

describe("a repeated expression", () => {
  it("is checked and applied with each request's own values", async () => {
    await db.client.send(new PutItemCommand({ TableName: "Items", Item: { ...key("a"), n: { N: "5" } } }));
    const raise = (to: number, limit: number) =>
      update({ Key: key("a"), UpdateExpression: "SET n = :to", ConditionExpression: "n < :limit", ExpressionAttributeValues: { ":to": { N: String(to) }, ":limit": { N: String(limit) } } });
    await raise(6, 10);
    expect((await failure(raise(7, 3)))?.name).toBe("ConditionalCheckFailedException");
    await raise(8, 100);
    expect(await read("a")).toMatchObject({ n: { N: "8" } });
  });

  it("still reports the names and values a request leaves unused, whatever an earlier request used", async () => {
    await db.client.send(new PutItemCommand({ TableName: "Items", Item: { ...key("b"), a: { S: "x" } } }));
    const both = { UpdateExpression: "SET #a = :v", ConditionExpression: "attribute_exists(#a)" };
    await update({ Key: key("b"), ...both, ExpressionAttributeNames: { "#a": "a" }, ExpressionAttributeValues: { ":v": { S: "y" } } });
    // The condition alone uses #a here, as it did when the update used it too.
    await update({ Key: key("b"), UpdateExpression: "SET seen = :v", ConditionExpression: "attribute_exists(#a)", ExpressionAttributeNames: { "#a": "a" }, ExpressionAttributeValues: { ":v": { S: "z" } } });
    expect(await read("b")).toMatchObject({ a: { S: "y" }, seen: { S: "z" } });
    const unusedValue = await failure(update({ Key: key("b"), ...both, ExpressionAttributeNames: { "#a": "a" }, ExpressionAttributeValues: { ":v": { S: "y" }, ":spare": { S: "s" } } }));
    expect(unusedValue?.message).toMatch(/unused in expressions: keys: \{:spare\}/);
    const unusedName = await failure(update({ Key: key("b"), ...both, ExpressionAttributeNames: { "#a": "a", "#b": "b" }, ExpressionAttributeValues: { ":v": { S: "y" } } }));
    expect(unusedName?.message).toMatch(/unused in expressions: keys: \{#b\}/);
  });

  it("is checked again for a value of another type", async () => {
    const startsWith = (prefix: { S: string } | { N: string }) =>
      update({ Key: key("c"), UpdateExpression: "SET seen = :one", ConditionExpression: "attribute_not_exists(pk) OR begins_with(word, :prefix)", ExpressionAttributeValues: { ":one": { N: "1" }, ":prefix": prefix } });
    await startsWith({ S: "wa" });
    const wrongType = await failure(startsWith({ N: "1" }));
    expect(wrongType?.message).toMatch(/Incorrect operand type for operator or function; operator or function: begins_with, operand type: N/);
  });

  it("gives dynalite's own errors each time: a syntax error, and BETWEEN bounds the wrong way round", async () => {
    const broken = () => update({ Key: key("d"), UpdateExpression: "SET n = :n", ConditionExpression: "n <", ExpressionAttributeValues: { ":n": { N: "1" } } });
    const first = await failure(broken());
    expect(first?.message).toMatch(/Invalid ConditionExpression: Syntax error/);
    expect((await failure(broken()))?.message).toBe(first?.message);
    const between = (lo: number, hi: number) =>
      db.client.send(new QueryCommand({ TableName: "Items", KeyConditionExpression: "pk = :pk AND sk BETWEEN :lo AND :hi", ExpressionAttributeValues: { ":pk": { S: "a" }, ":lo": { N: String(lo) }, ":hi": { N: String(hi) } } }));
    expect((await between(0, 5)).Count).toBe(1);
    expect((await failure(between(5, 0)))?.message).toMatch(/BETWEEN operator requires upper bound to be greater than or equal to lower bound/);
  });
});
