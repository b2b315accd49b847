#!/usr/bin/env node
import { createInterface } from "node:readline/promises";
import { parseArgs, type ParseArgsConfig } from "node:util";
import * as commands from "./commands.ts";
import { OpsError, UsageError } from "./errors.ts";
import { DEFAULT_LOCAL_URL } from "./target.ts";

/** azuchi-ops: the operator's CLI. `npm run ops -- <command> …`; README "Operating azuchi". */

type Options = NonNullable<ParseArgsConfig["options"]>;
const common: Options = {
  local: { type: "string" },
  "queue-url": { type: "string" },
  "dlq-url": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};
const many = { type: "string", multiple: true } as const;

const TARGET_HELP = `Target (one of):
  --local [URL]       the local stack (default ${DEFAULT_LOCAL_URL}); finds its queues at GET /dev/resources
  (none)              AWS: run under \`npx sst shell --stage <stage> -- npm run ops -- …\`; reads the linked AgentJobs / AgentJobsDlq
  --queue-url URL     AgentJobs, overriding the target's
  --dlq-url URL       the dead-letter queue, overriding the target's
Output:
  --json              JSON instead of a table
  -h, --help          this help`;

interface Command {
  usage: string;
  about: string;
  options: Options;
  help: string;
  run: (ctx: commands.CommandContext) => Promise<void>;
}

const table: Record<string, Command> = {
  status: {
    usage: "status",
    about: "queue depth, in flight, DLQ depth and oldest dead letter, the last failures, metrics",
    options: {},
    help: "",
    run: commands.statusCommand,
  },
  "dlq list": {
    usage: "dlq list [--session ID…] [--user ID…] [--reason TEXT] [--since DURATION] [--limit N]",
    about: "each dead letter: job, session, user, message, receives, first/last failure, reason",
    options: { session: many, user: many, reason: { type: "string" }, since: { type: "string" }, limit: { type: "string" } },
    help: `  --session ID        only these sessions (repeatable)
  --user ID           only these users (repeatable)
  --reason TEXT       only reasons containing TEXT (any case)
  --since DURATION    only letters that last failed within DURATION (30s, 15m, 2h, 7d)
  --limit N           at most N letters`,
    run: commands.listCommand,
  },
  "dlq show": {
    usage: "dlq show JOB",
    about: "one dead letter whole, with its failure history (JOB: a jobId or the letter's messageId)",
    options: {},
    help: "",
    run: commands.showCommand,
  },
  "dlq replay": {
    usage: "dlq replay (--session ID… | --user ID… | --job ID… | --all) [--dry-run] [--rate N/s] [--yes]",
    about: "moves chosen dead letters back to AgentJobs, in order per session, deleting each only after its send",
    options: { session: many, user: many, job: many, all: { type: "boolean" }, "dry-run": { type: "boolean" }, rate: { type: "string" }, yes: { type: "boolean", short: "y" } },
    help: `  --session ID…       the letters of these sessions        --user ID…   of these users
  --job ID…           these jobs (jobId or messageId)       --all        every letter
  --dry-run           print what would be replayed, change nothing
  --rate N/s          at most N sends a second (all sessions together)
  -y, --yes           do not ask (it asks only on a terminal)
Sessions are replayed concurrently, each in its order; every job gets a deduplication id of its
own (replay-<dead letter's messageId>), so Ctrl-C or a crash and the same command again loses and
duplicates nothing.`,
    run: commands.replayCommand,
  },
  "dlq export": {
    usage: "dlq export [--out FILE.jsonl]",
    about: "writes every dead letter as JSON lines (a backup; changes nothing); stdout without --out",
    options: { out: { type: "string", short: "o" } },
    help: "  -o, --out FILE      the file to write (refuses to overwrite one)",
    run: commands.exportCommand,
  },
  "dlq import": {
    usage: "dlq import FILE.jsonl [--dry-run] [--rate N/s] [--yes]",
    about: "puts exported jobs back on AgentJobs (same rules as replay); leaves the DLQ as it is",
    options: { "dry-run": { type: "boolean" }, rate: { type: "string" }, yes: { type: "boolean", short: "y" } },
    help: "  --dry-run  --rate N/s  --yes     as for dlq replay",
    run: commands.importCommand,
  },
  "dlq purge": {
    usage: "dlq purge --yes",
    about: "deletes every dead letter and prints what it removed (export first!)",
    options: { yes: { type: "boolean", short: "y" } },
    help: "  -y, --yes           required",
    run: commands.purgeCommand,
  },
  "dlq redrive": {
    usage: "dlq redrive [--rate N/s] [--no-wait] | dlq redrive --cancel",
    about: "the whole DLQ back to AgentJobs via SQS StartMessageMoveTask, with its progress; --cancel stops it",
    options: { rate: { type: "string" }, cancel: { type: "boolean" }, "no-wait": { type: "boolean" } },
    help: `  --rate N/s          MaxNumberOfMessagesPerSecond (1–500; SQS's default otherwise)
  --no-wait           start the task and return (its progress: ListMessageMoveTasks)
  --cancel            cancel the running task`,
    run: commands.redriveCommand,
  },
};

