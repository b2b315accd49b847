import * as z from "zod";
import type { DlqReader } from "./dlq-reader.ts";
import { age, table, time, truncate } from "./format.ts";
import { queueCounts, type Target } from "./target.ts";
import { MetricsSnapshot } from "@azuchi/core";


const Events = z.object({ events: z.array(z.object({ time: z.string().optional(), "detail-type": z.string(), detail: z.unknown() }).loose()) });
const RunFailed = z.object({ sessionId: z.string(), jobId: z.string(), reason: z.string(), attempt: z.number(), final: z.boolean() });

interface Failure {
  at: string | null;
  jobId: string | null;
  sessionId: string | null;
  reason: string;
  source: "dead-letter" | "event";
  final: boolean;
}

/**
 * What `status` shows: AgentJobs and the dead-letter queue (counts from GetQueueAttributes; the
 * oldest dead letter by reading the DLQ, which changes nothing), the last failures, and the
 * metrics (GET /dev/metrics locally; on AWS the CloudWatch dashboard azuchi-<stage>).
 */
export async function status(target: Target, reader: DlqReader) {
  const jobs = await queueCounts(target, target.jobs);
  const { letters } = await reader.readAll();
  const dlq = await queueCounts(target, target.dlq);
  const oldest = letters.reduce<number | undefined>((min, l) => (l.deadLetteredAt !== undefined && (min === undefined || l.deadLetteredAt < min) ? l.deadLetteredAt : min), undefined);
  const failures: Failure[] = letters.map((l) => ({ at: l.lastFailedAt === undefined ? null : new Date(l.lastFailedAt).toISOString(), jobId: l.jobId ?? null, sessionId: l.sessionId ?? null, reason: l.reason, source: "dead-letter", final: true }));
  if (target.localUrl) failures.push(...(await localFailures(target.localUrl)));
  failures.sort((a, b) => (b.at ?? "").localeCompare(a.at ?? ""));
  const last = failures.slice(0, 10);
  const metrics = target.localUrl ? await localMetrics(target.localUrl) : undefined;
  const dashboard = target.kind === "aws" ? `azuchi-${target.stage ?? "<stage>"}` : undefined;

  const lines = [
    `target        ${target.kind === "local" ? `local stack ${target.localUrl}` : `AWS${target.stage ? ` stage ${target.stage}` : ""}`}`,
    "",
    table(["QUEUE", "DEPTH", "IN FLIGHT", "DELAYED", "OLDEST"], [
      ["AgentJobs", String(jobs.visible), String(jobs.inFlight), String(jobs.delayed), target.kind === "aws" ? `see ApproximateAgeOfOldestMessage on ${dashboard}` : "-"],
      ["AgentJobsDlq", String(dlq.visible + dlq.inFlight), String(Math.max(0, dlq.inFlight - reader.held.size)), String(dlq.delayed), oldest === undefined ? "-" : `${age(Date.now() - oldest)} (${time(oldest)})`],
    ]),
    "",
    last.length === 0 ? "last failures: none" : "last failures:",
    ...(last.length === 0 ? [] : [table(["AT", "JOB", "SESSION", "FINAL", "REASON"], last.map((f) => [f.at ?? "-", f.jobId ?? "-", f.sessionId ?? "-", f.final ? (f.source === "dead-letter" ? "dead letter" : "given up") : "retried", truncate(f.reason, 70)])).replace(/^/gm, "  ")]),
    "",
    ...metricsLines(metrics, dashboard),
  ];
  const json = {
    target: { kind: target.kind, jobsQueueUrl: target.jobs.url, dlqUrl: target.dlq.url, ...(target.localUrl ? { localUrl: target.localUrl } : {}), ...(target.stage ? { stage: target.stage } : {}) },
    jobs: { depth: jobs.visible, inFlight: jobs.inFlight, delayed: jobs.delayed, oldestMessageAgeSeconds: null },
    dlq: { depth: dlq.visible + dlq.inFlight, oldestDeadLetterAt: oldest === undefined ? null : new Date(oldest).toISOString(), oldestDeadLetterAgeSeconds: oldest === undefined ? null : Math.round((Date.now() - oldest) / 1000) },
    lastFailures: last,
    metrics: metrics ?? null,
    ...(dashboard ? { dashboard } : {}),
  };
  return { json, text: lines.join("\n") };
}

function metricsLines(metrics: MetricsSnapshot | undefined, dashboard: string | undefined): string[] {
  if (!metrics) return [dashboard ? `metrics: in CloudWatch, dashboard ${dashboard}` : "metrics: not available from this target"];
  if (metrics.metrics.length === 0) return [`metrics since ${time(metrics.since)}: none yet`];
  const n = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  return [
    `metrics since ${time(metrics.since)}:`,
    table(["NAME", "DIMENSIONS", "UNIT", "COUNT", "SUM", "P50", "P95", "MAX"], metrics.metrics.map((m) => [
      m.name,
      Object.entries(m.dimensions).map(([k, v]) => `${k}=${v}`).join(",") || "-",
      m.unit,
      String(m.count),
      n(m.sum),
      n(m.p50),
      n(m.p95),
      n(m.max),
    ])).replace(/^/gm, "  "),
  ];
}

async function localMetrics(base: string): Promise<MetricsSnapshot | undefined> {
  try {
    const response = await fetch(`${base}/dev/metrics`);
    if (response.status !== 200) return undefined;
    const parsed = MetricsSnapshot.safeParse(await response.json());
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** AgentRunFailed events the local stack saw (GET /dev/events keeps the last 200 events). */
async function localFailures(base: string): Promise<Failure[]> {
  try {
    const response = await fetch(`${base}/dev/events`);
    if (response.status !== 200) return [];
    const parsed = Events.safeParse(await response.json());
    if (!parsed.success) return [];
    return parsed.data.events.flatMap((event) => {
      if (event["detail-type"] !== "AgentRunFailed") return [];
      const detail = RunFailed.safeParse(event.detail);
      if (!detail.success) return [];
      return [{ at: event.time ?? null, jobId: detail.data.jobId, sessionId: detail.data.sessionId, reason: detail.data.reason, source: "event" as const, final: detail.data.final }];
    });
  } catch {
    return [];
  }
}
