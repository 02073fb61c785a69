// Prints vitest's totals from its JSON report as one plain line:
// "N passed, N failed" (", N skipped" when any were skipped).
import { readFileSync } from "node:fs";

const path = process.argv[2] ?? "test-results/vitest.json";
let report;
try {
  report = JSON.parse(readFileSync(path, "utf8"));
} catch (err) {
  console.log(`no test report at ${path}: ${err.message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const line = `${report.numPassedTests} passed, ${report.numFailedTests} failed`;
console.log(skipped > 0 ? `${line}, ${skipped} skipped` : line);
process.exit(report.numFailedTests === 0 && report.numPassedTests > 0 ? 0 : 1);