function overview(): string {
  return [
    "azuchi-ops: see why agent jobs failed, and replay the dead-letter queue",
    "",
    "Usage: npm run ops -- <command> [options]     (or azuchi-ops <command>)",
    "",
    "Commands:",
    ...Object.entries(table).map(([name, c]) => `  ${name.padEnd(12)} ${c.about}`),
    "",
    TARGET_HELP,
    "",
    "`npm run ops -- <command> --help` for a command's options.",
  ].join("\n");
}

function commandHelp(command: Command): string {
  return [`Usage: npm run ops -- ${command.usage} [target] [--json]`, "", command.about, ...(command.help ? ["", command.help] : []), "", TARGET_HELP].join("\n");
}

/** `--local` alone means the default URL: parseArgs needs a value for a string option. */
function withLocalDefault(args: string[]): string[] {
  return args.flatMap((arg, i) => {
    if (arg !== "--local") return [arg];
    const next = args[i + 1];
    // Its URL follows, with or without http:// (127.0.0.1:3917, localhost:3000); a command word does not.
    return next !== undefined && (/^https?:\/\//.test(next) || /^[\w.-]+:\d+(\/.*)?$/.test(next)) ? [arg] : [`--local=${DEFAULT_LOCAL_URL}`];
  });
}

export async function main(argv: string[]): Promise<number> {
  const args = withLocalDefault(argv);
  // The command's words: positionals, not the values of options such as --local URL.
  const valued = new Set(Object.values(table).flatMap((c) => Object.entries({ ...common, ...c.options }).filter(([, o]) => o.type === "string").map(([n]) => `--${n}`)));
  const words = args.filter((arg, i) => !arg.startsWith("-") && !(i > 0 && valued.has(args[i - 1]!)));
  const name = words[0] === "dlq" ? `dlq ${words[1] ?? ""}`.trim() : words[0];
  if (name === undefined || name === "help") {
    console.log(overview());
    return name === undefined && !args.includes("--help") && !args.includes("-h") ? 2 : 0;
  }
  const command = table[name];
  if (!command) {
    console.error(`azuchi-ops: no command "${name}"${name === "dlq" ? " (dlq list, show, replay, export, import, purge or redrive)" : ""}\n\n${overview()}`);
    return 2;
  }
  const skip = name.split(" ").length;
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    // The first Ctrl-C lets the sends under way finish and hands the held letters back; a second one leaves at once (SQS returns them after their hold).
    if (interrupts > 1) process.exit(130);
    console.error("\nazuchi-ops: interrupted; finishing the sends under way (Ctrl-C again to leave now)…");
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const { values, positionals } = parseArgs({ args, options: { ...common, ...command.options }, allowPositionals: true, strict: true });
    if (values.help) {
      console.log(commandHelp(command));
      return 0;
    }
    const rest = positionals.slice(skip);
    if (rest.length > (name === "dlq show" || name === "dlq import" ? 1 : 0)) throw new UsageError(`unexpected argument "${rest.at(-1)}"\n\n${commandHelp(command)}`);
    await command.run({
      values: values as commands.CommandContext["values"],
      positionals: rest,
      out: (line) => console.log(line),
      err: (line) => console.error(line),
      signal: controller.signal,
      confirm: async (question) => {
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          return /^y(es)?$/i.test((await rl.question(question)).trim());
        } finally {
          rl.close();
        }
      },
    });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof OpsError) {
      console.error(`azuchi-ops: ${error.message}`);
      return error.exitCode;
    }
    if ((error as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`azuchi-ops: ${(error as Error).message}\n\n${commandHelp(command)}`);
      return 2;
    }
    console.error(`azuchi-ops: unexpected failure: ${error instanceof Error ? error.message : String(error)} (AZUCHI_OPS_DEBUG=1 for the stack)`);
    if (process.env.AZUCHI_OPS_DEBUG) console.error(error);
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

process.exit(await main(process.argv.slice(2)));
