/**
 * Which linked resources a handler's code can read: every `Resource.<Name>` in the files its
 * module imports, transitively (relative imports and the @azuchi/* workspaces; npm packages
 * are not followed). `Resource.X` on a name the function does not link throws "X is not linked"
 * at run time, so links must cover these; and a link no code reads is a privilege to drop.
 * It is by file, not by call path: a shared deps module that reads everything makes every
 * handler importing it read everything.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { root } from "./fake-sst.ts";

/** `packages/chat/src/handlers/connect.handler` → the handler's source file. */
export function handlerFile(handler: string): string {
  return resolve(root, `${handler.slice(0, handler.lastIndexOf("."))}.ts`);
}

/** `@azuchi/core` or a subpath such as `@azuchi/core/auth` → the file its package.json exports. */
function workspaceEntry(specifier: string): string | undefined {
  const match = /^@azuchi\/([^/]+)(\/.+)?$/.exec(specifier);
  if (!match) return undefined;
  const manifest = JSON.parse(readFileSync(resolve(root, "packages", match[1]!, "package.json"), "utf8")) as { exports?: Record<string, string> };
  const entry = manifest.exports?.[`.${match[2] ?? ""}`];
  return entry ? resolve(root, "packages", match[1]!, entry) : undefined;
}

function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

const importPattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g;
const readPattern = /\bResource\.([A-Za-z0-9_]+)/g;

/**
 * Whether a handler's own file talks to Redis: a rate bucket, the stop flag, a turn, or the use
 * case that takes a user's message (which spends the user's bucket). By the handler file only:
 * every chat handler imports chat's deps.ts, which can create a client, but only these call it
 * (test/infra/bundles.test.ts checks that only their bundles carry ioredis).
 */
export function talksToRedis(handler: string): boolean {
  return /\b(submitUserMessage|retryUserMessage|regenerateReply|deleteSession|requestStop|newSessionRate|messageRate|ensureRedisReady|agentDeps)\b|\.redis\b/.test(withoutComments(readFileSync(handlerFile(handler), "utf8")));
}

export interface CodeReads {
  /** Resource names read anywhere in the closure, sorted. */
  names: string[];
  /** Where each name is read (repository-relative files), for the failure message. */
  where: Record<string, string[]>;
}

export function resourcesReadBy(handler: string): CodeReads {
  const seen = new Set<string>();
  const where: Record<string, string[]> = {};
  const queue = [handlerFile(handler)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const source = withoutComments(readFileSync(file, "utf8"));
    for (const [, name] of source.matchAll(readPattern)) (where[name!] ??= []).push(relative(root, file));
    for (const [, specifier] of source.matchAll(importPattern)) {
      const target = specifier!.startsWith(".") ? resolve(dirname(file), specifier!) : workspaceEntry(specifier!);
      if (target) queue.push(target);
    }
  }
  for (const files of Object.values(where)) files.splice(0, files.length, ...new Set(files));
  return { names: Object.keys(where).sort(), where };
}
