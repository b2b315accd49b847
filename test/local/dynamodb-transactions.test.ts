/**
 * The local stack's TransactWriteItems and TransactGetItems (dynamodb-transactions.ts, in front
 * of dynalite, which has none), driven with the real @aws-sdk/client-dynamodb as production
 * code drives DynamoDB.
 */
import {
  GetItemCommand,
  PutItemCommand,
  TransactGetItemsCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type TransactWriteItem,
} from "@aws-sdk/client-dynamodb";
import { describe, expect, it, vi } from "vitest";
import { useDynaliteWith } from "../support/dynamo.ts";

const seen: string[] = [];
const db = useDynaliteWith(
  [
    {
      TableName: "Things",
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
    },
    {
      TableName: "Events",
      AttributeDefinitions: [{ AttributeName: "stream", AttributeType: "S" }, { AttributeName: "at", AttributeType: "N" }],
      KeySchema: [{ AttributeName: "stream", KeyType: "HASH" }, { AttributeName: "at", KeyType: "RANGE" }],
      BillingMode: "PAY_PER_REQUEST",
    },
  ],
  { onRequest: (req) => void seen.push(String(req.headers["x-amz-target"]).split(".").at(-1) ?? "") },
);

const get = async (id: string) => (await db.client.send(new GetItemCommand({ TableName: "Things", Key: { id: { S: id } }, ConsistentRead: true }))).Item;
const put = (id: string, n: number) => db.client.send(new PutItemCommand({ TableName: "Things", Item: { id: { S: id }, n: { N: String(n) } } }));
const create = (id: string, extra: Record<string, { S: string } | { N: string }> = {}): TransactWriteItem => ({
  Put: { TableName: "Things", Item: { id: { S: id }, ...extra }, ConditionExpression: "attribute_not_exists(id)", ReturnValuesOnConditionCheckFailure: "ALL_OLD" },
});

async function cancelled(items: TransactWriteItem[]): Promise<TransactionCanceledException> {
  const error = await db.client.send(new TransactWriteItemsCommand({ TransactItems: items })).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TransactionCanceledException);
  return error as TransactionCanceledException;
}

