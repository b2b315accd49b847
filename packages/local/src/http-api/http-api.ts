import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from "aws-lambda";
import { BodyTooLargeError, readBody, sendJson } from "../http-body.ts";
import { invokeLambda, type LambdaHandler } from "../runtime/invoke.ts";

export type HttpAuthorizer = LambdaHandler<APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult<Record<string, unknown>>>;
export type HttpRouteHandler = LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyResultV2>;

export interface HttpRoute {
  /** e.g. "POST /api/v1/chat/sessions/{sessionId}/reply/generate" */
  routeKey: string;
  handler: HttpRouteHandler;
  functionName: string;
}

export interface HttpApiOptions {
  routes: HttpRoute[];
  /** A Lambda authorizer with simple responses, identity source $request.header.Authorization. */
  authorizer?: HttpAuthorizer;
  apiId?: string;
  onError?: (error: unknown) => void;
}

/** HTTP APIs accept request bodies up to 10 MB. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * A local API Gateway HTTP API (payload format 2.0): matches routes by method and path
 * template, runs the Lambda authorizer (simple responses) and answers as API Gateway does:
 * 401 without the identity source, 403 when the authorizer denies, 404 for no route.
 */
export function createHttpApi(options: HttpApiOptions) {
  const apiId = options.apiId ?? "local-http";
  const routes = options.routes.map((route) => {
    const [method, template] = route.routeKey.split(" ") as [string, string];
    const names: string[] = [];
    const pattern = new RegExp(`^${template.replace(/\{(\w+)\}/g, (_, name: string) => (names.push(name), "([^/]+)"))}$`);
    return { ...route, method, pattern, names };
  });

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    let pathParameters: Record<string, string> = {};
    const route = routes.find((candidate) => {
      const match = candidate.method === method && candidate.pattern.exec(url.pathname);
      if (!match) return false;
      pathParameters = Object.fromEntries(candidate.names.map((name, i) => [name, decodePathPart(match[i + 1]!)]));
      return true;
    });
    if (!route) return sendJson(res, 404, { message: "Not Found" });

    const headers = Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name.toLowerCase(), Array.isArray(value) ? value.join(",") : (value ?? "")]));
    const now = Date.now();
    const requestContext = {
      accountId: "000000000000",
      apiId,
      domainName: headers.host ?? "localhost",
      domainPrefix: (headers.host ?? "localhost").split(".")[0]!,
      http: { method, path: url.pathname, protocol: "HTTP/1.1", sourceIp: req.socket.remoteAddress ?? "127.0.0.1", userAgent: headers["user-agent"] ?? "" },
      requestId: randomUUID(),
      routeKey: route.routeKey,
      stage: "$default",
      time: new Date(now).toISOString(),
      timeEpoch: now,
    };
    let authorizer: Record<string, unknown> | undefined;
    if (options.authorizer) {
      const identity = headers.authorization;
      if (!identity) return sendJson(res, 401, { message: "Unauthorized" });
      try {
        const result = await invokeLambda(
          options.authorizer,
          {
            version: "2.0",
            type: "REQUEST",
            routeArn: `arn:aws:execute-api:us-east-1:000000000000:${apiId}/$default/${method}${url.pathname}`,
            identitySource: [identity],
            routeKey: route.routeKey,
            rawPath: url.pathname,
            rawQueryString: url.search.slice(1),
            cookies: [],
            headers,
            queryStringParameters: Object.fromEntries(url.searchParams),
            requestContext,
            pathParameters,
            stageVariables: {},
          } as APIGatewayRequestAuthorizerEventV2,
          { functionName: `${apiId}-authorizer` },
        );
        if (!result.isAuthorized) return sendJson(res, 403, { message: "Forbidden" });
        authorizer = { lambda: result.context ?? {} };
      } catch (error) {
        options.onError?.(error);
        return sendJson(res, 500, { message: "Internal Server Error" });
      }
    }

    let body: Buffer;
    try {
      body = await readBody(req, MAX_BODY_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return sendJson(res, 413, { message: "Request Entity Too Large" });
      throw error;
    }
    const event = {
      version: "2.0",
      routeKey: route.routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      queryStringParameters: url.searchParams.size > 0 ? Object.fromEntries(url.searchParams) : undefined,
      pathParameters,
      requestContext: { ...requestContext, authorizer },
      body: body.length > 0 ? body.toString("utf8") : undefined,
      isBase64Encoded: false,
    } as APIGatewayProxyEventV2;
    let result: APIGatewayProxyResultV2;
    try {
      result = await invokeLambda(route.handler, event, { functionName: route.functionName });
    } catch (error) {
      options.onError?.(error);
      return sendJson(res, 500, { message: "Internal Server Error" });
    }
    // Payload 2.0: a result without statusCode is a 200 JSON body.
    if (typeof result === "string" || typeof result !== "object" || result === null || !("statusCode" in result)) {
      return sendJson(res, 200, result);
    }
    res.writeHead(result.statusCode ?? 200, { "content-type": "application/json", ...(result.headers as Record<string, string> | undefined) });
    res.end(result.body ?? "");
  };
}

/** A path parameter decoded; malformed percent-encoding is passed on as it is, for the handler to refuse. */
function decodePathPart(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
