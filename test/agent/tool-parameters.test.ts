import { readFileSync } from "node:fs";
import * as z from "zod/mini";
import { describe, expect, it } from "vitest";
import { defineTool } from "../../packages/agent/src/tools/tool.ts";
import { TOOLS, ToolRegistry } from "../../packages/agent/src/tools/index.ts";
import { strictSchema } from "../../packages/agent/src/tools/strict-schema.ts";
import { PARAMETERS_FILE, parametersModule, toolParameters } from "../../packages/agent/src/tools/write-parameters.ts";

const shout = defineTool({
  name: "shout",
  description: "Says it louder.",
  parameters: z.object({ text: z.string() }),
  shows: "log",
  run: async ({ text }) => ({ output: text.toUpperCase(), summary: text }),
});

describe("the tools' parameters, written ahead (tools/parameters.ts)", () => {
  it("are what the tools' zod schemas make now: change a schema, run npm run tools:parameters", () => {
    expect(readFileSync(PARAMETERS_FILE, "utf8")).toBe(parametersModule(toolParameters(TOOLS)));
  });

  it("are what each request sends, strict: every object closed, every property required, a nullable one for what may be left out", () => {
    const definitions = new ToolRegistry().definitions();
    expect(definitions.map((tool) => tool.name)).toEqual(TOOLS.map((tool) => tool.name));
    const time = definitions.find((tool) => tool.name === "get_current_time")!;
    expect(time).toMatchObject({ type: "function", strict: true, parameters: { type: "object", required: ["timezone"], additionalProperties: false } });
    expect(JSON.stringify(definitions)).not.toMatch(/"\$schema"|"maxLength"|"minLength"/);
  });

  it("refuses a tool whose parameters were not written, naming the command that writes them", () => {
    expect(() => new ToolRegistry([shout] as never[]).definitions()).toThrow("tool shout has no JSON Schema in tools/parameters.ts: run npm run tools:parameters");
    expect(new ToolRegistry([shout] as never[], toolParameters([shout] as never[])).definitions()[0]).toMatchObject({
      name: "shout",
      parameters: { type: "object", properties: { text: { type: "string" } }, required: ["text"], additionalProperties: false },
    });
  });

  it("refuses, when written, a property that may be left out but not be null: strict mode would require it", () => {
    const optional = z.object({ zone: z.optional(z.string()) });
    expect(() => strictSchema(z.toJSONSchema(optional, { io: "input" }))).toThrow("tool parameter zone may be left out but is not nullable; declare it z.nullish(…) for strict mode");
  });
});
