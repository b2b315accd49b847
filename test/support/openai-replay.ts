import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { readTranscript, type Transcript } from "../fixtures/openai-responses/transcript.ts";

/** One request the replay server answered: its body as the openai client sent it, and when. */
export interface ReplayedRequest {
  body: Record<string, unknown>;
  headers: IncomingMessage["headers"];
  /** The transcript it was answered with. */
  answer: string;
  at: number;
}

export interface OpenAiReplay {
  /** The base URL the openai client takes (OPENAI_BASE_URL), ending in /v1. */
  url: string;
  /**
   * The transcripts the next requests are answered with, in order (by name, or a transcript a
   * test made from one); the last one keeps answering once the others are spent (a retried
   * request meets the same error).
   */
  answer(...answers: (string | Transcript)[]): void;
  requests: ReplayedRequest[];
  close(): Promise<void>;
}

/**
 * A stand-in for api.openai.com that answers POST /v1/responses with recorded transcripts
 * (test/fixtures/openai-responses), status line, headers and body byte for byte, so the real
 * openai client parses what OpenAI would send.
 */
export async function startOpenAiReplay(): Promise<OpenAiReplay> {
  let queue: Transcript[] = [];
  const requests: ReplayedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/responses") {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: "invalid_request_error", code: null, param: null } }));
        return;
      }
      const transcript = queue.length > 1 ? queue.shift()! : queue[0];
      if (!transcript) {
        res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "the replay has no transcript to answer with", type: "server_error", code: null, param: null } }));
        return;
      }
      requests.push({ body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>, headers: req.headers, answer: transcript.name, at: Date.now() });
      // content-length is the file's; the body is sent as written, so it stays right.
      res.writeHead(transcript.status, transcript.statusText, transcript.headers);
      res.end(transcript.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    answer: (...answers) => {
      queue = answers.map((answer) => (typeof answer === "string" ? readTranscript(answer) : answer));
    },
    requests,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
