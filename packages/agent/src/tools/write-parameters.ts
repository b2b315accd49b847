import { writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as z from "zod/mini";
import { TOOLS } from "./index.ts";
import { strictSchema } from "./strict-schema.ts";
import type { AgentTool, ToolParameters } from "./tool.ts";

/*
 * Writes tools/parameters.ts: each tool's parameters as the JSON Schema strict function calling
 * takes, made from the tool's zod schema (`npm run tools:parameters`). Made here rather than in
 * the Lambda so that the consumer loads no JSON Schema converter; test/agent/tool-parameters.test.ts
 * fails when the file and the schemas differ.
 */

export const PARAMETERS_FILE = fileURLToPath(new URL("./parameters.ts", import.meta.url));

export function toolParameters(tools: AgentTool<never>[] = TOOLS): ToolParameters {
  return Object.fromEntries(tools.map((tool) => [tool.name, strictSchema(z.toJSONSchema(tool.parameters, { io: "input" }))]));
}

/** parameters.ts as this writes it. */
export function parametersModule(parameters: ToolParameters): string {
  return [
    "// Written by `npm run tools:parameters` (tools/write-parameters.ts) from the tools' zod schemas: do not edit.",
    'import type { ToolParameters } from "./tool.ts";',
    "",
    `export const TOOL_PARAMETERS: ToolParameters = ${JSON.stringify(parameters, null, 2)};`,
    "",
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(PARAMETERS_FILE, parametersModule(toolParameters()));
  console.log(`wrote ${PARAMETERS_FILE}`);
}
