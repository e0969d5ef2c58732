/**
 * What a running local runner (`npm start`) publishes about itself, so the CLI's `--local`
 * mode can find it. Written on start, removed on a clean stop.
 */
export const LOCAL_STATE_FILE = '.local-state/runner.json';

export interface LocalRunnerState {
  readonly pid: number;
  /** Shared URL to register, e.g. http://127.0.0.1:3000/events/ecwid */
  readonly ingestUrl: string;
  /** SQS-compatible endpoint (embedded emulator or --sqs-endpoint). */
  readonly sqsEndpoint: string;
  readonly region: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** Folder of instance JSON files (id = file name without .json). */
  readonly instancesDir: string;
  /** Folder of the poller's per-instance state (checkpoints, leases), when the runner polls. */
  readonly pollStateDir?: string;
  /** The Ecwid API the runner polls and verifies against (for `instances poll --local`). */
  readonly ecwidApiBaseUrl?: string;
}