describe("TransactWriteItems", () => {
  it("applies every action, in two tables, as one request", async () => {
    await put("counter", 1);
    seen.length = 0;
    await db.client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          create("a1"),
          { Put: { TableName: "Events", Item: { stream: { S: "s" }, at: { N: "1" } }, ConditionExpression: "attribute_not_exists(#at)", ExpressionAttributeNames: { "#at": "at" } } },
          { Update: { TableName: "Things", Key: { id: { S: "counter" } }, UpdateExpression: "ADD n :one", ConditionExpression: "n > :zero", ExpressionAttributeValues: { ":one": { N: "1" }, ":zero": { N: "0" } } } },
        ],
      }),
    );
    // The client's one request is what is counted, not the front's own work on dynalite.
    expect(seen).toEqual(["TransactWriteItems"]);
    expect(await get("a1")).toEqual({ id: { S: "a1" } });
    expect((await get("counter"))?.n).toEqual({ N: "2" });
    const events = await db.client.send(new GetItemCommand({ TableName: "Events", Key: { stream: { S: "s" }, at: { N: "1" } } }));
    expect(events.Item).toBeDefined();
  });

  it("writes nothing when one condition fails, and says which, with the item when asked (ALL_OLD)", async () => {
    await put("taken", 7);
    await put("untouched", 1);
    const error = await db.client
      .send(
        new TransactWriteItemsCommand({
          TransactItems: [
            create("fresh"),
            { Update: { TableName: "Things", Key: { id: { S: "untouched" } }, UpdateExpression: "SET n = :n", ExpressionAttributeValues: { ":n": { N: "99" } } } },
            { ConditionCheck: { TableName: "Things", Key: { id: { S: "untouched" } }, ConditionExpression: "n = :one", ExpressionAttributeValues: { ":one": { N: "1" } } } },
          ],
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ValidationException" });

    const failure = await cancelled([
      create("fresh"),
      create("taken"),
      { Update: { TableName: "Things", Key: { id: { S: "untouched" } }, UpdateExpression: "SET n = :n", ExpressionAttributeValues: { ":n": { N: "99" } } } },
      { ConditionCheck: { TableName: "Things", Key: { id: { S: "other" } }, ConditionExpression: "attribute_exists(id)" } },
    ]);
    expect(failure.CancellationReasons?.map((reason) => reason.Code)).toEqual(["None", "ConditionalCheckFailed", "None", "ConditionalCheckFailed"]);
    expect(failure.CancellationReasons?.[1]?.Item).toEqual({ id: { S: "taken" }, n: { N: "7" } });
    // Not asked for ALL_OLD: no item.
    expect(failure.CancellationReasons?.[3]?.Item).toBeUndefined();
    expect(failure.message).toContain("[None, ConditionalCheckFailed, None, ConditionalCheckFailed]");
    // Rolled back: the put before the failure and the update after it left nothing.
    expect(await get("fresh")).toBeUndefined();
    expect((await get("untouched"))?.n).toEqual({ N: "1" });
    expect((await get("taken"))?.n).toEqual({ N: "7" });
  });

  it("rolls back what a later action's own error stopped (a validation error inside the transaction)", async () => {
    await put("number", 5);
    const failure = await cancelled([
      { Update: { TableName: "Things", Key: { id: { S: "number" } }, UpdateExpression: "ADD n :one", ExpressionAttributeValues: { ":one": { N: "1" } } } },
      { Delete: { TableName: "Things", Key: { id: { S: "taken" } } } },
      // ADD of a number to a string attribute: DynamoDB's ValidationError for this action.
      { Update: { TableName: "Things", Key: { id: { S: "stringy" } }, UpdateExpression: "SET s = :s ADD s :one", ExpressionAttributeValues: { ":s": { S: "x" }, ":one": { N: "1" } } } },
    ]);
    expect(failure.CancellationReasons?.map((reason) => reason.Code)).toEqual(["None", "None", "ValidationError"]);
    expect((await get("number"))?.n).toEqual({ N: "5" });
    expect(await get("taken")).toEqual({ id: { S: "taken" }, n: { N: "7" } });
    expect(await get("stringy")).toBeUndefined();
    // A condition check that passed wrote nothing either.
    await db.client.send(new TransactWriteItemsCommand({ TransactItems: [{ ConditionCheck: { TableName: "Things", Key: { id: { S: "taken" } }, ConditionExpression: "attribute_exists(id)" } }, create("checked")] }));
    expect(await get("taken")).toEqual({ id: { S: "taken" }, n: { N: "7" } });
    expect(await get("checked")).toBeDefined();
  });

  it("leaves no item where a condition check passed on none, whether the transaction goes through or not", async () => {
    const absent = (id: string): TransactWriteItem => ({ ConditionCheck: { TableName: "Things", Key: { id: { S: id } }, ConditionExpression: "attribute_not_exists(id)" } });
    await db.client.send(new TransactWriteItemsCommand({ TransactItems: [absent("never-1"), create("beside-1")] }));
    expect(await get("never-1")).toBeUndefined();
    expect(await get("beside-1")).toBeDefined();

    const failure = await cancelled([absent("never-2"), create("beside-1")]);
    expect(failure.CancellationReasons?.map((reason) => reason.Code)).toEqual(["None", "ConditionalCheckFailed"]);
    expect(await get("never-2")).toBeUndefined();
    // A check on an item that exists and fails leaves it as it was.
    const checked = await cancelled([{ ConditionCheck: { TableName: "Things", Key: { id: { S: "beside-1" } }, ConditionExpression: "attribute_not_exists(id)" } }]);
    expect(checked.CancellationReasons?.map((reason) => reason.Code)).toEqual(["ConditionalCheckFailed"]);
    expect(await get("beside-1")).toEqual({ id: { S: "beside-1" } });
  });

  it("refuses what DynamoDB refuses: no actions, over 100, an action of two kinds", async () => {
    const send = (items: TransactWriteItem[]) => db.client.send(new TransactWriteItemsCommand({ TransactItems: items })).catch((e: unknown) => e);
    expect(await send([])).toMatchObject({ name: "ValidationException" });
    expect(await send(Array.from({ length: 101 }, (_, i) => create(`many-${i}`)))).toMatchObject({ name: "ValidationException" });
    expect(await get("many-0")).toBeUndefined();
    expect(await send([{ ...create("both"), Delete: { TableName: "Things", Key: { id: { S: "both" } } } }])).toMatchObject({ name: "ValidationException" });
    expect(await send([create("nowhere"), { Put: { TableName: "Missing", Item: { id: { S: "x" } } } }])).toMatchObject({ name: "ResourceNotFoundException" });
    expect(await get("nowhere")).toBeUndefined();
    // 100 is allowed.
    await db.client.send(new TransactWriteItemsCommand({ TransactItems: Array.from({ length: 100 }, (_, i) => create(`hundred-${i}`)) }));
    expect(await get("hundred-99")).toBeDefined();
  });

  it("lets exactly one of many concurrent transactions on the same items win, and no reader sees half of one", async () => {
    const racers = Array.from({ length: 12 }, (_, i) =>
      db.client
        .send(
          new TransactWriteItemsCommand({
            TransactItems: [
              create("race-guard", { winner: { S: String(i) } }),
              { Put: { TableName: "Events", Item: { stream: { S: "race" }, at: { N: "1" }, winner: { S: String(i) } }, ConditionExpression: "attribute_not_exists(#at)", ExpressionAttributeNames: { "#at": "at" } } },
            ],
          }),
        )
        .then(() => i),
    );
    // Readers beside them: the guard never exists without its event.
    const halves: string[] = [];
    const readers = Array.from({ length: 20 }, async () => {
      const guard = await get("race-guard");
      if (!guard) return;
      const event = await db.client.send(new GetItemCommand({ TableName: "Events", Key: { stream: { S: "race" }, at: { N: "1" } }, ConsistentRead: true }));
      if (event.Item?.winner?.S !== guard.winner?.S) halves.push(`guard ${guard.winner?.S}, event ${event.Item?.winner?.S}`);
    });
    const outcomes = await Promise.allSettled(racers);
    await Promise.all(readers);
    const winners = outcomes.filter((o) => o.status === "fulfilled");
    expect(winners).toHaveLength(1);
    for (const o of outcomes) if (o.status === "rejected") expect(o.reason).toBeInstanceOf(TransactionCanceledException);
    const winner = String((winners[0] as PromiseFulfilledResult<number>).value);
    expect((await get("race-guard"))?.winner).toEqual({ S: winner });
    expect(halves).toEqual([]);
  });

  it("keeps plain writes out while a transaction applies: a counter bumped by both loses no increment", async () => {
    await put("shared", 0);
    const bump = { TableName: "Things", Key: { id: { S: "shared" } }, UpdateExpression: "ADD n :one", ExpressionAttributeValues: { ":one": { N: "1" } } };
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? db.client.send(new TransactWriteItemsCommand({ TransactItems: [{ Update: bump }, create(`bump-${i}`)] }))
          : db.client.send(new UpdateItemCommand(bump)),
      ),
    );
    expect((await get("shared"))?.n).toEqual({ N: "20" });
  });

  it("answers a retried ClientRequestToken as the first, and refuses it for another request", async () => {
    const token = "token-1";
    const items = [{ Update: { TableName: "Things", Key: { id: { S: "tokened" } }, UpdateExpression: "ADD n :one", ExpressionAttributeValues: { ":one": { N: "1" } } } }];
    await db.client.send(new TransactWriteItemsCommand({ TransactItems: items, ClientRequestToken: token }));
    await db.client.send(new TransactWriteItemsCommand({ TransactItems: items, ClientRequestToken: token }));
    expect((await get("tokened"))?.n).toEqual({ N: "1" });
    const mismatch = await db.client.send(new TransactWriteItemsCommand({ TransactItems: [create("other-token")], ClientRequestToken: token })).catch((e: unknown) => e);
    expect(mismatch).toMatchObject({ name: "IdempotentParameterMismatchException" });
  });

  it("treats a ClientRequestToken first used over 10 minutes ago as new, and only that one", async () => {
    const bump = (id: string): TransactWriteItem[] => [{ Update: { TableName: "Things", Key: { id: { S: id } }, UpdateExpression: "ADD n :one", ExpressionAttributeValues: { ":one": { N: "1" } } } }];
    const send = (id: string, token: string) => db.client.send(new TransactWriteItemsCommand({ TransactItems: bump(id), ClientRequestToken: token }));
    // The front's clock is this process's Date (dynalite runs on this thread here).
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    try {
      await send("aged", "token-aged");
      vi.setSystemTime(Date.now() + 6 * 60_000);
      await send("recent", "token-recent");
      vi.setSystemTime(Date.now() + 5 * 60_000);
      await send("aged", "token-aged");
      await send("recent", "token-recent");
      expect((await get("aged"))?.n).toEqual({ N: "2" });
      expect((await get("recent"))?.n).toEqual({ N: "1" });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("TransactGetItems", () => {
  it("reads every item, in order, an absent one as an empty response", async () => {
    await put("g1", 1);
    const { Responses } = await db.client.send(
      new TransactGetItemsCommand({ TransactItems: [{ Get: { TableName: "Things", Key: { id: { S: "g1" } } } }, { Get: { TableName: "Things", Key: { id: { S: "absent" } } } }] }),
    );
    expect(Responses).toEqual([{ Item: { id: { S: "g1" }, n: { N: "1" } } }, {}]);
    const twice = await db.client
      .send(new TransactGetItemsCommand({ TransactItems: [{ Get: { TableName: "Things", Key: { id: { S: "g1" } } } }, { Get: { TableName: "Things", Key: { id: { S: "g1" } } } }] }))
      .catch((e: unknown) => e);
    expect(twice).toMatchObject({ name: "ValidationException" });
  });
});
