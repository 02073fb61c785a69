// Prints vitest's totals from its JSON reports (one per run: .ci/run runs the
// suite on one Node and the unit layer on another), a line per report, then
// the sum as one plain line: "N passed, N failed" (", N skipped" when any
// were skipped). A missing or unreadable report counts as one failed test.
import { readFileSync } from "node:fs";

const paths = process.argv.length > 2 ? process.argv.slice(2) : ["test-results/vitest.json"];
const total = { passed: 0, failed: 0, skipped: 0 };
let ranNone = false;

function line({ passed, failed, skipped }) {
  const counts = `${passed} passed, ${failed} failed`;
  return skipped > 0 ? `${counts}, ${skipped} skipped` : counts;
}

for (const path of paths) {
  let report;
  try {
    report = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    console.log(`no test report at ${path}: ${err.message}`);
    total.failed += 1;
    continue;
  }
  const run = {
    passed: report.numPassedTests ?? 0,
    failed: report.numFailedTests ?? 0,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
  };
  if (run.passed === 0) ranNone = true;
  for (const key of Object.keys(total)) total[key] += run[key];
  if (paths.length > 1) console.log(`${path}: ${line(run)}`);
}
console.log(line(total));
process.exit(total.failed === 0 && !ranNone ? 0 : 1);
