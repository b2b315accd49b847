/** Keywords OpenAI's strict mode refuses; our zod schemas still check them on the arguments. */
const UNSUPPORTED = new Set(["$schema", "minLength", "maxLength", "default"]);

/**
 * A JSON schema as strict function calling accepts it: every object closed
 * (additionalProperties false) with every property required; a property the zod schema lets
 * be left out must accept null instead (declare it `z.nullish(…)`), so the model can still omit it.
 */
export function strictSchema(schema: unknown): Record<string, unknown> {
  return strict(schema) as Record<string, unknown>;
}

function acceptsNull(schema: unknown): boolean {
  const node = schema as { type?: unknown; anyOf?: unknown[] };
  return node.type === "null" || (Array.isArray(node.type) && node.type.includes("null")) || (node.anyOf ?? []).some(acceptsNull);
}

function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (!node || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) if (!UNSUPPORTED.has(key)) out[key] = strict(value);
  if (out.type === "object") {
    const properties = (out.properties ?? {}) as Record<string, unknown>;
    const required = new Set((out.required ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      if (!required.has(name) && !acceptsNull(property)) throw new Error(`tool parameter ${name} may be left out but is not nullable; declare it z.nullish(…) for strict mode`);
    }
    out.properties = properties;
    out.required = Object.keys(properties);
    out.additionalProperties = false;
  }
  return out;
}
