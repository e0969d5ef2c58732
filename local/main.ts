import { relative } from 'node:path';
import { SINK_HOST } from '../functions/contract';
import { HELP_TEXT, parseRunnerOptions, UsageError, type RunnerOptions } from './options';
import { RunnerStartError, startLocalRunner, type LocalRunner, type RunnerOutput, type StopSummary } from './runner';

/** Exit codes of `npm start`. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** The line tests and tools look for: the URL to post Ecwid notifications to. */
export const READY_PREFIX = 'ecwid-events local runner ready: POST Ecwid notifications to ';

const stdoutOutput: RunnerOutput = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** A second signal sooner than this after the first is the same one delivered twice, not a second request. */
const REPEATED_SIGNAL_MS = 1000;

/**
 * `npm start -- [options]`: parse, start, print where to post, run until SIGINT/SIGTERM,
 * stop cleanly and say what was left on the queues. Resolves with the exit code for a
 * run that ends by itself (help, bad options, failed start); a running runner exits from
 * its signal handler.
 */
export async function runFromCommandLine(argv: readonly string[], output: RunnerOutput = stdoutOutput): Promise<number | undefined> {
  let options: RunnerOptions;
  try {
    const parsed = parseRunnerOptions(argv);
    if (parsed.help) {
      output.out(HELP_TEXT);
      return EXIT.ok;
    }
    options = parsed.options;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    output.err(`error: ${error.message}\nRun npm start -- --help to see the options.`);
    return EXIT.usage;
  }

  let runner: LocalRunner;
  try {
    runner = await startLocalRunner(options, output);
  } catch (error) {
    // A start error is meant for the user; anything else is a bug, shown with its stack.
    const message =
      error instanceof RunnerStartError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    output.err(`error: the local runner could not start: ${message}`);
    return EXIT.failed;
  }

  if (!options.quiet) {
    const relativeDir = relative(process.cwd(), options.instancesDir);
    const where = relativeDir === '' ? '.' : relativeDir.startsWith('..') ? options.instancesDir : relativeDir;
    output.out(`instances: ${where}/*.json (edits are picked up without a restart)`);
    output.out(
      `queue:     ${runner.queues.queueUrl} (${options.sqsEndpoint ? 'external endpoint' : 'embedded, in memory'}; DLQ ${runner.queues.deadLetterQueueUrl})`,
    );
    output.out(
      runner.ledgerFolder === undefined
        ? `ledger:    table ${runner.ledgerTableName} at ${runner.dynamodbEndpoint} (external endpoint)`
        : `ledger:    ${displayPath(runner.ledgerFolder)} (kept across restarts: a repeated event is answered as a duplicate; npm run cli -- events list --local)`,
    );
    output.out(
      runner.demoEcwidApi
        ? `ecwid api: demo stand-in at ${runner.ecwidApiBaseUrl} (answers from the notifications it sees; --ecwid-api URL for a real one)`
        : `ecwid api: ${runner.ecwidApiBaseUrl}`,
    );
    output.out(`callbacks: http://${SINK_HOST}/... is printed here; other callback URLs get real POSTs`);
  }
  output.out(`${READY_PREFIX}${runner.ingestUrl} (or ${runner.ingestUrl}/{instanceId}); Ctrl-C stops`);

  let firstSignalAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (firstSignalAt !== undefined) {
      // Ctrl-C under `npm start` arrives twice: from the terminal, and forwarded by npm.
      if (now - firstSignalAt < REPEATED_SIGNAL_MS) return;
      output.err(`${signal} again: exiting without a clean stop`);
      process.exit(EXIT.interrupted);
    }
    firstSignalAt = now;
    output.out(`${signal}: stopping (finishing the deliveries in progress)...`);
    runner
      .stop()
      .then((summary) => {
        output.out(stopMessage(summary, options.sqsEndpoint === undefined));
        process.exit(EXIT.ok);
      })
      .catch((error: unknown) => {
        output.err(`error while stopping: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(EXIT.failed);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return undefined;
}

/** A path relative to the working folder when it is inside it. */
function displayPath(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown === '' ? '.' : shown.startsWith('..') ? path : shown;
}

export function stopMessage(summary: StopSummary, embedded: boolean): string {
  if (summary.queued < 0) return 'Stopped (the queues could not be counted).';
  const events = (count: number) => `${count} event${count === 1 ? '' : 's'}`;
  const left = `Stopped: ${events(summary.queued)} still queued, ${events(summary.deadLettered)} in the dead-letter queue`;
  if (summary.queued + summary.deadLettered === 0) return `${left}.`;
  return embedded ? `${left} (the embedded queue was in memory: they are gone).` : `${left} (kept by the SQS endpoint).`;
}
