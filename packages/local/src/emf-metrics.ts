/**
 * The local CloudWatch: the handlers write their metrics as EMF lines on stdout (Powertools
 * Metrics), as in Lambda; here the stack takes those lines off stdout (they would flood the
 * console) and aggregates them for GET /dev/metrics, which `azuchi-ops status` reads. The
 * handlers know nothing of it. Lines from a worker-thread consumer reach this process's stdout
 * through the worker's pipe, so they are caught too.
 */
import type { MetricSeries, MetricsSnapshot } from "@azuchi/core";
import * as z from "zod";

/** One EMF document, as CloudWatch Logs would extract it. */
const EmfDocument = z.looseObject({
  _aws: z.looseObject({
    Timestamp: z.number(),
    CloudWatchMetrics: z
      .array(
        z.looseObject({
          Namespace: z.string().min(1),
          Dimensions: z.array(z.array(z.string())),
          Metrics: z.array(z.looseObject({ Name: z.string().min(1), Unit: z.string().optional() })).min(1),
        }),
      )
      .min(1),
  }),
});
export type EmfDocument = z.infer<typeof EmfDocument>;

/** The line as an EMF document, or undefined when it is any other output. */
export function parseEmfLine(line: string): EmfDocument | undefined {
  if (!line.startsWith("{") || !line.includes('"_aws"')) return undefined;
  try {
    const parsed = EmfDocument.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Percentiles are over the latest values of a series; count, sum, min and max over all of them. */
const KEPT_VALUES = 10_000;

interface Series extends Omit<MetricSeries, "p50" | "p95"> {
  values: number[];
}

export class MetricsAggregator {
  readonly since: number;
  private readonly series = new Map<string, Series>();

  constructor(since = Date.now()) {
    this.since = since;
  }

  add(document: EmfDocument): void {
    const fields = document as Record<string, unknown>;
    for (const directive of document._aws.CloudWatchMetrics) {
      const dimensions: Record<string, string> = {};
      for (const key of directive.Dimensions.flat().sort()) if (typeof fields[key] === "string") dimensions[key] = fields[key];
      for (const metric of directive.Metrics) {
        const raw = fields[metric.Name];
        const values = (Array.isArray(raw) ? raw : [raw]).filter((value): value is number => typeof value === "number" && Number.isFinite(value));
        if (values.length > 0) this.record(metric.Name, metric.Unit ?? "None", dimensions, values);
      }
    }
  }

  snapshot(): MetricsSnapshot {
    const metrics = [...this.series.values()].map(({ values, ...series }) => {
      const sorted = [...values].sort((a, b) => a - b);
      return { ...series, p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) };
    });
    metrics.sort((a, b) => a.name.localeCompare(b.name) || JSON.stringify(a.dimensions).localeCompare(JSON.stringify(b.dimensions)));
    return { since: this.since, metrics };
  }

  private record(name: string, unit: string, dimensions: Record<string, string>, values: number[]): void {
    const key = JSON.stringify([name, dimensions]);
    let series = this.series.get(key);
    if (!series) {
      series = { name, unit, dimensions, count: 0, sum: 0, min: Infinity, max: -Infinity, values: [] };
      this.series.set(key, series);
    }
    for (const value of values) {
      series.count++;
      series.sum += value;
      series.min = Math.min(series.min, value);
      series.max = Math.max(series.max, value);
      series.values.push(value);
    }
    if (series.values.length > KEPT_VALUES) series.values.splice(0, series.values.length - KEPT_VALUES);
  }
}

/** Nearest rank over sorted values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0;
}

/**
 * Takes EMF lines off process.stdout and hands them to onDocument; every other output passes
 * through unchanged. Returns the function that puts stdout back.
 */
export function captureEmfLines(onDocument: (document: EmfDocument) => void): () => void {
  const stdout = process.stdout;
  const original = stdout.write;
  const write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    const text = typeof chunk === "string" ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString("utf8") : undefined;
    // Powertools writes a whole document and its newline in one call.
    if (text === undefined || !text.includes('"_aws"') || !text.endsWith("\n")) return Reflect.apply(original, this, [chunk, ...rest]) as boolean;
    const kept: string[] = [];
    for (const line of text.slice(0, -1).split("\n")) {
      const document = parseEmfLine(line);
      if (document) onDocument(document);
      else kept.push(line);
    }
    if (kept.length > 0) return Reflect.apply(original, this, [`${kept.join("\n")}\n`, ...rest.filter((arg) => typeof arg === "function")]) as boolean;
    const callback = rest.find((arg): arg is () => void => typeof arg === "function");
    if (callback) process.nextTick(callback);
    return true;
  };
  stdout.write = write as typeof stdout.write;
  return () => {
    if (stdout.write === write) stdout.write = original;
  };
}

/** The stack's collector: captures from now on, until stop(). */
export function collectEmfMetrics(): { snapshot(): MetricsSnapshot; stop(): void } {
  const aggregator = new MetricsAggregator();
  const stop = captureEmfLines((document) => aggregator.add(document));
  return { snapshot: () => aggregator.snapshot(), stop };
}
