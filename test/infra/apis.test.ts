import { beforeAll, describe, expect, it } from "vitest";
import { callsOf, component, functionsOf, loadInfrastructure, pathOf, type FunctionRecord, type Infrastructure } from "./fake-sst.ts";

describe("the two APIs and the site, as `sst deploy --stage prod` builds them", () => {
  let infra: Infrastructure;
  beforeAll(async () => {
    infra = await loadInfrastructure({ stage: "prod", dev: false });
  });

  it("refuses a WebSocket at $connect unless the REQUEST authorizer accepts its ?token=", () => {
    const [addAuthorizer] = callsOf(infra, "ChatSocket", "addAuthorizer");
    const lambda = (addAuthorizer!.args[1] as { lambda: { function: FunctionRecord; identitySources: string[] } }).lambda;
    expect(lambda.function.handler).toBe("packages/chat/src/handlers/authorizer.handler");
    expect(lambda.identitySources).toEqual(["route.request.querystring.token"]);

    const connect = callsOf(infra, "ChatSocket", "route").find((call) => call.args[0] === "$connect");
    const auth = (connect!.args[2] as { auth?: { lambda?: unknown } } | undefined)?.auth;
    expect(pathOf(auth?.lambda)).toBe(`${addAuthorizer!.result}.id`);
  });

  it("has a route for every client action and the three special routes", () => {
    const routes = callsOf(infra, "ChatSocket", "route").map((call) => call.args[0]);
    expect(routes.sort()).toEqual(["$connect", "$default", "$disconnect", "deleteSession", "getSession", "listSessions", "putMessage", "regenerateReply", "renameSession", "retryMessage", "stopGeneration"]);
  });

  it("guards generateChatReply with a Lambda authorizer (simple responses, the Authorization header)", () => {
    const [addAuthorizer] = callsOf(infra, "AgentApi", "addAuthorizer");
    const lambda = (addAuthorizer!.args[0] as { lambda: { function: FunctionRecord; response: string; identitySources: string[] } }).lambda;
    expect(lambda.function.handler).toBe("packages/agent/src/handlers/http-authorizer.handler");
    expect(lambda.response).toBe("simple");
    expect(lambda.identitySources).toEqual(["$request.header.Authorization"]);

    const routes = callsOf(infra, "AgentApi", "route");
    expect(routes.map((call) => call.args[0])).toEqual(["POST /api/v1/chat/sessions/{sessionId}/reply/generate"]);
    expect((routes[0]!.args[1] as FunctionRecord).handler).toBe("packages/agent/src/handlers/generate-reply.handler");
    expect(pathOf((routes[0]!.args[2] as { auth: { lambda: unknown } }).auth.lambda)).toBe(`${addAuthorizer!.result}.id`);
  });

  it("hands the authorizers the OIDC settings of the deploying shell, and only the set ones", async () => {
    const oidc = await loadInfrastructure({
      stage: "prod",
      dev: false,
      env: { AZUCHI_AUTH_ISSUER: "https://issuer.example", AZUCHI_AUTH_AUDIENCE: "azuchi", AZUCHI_OIDC_CLIENT_ID: "client-1" },
    });
    const functions = functionsOf(oidc);
    for (const handler of ["packages/chat/src/handlers/authorizer.handler", "packages/agent/src/handlers/http-authorizer.handler"]) {
      const environment = functions.get(handler)!.environment!;
      expect(environment.AZUCHI_AUTH_ISSUER).toBe("https://issuer.example");
      expect(environment.AZUCHI_AUTH_AUDIENCE).toBe("azuchi");
      expect(environment).not.toHaveProperty("AZUCHI_AUTH_JWKS_URL");
    }
    expect(component(oidc, "Web").args.environment).toMatchObject({ VITE_OIDC_AUTHORITY: "https://issuer.example", VITE_OIDC_CLIENT_ID: "client-1" });
  });

  it("refuses to deploy a JWKS without the issuer and audience the tokens must name", async () => {
    const envs: Record<string, string>[] = [
      { AZUCHI_AUTH_JWKS_URL: "https://issuer.example/jwks", AZUCHI_AUTH_AUDIENCE: "azuchi" },
      { AZUCHI_AUTH_JWKS_URL: "https://issuer.example/jwks", AZUCHI_AUTH_ISSUER: "https://issuer.example" },
    ];
    for (const env of envs) {
      await expect(loadInfrastructure({ stage: "prod", dev: false, env })).rejects.toThrow(/AZUCHI_AUTH_JWKS_URL is set without AZUCHI_AUTH_ISSUER and AZUCHI_AUTH_AUDIENCE/);
    }
  });

  it("builds the web client with the URLs of both APIs baked in", () => {
    const web = component(infra, "Web");
    expect(web.type).toBe("sst.aws.StaticSite");
    expect(web.args).toMatchObject({ path: "packages/web", build: { command: "npm run build", output: "dist" } });
    const environment = web.args.environment as Record<string, unknown>;
    expect(pathOf(environment.VITE_WEBSOCKET_URL)).toBe("ChatSocket.url");
    // The page talks to the WebSocket API only; nothing in it reads the HTTP API's address.
    expect(environment.VITE_API_URL).toBeUndefined();
  });

  it("outputs the WebSocket URL, the HTTP API URL and the site URL", () => {
    expect(Object.fromEntries(Object.entries(infra.outputs).map(([name, value]) => [name, pathOf(value)]))).toEqual({
      websocketUrl: "ChatSocket.url",
      apiUrl: "AgentApi.url",
      siteUrl: "Web.url",
    });
  });
});
