import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

// The SDK reads the region, credentials and AWS_ENDPOINT_URL_<SERVICE> from the
// environment, so the same code reaches AWS or the local stack's emulators. SQS's client is
// in sqs-client.ts.

export function createDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function createEventBridgeClient(): EventBridgeClient {
  return new EventBridgeClient({});
}

/** The management endpoint is the linked WebSocket API's (it carries the stage in its path). */
export function createManagementClient(endpoint: string): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({ endpoint });
}
