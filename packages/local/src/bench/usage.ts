/** One process's CPU time and peak resident memory, as the bench adds them up. */
export interface ProcessUsage {
  name: string;
  /** User + system CPU since the process started, ms. */
  cpuMs: number;
  /** Peak resident set size, bytes. */
  maxRssBytes: number;
}

export function processUsage(name: string): ProcessUsage {
  const usage = process.resourceUsage();
  return { name, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, maxRssBytes: usage.maxRSS * 1024 };
}
