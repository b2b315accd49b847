/**
 * The linked resources every azuchi function may read through `Resource` from `sst`.
 * `sst dev`/`deploy` and the local stack both provide them as SST_RESOURCE_<Name>
 * variables; this declaration types them where `sst` has not generated sst-env.d.ts.
 */
import "sst";

declare module "sst" {
  export interface Resource {
    Sessions: { name: string; type: "sst.aws.Dynamo" };
    Connections: { name: string; type: "sst.aws.Dynamo" };
    Messages: { name: string; type: "sst.aws.Dynamo" };
    MessageIds: { name: string; type: "sst.aws.Dynamo" };
    AgentJobs: { url: string; type: "sst.aws.Queue" };
    AgentJobsDlq: { url: string; type: "sst.aws.Queue" };
    ChatSocket: { url: string; managementEndpoint: string; type: "sst.aws.ApiGatewayWebSocket" };
    Events: { name: string; arn: string; type: "sst.aws.Bus" };
    AgentMemory: { host: string; port: number; username: string; password: string; type: "sst.aws.Redis" };
    OpenAiApiKey: { value: string; type: "sst.sst.Secret" };
    AuthSecret: { value: string; type: "sst.sst.Secret" };
  }
}

export { Resource } from "sst";

/** Table names of the messages repository, read once from the links. */
export interface Tables {
  sessions: string;
  connections: string;
  messages: string;
  messageIds: string;
}
