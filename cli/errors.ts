/**
 * Errors the CLI reports as one line on stderr (no stack trace unless --debug).
 * Exit codes: 1 the operation failed, 2 bad usage or invalid input; test-event adds 3 (the
 * event ended in the dead-letter queue) and 4 (timed out before the outcome was known).
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, eventFailed: 3, timeout: 4 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
    /** Extra machine-readable detail for --json output (never secrets). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Wrong command line: unknown option, missing argument, bad value. */
export class UsageError extends CliError {
  constructor(
    message: string,
    /** The command whose `--help` explains the usage, e.g. `instances create`. */
    readonly command?: string,
  ) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/**
 * Error-like, by shape rather than instanceof: errors from Node internals or the SDK can come
 * from another realm (e.g. under Jest) and fail `instanceof Error`.
 */
export const isErrorLike = (value: unknown): value is Error =>
  typeof value === 'object' && value !== null && typeof (value as Error).message === 'string';

/** The one line printed for an unexpected error: its message, first line only. */
export function oneLine(error: unknown): string {
  const text = isErrorLike(error) ? error.message || error.name : String(error);
  const firstLine = text.split(/\r?\n/).find((line) => line.trim() !== '') ?? 'unknown error';
  return firstLine.trim();
}
