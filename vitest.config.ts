import { BaseSequencer, type TestSpecification } from "vitest/node";
import { defineConfig } from "vitest/config";

/**
 * Files that run whole stacks one after another, each over a minute on the 2-core CI machine
 * (drills.test.ts: nine drills, about 100 s). Vitest orders the files it has no timings for
 * (a clean clone: CI) by size, larger first, which put the short drills.test.ts last, alone on
 * one worker while the other had finished. They start first; the rest keep vitest's order.
 */
const LONGEST = ["test/drills/drills.test.ts", "test/ops/rehearsal.test.ts", "test/e2e/a11y.test.ts", "test/local/stack-restart.test.ts"];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification) => {
      const index = LONGEST.findIndex((path) => file.moduleId.endsWith(path));
      return index === -1 ? LONGEST.length : index;
    };
    return sorted.map((file, order) => ({ file, order })).sort((a, b) => rank(a.file) - rank(b.file) || a.order - b.order).map(({ file }) => file);
  }
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The handlers' EMF lines would flood the output (test/support/quiet-emf.ts).
    setupFiles: ["test/support/quiet-emf.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only make the servers each test starts compete.
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst },
  },
});
