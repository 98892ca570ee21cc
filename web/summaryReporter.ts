import type { Reporter, SerializedError, TestModule } from "vitest/node";

/**
 * Ends a run with one plain line, "vitest: N passed, N failed[, N skipped]", which CI tooling
 * reads without knowing vitest's own summary format. A test file that failed to load or whose
 * hooks failed (its tests then show as skipped), and any unhandled error, count as failed: a
 * broken run can never look green.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const testModule of testModules) {
      let failedTests = 0;
      for (const test of testModule.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed += 1;
        else if (state === "failed") failedTests += 1;
        else skipped += 1;
      }
      failed += failedTests;
      if (failedTests === 0 && testModule.state() === "failed") failed += 1;
    }
    const line = `vitest: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`;
    process.stdout.write(`${line}\n`);
  }
}
