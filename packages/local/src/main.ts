import { commandOptions } from "./cli-args.ts";
import { startLocalStack } from "./stack.ts";

/** `npm start`: the whole of azuchi on this machine. */
const values = commandOptions(
  `npm start [-- --ephemeral] [--port 3000] [--host 127.0.0.1]
  The whole of azuchi on this machine, web chat included (README: Quick start).
  --ephemeral   keep nothing on disk (default: AZUCHI_DATA_DIR or .azuchi/)
  --port N      the one port it serves (default: PORT or 3000; 0 picks a free one)
  --host H      the address it binds (default: HOST or 127.0.0.1)`,
  {
    ephemeral: { type: "boolean", default: false },
    port: { type: "string" },
    host: { type: "string" },
  },
);

const port = Number(values.port ?? process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`azuchi: PORT must be a port number, not "${values.port ?? process.env.PORT}"`);
  process.exit(2);
}

const openaiApiKey = process.env.OPENAI_API_KEY?.trim() || undefined;
let stack: Awaited<ReturnType<typeof startLocalStack>>;
try {
  stack = await startLocalStack({
    port,
    host: values.host ?? process.env.HOST ?? "127.0.0.1",
    ephemeral: values.ephemeral,
    dataDir: process.env.AZUCHI_DATA_DIR,
    redisUrl: process.env.REDIS_URL || undefined,
    openaiApiKey,
  });
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  console.error(
    code === "EADDRINUSE"
      ? `azuchi: port ${port} is in use; start with PORT=<another port> npm start`
      : `azuchi: could not start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}

console.log(`
  azuchi is running: ${stack.url}

  web chat     ${stack.url}/
  WebSocket    ${stack.webSocketUrl}?token=…&sessionId=…
  dev token    ${stack.url}/dev/token?user=alice
  model        ${openaiApiKey ? "OpenAI (OPENAI_API_KEY is set)" : `offline model (POST ${stack.url}/dev/model to change it)`}
  health       ${stack.url}/healthz

  SQS          ${stack.sqsEndpoint}   (aws sqs … --endpoint-url ${stack.sqsEndpoint})
  AgentJobs    ${stack.queues.jobs}
  dead letters ${stack.queues.dlq}
  ops          npm run ops -- status --local ${stack.url}
`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log("azuchi: stopping…");
    stack.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`azuchi: stop failed: ${String(error)}`);
        process.exit(1);
      },
    );
  });
}
