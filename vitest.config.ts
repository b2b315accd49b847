import { defineConfig } from "vitest/config";

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
  },
});
