import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/**
 * The options of a local command (npm start, bench, drills, bundles), as `parseArgs` reads them
 * strictly, with `-h`/`--help` added: help prints the command's usage and exits 0; an unknown
 * option, a value missing or a stray argument prints the one-line reason and the usage and exits
 * 2, where parseArgs alone would end the command with a stack trace.
 */
export function commandOptions<T extends ParseArgsOptionsConfig>(usage: string, options: T): ReturnType<typeof parseArgs<{ options: T }>>["values"] {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ options: { ...options, help: { type: "boolean", short: "h" } } }));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    process.exit(2);
  }
  if (values.help === true) {
    console.log(usage);
    process.exit(0);
  }
  return values as ReturnType<typeof parseArgs<{ options: T }>>["values"];
}
