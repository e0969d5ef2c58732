// Prints the run's totals as one plain line ("N passed, N failed, N skipped") after Jest's own
// summary (on stderr, where Jest writes its summary, so it comes last), the form CI logs are read for.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stderr.write(`${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`);
  }
}
module.exports = SummaryReporter;
