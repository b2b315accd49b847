import { describe, expect, it } from "vitest";
import { controls, drills } from "../../packages/local/src/drills/drills.ts";
import { runDrill } from "../../packages/local/src/drills/harness.ts";

// The short fault drills, the same functions `npm run drills` runs; the long ones
// (lock expiry, long outages, restarts) run only there. Each starts a stack of its own.
describe("fault drills", () => {
  for (const drill of drills.filter((d) => !d.long)) {
    it(`${drill.name}: ${drill.title}`, { timeout: 120_000 }, async () => {
      const lines: string[] = [];
      const result = await runDrill(drill, (line) => lines.push(line));
      expect(result.violations, lines.join("\n")).toEqual([]);
      expect(result.figures.sent).toBe(drill.sessions * drill.turns);
      expect(result.figures.answered + result.figures.told).toBeGreaterThanOrEqual(result.figures.sent);
    });
  }

  it("reports a reply deleted behind the system's back as lost, and a USER message no ack named as duplicated", { timeout: 120_000 }, async () => {
    const [lost, extra] = [controls.find((c) => c.name === "control-lost-reply")!, controls.find((c) => c.name === "control-extra-message")!];
    const lostResult = await runDrill(lost);
    expect(lostResult.passed).toBe(false);
    expect(lostResult.figures, lostResult.violations.join("\n")).toMatchObject({ sent: 2, lost: 1 });
    const extraResult = await runDrill(extra);
    expect(extraResult.passed).toBe(false);
    expect(extraResult.figures, extraResult.violations.join("\n")).toMatchObject({ duplicated: 1 });
  });
});
