import * as z from "zod/mini";
import "./zod-english.ts";

/** One metric series as the local stack aggregates the handlers' EMF: per name and dimensions. */
export const MetricSeries = z.object({
  name: z.string(),
  unit: z.string(),
  dimensions: z.record(z.string(), z.string()),
  count: z.number(),
  sum: z.number(),
  min: z.number(),
  max: z.number(),
  p50: z.number(),
  p95: z.number(),
});
export type MetricSeries = z.infer<typeof MetricSeries>;

/** The local stack's GET /dev/metrics: every series since it started (read by azuchi-ops status). */
export const MetricsSnapshot = z.object({
  since: z.int(),
  metrics: z.array(MetricSeries),
});
export type MetricsSnapshot = z.infer<typeof MetricsSnapshot>;
