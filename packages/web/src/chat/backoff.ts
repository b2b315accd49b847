/** Reconnect delays: quick at first (most drops are blips), then slower, never in lockstep with other tabs. */
export const RECONNECT = { firstMs: 500, maxMs: 30_000, factor: 2 } as const;

/**
 * The wait before reconnect attempt `attempt` (1 = the first after a drop): exponential,
 * capped, with "full jitter" between half and all of it so a server restart is not met by
 * every tab at the same instant. `random` is in [0, 1).
 */
export function reconnectDelay(attempt: number, random: number): number {
  const ceiling = Math.min(RECONNECT.maxMs, RECONNECT.firstMs * RECONNECT.factor ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}
