import { UsageError } from "./errors.ts";

/** A plain text table: columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function truncate(text: string | undefined, length: number): string {
  if (text === undefined) return "";
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= length ? flat : `${flat.slice(0, length - 1)}…`;
}

export function time(ms: number | undefined): string {
  return ms === undefined ? "-" : new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export function age(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "15m", "2h", "7d" → ms. */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (!match) throw new UsageError(`${option}: a duration such as 30s, 15m, 2h or 7d, not "${text}"`);
  return Number(match[1]) * UNITS[match[2]!]!;
}

/** "5", "5/s" → messages per second. */
export function parseRate(text: string | undefined, max = 500): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)(?:\/s)?$/.exec(text.trim());
  const rate = match ? Number(match[1]) : NaN;
  if (!Number.isInteger(rate) || rate < 1 || rate > max) throw new UsageError(`--rate: messages per second, 1 to ${max} (e.g. --rate 10/s), not "${text}"`);
  return rate;
}

export function parseCount(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${option}: a whole number ≥ 1, not "${text}"`);
  return value;
}

/** A one-line progress bar on stderr, only when stderr is a terminal; silent otherwise. */
export class Progress {
  private readonly on = process.stderr.isTTY === true;
  private total: number | undefined;
  private readonly label: string;
  constructor(label: string, total?: number) {
    this.label = label;
    this.total = total;
  }
  update(done: number, total = this.total): void {
    this.total = total;
    if (!this.on) return;
    const width = 30;
    const filled = total ? Math.min(width, Math.round((done / Math.max(total, done)) * width)) : 0;
    const bar = total ? `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${Math.max(total, done)}` : `${done}`;
    process.stderr.write(`\r${this.label} ${bar}`);
  }
  done(): void {
    if (this.on) process.stderr.write("\n");
  }
}

/** Spaces sends out to at most `perSecond` (unlimited without one); shared by all sessions of a run. */
export class RateLimiter {
  private nextAt = 0;
  private readonly intervalMs: number;
  constructor(perSecond: number | undefined) {
    this.intervalMs = perSecond ? 1000 / perSecond : 0;
  }
  async take(): Promise<void> {
    if (this.intervalMs === 0) return;
    const now = Date.now();
    const at = Math.max(now, this.nextAt);
    this.nextAt = at + this.intervalMs;
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
  }
}
