import { Resource, type Tables } from "@azuchi/core";

/** The four tables' names as linked to this function (every agent function links all four). */
export function linkedTables(): Tables {
  return {
    sessions: Resource.Sessions.name,
    connections: Resource.Connections.name,
    messages: Resource.Messages.name,
    messageIds: Resource.MessageIds.name,
  };
}
