/**
 * Runs `npm start` the way a user does (the tsx binary on bin/local.ts), in its own process,
 * and finds it through the ready line and the state file it publishes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { countMessages } from '../../../functions/adapters/aws/sqs-queue-counts';
import type { LocalRunnerState } from '../../../functions/contract';

export const ROOT = join(__dirname, '..', '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const READY = /ready: POST Ecwid notifications to (http:\/\/127\.0\.0\.1:(\d+))\/events\/ecwid /;
const START_TIMEOUT_MS = 20_000;

export interface Exited {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunnerProcess {
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  readonly ingestUrl: string;
  readonly stateFile: string;
  readonly state: LocalRunnerState;
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Sends the signal and resolves when the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<Exited>;
}

const running = new Set<ChildProcess>();

/** Kills whatever a failed test left running (call from afterAll). */
export function killLeftovers(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** A scratch folder, removed by the returned function. */
export function tempDir(label: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `ecwid-e2e-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `<dir>/<id>.json` for each instance document. */
export function writeInstances(dir: string, instances: Readonly<Record<string, unknown>>): void {
  for (const [id, document] of Object.entries(instances)) writeFileSync(join(dir, `${id}.json`), JSON.stringify(document, null, 2));
}

/**
 * Starts the runner on a free port with `args` (plus --port 0 and a private state file, removed
 * on stop). `options.stateFile`: this one instead, kept on stop (a restart with the same state
 * file finds its ledger again).
 */
export async function startRunner(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  options: { readonly stateFile?: string } = {},
): Promise<RunnerProcess> {
  const stateDir = options.stateFile === undefined ? tempDir('state') : { dir: dirname(options.stateFile), remove: () => undefined };
  const stateFile = options.stateFile ?? join(stateDir.dir, 'runner.json');
  const child = spawn(TSX, ['bin/local.ts', '--port', '0', '--state-file', stateFile, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exited>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve({ code, stdout, stderr });
    }),
  );

  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the runner did not get ready in ${START_TIMEOUT_MS} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, START_TIMEOUT_MS);
    const onData = () => {
      const match = READY.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve(match[1]);
    };
    child.stdout.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the runner exited (${code}) before it was ready\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    });
  });

  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as LocalRunnerState;
  return {
    origin,
    ingestUrl: `${origin}/events/ecwid`,
    stateFile,
    state,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const result = await exited;
      stateDir.remove();
      return result;
    },
  };
}

/** Runs the runner to completion (help, bad options) and returns its exit code and output. */
export function runToExit(command: string, args: readonly string[], timeoutMs = 20_000): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not exit in ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

export const tsxRunner = (args: readonly string[]): Promise<Exited> => runToExit(TSX, ['bin/local.ts', ...args]);

/** An SQS client for the runner's queues (the URLs from its state file). */
export function runnerSqs(state: LocalRunnerState): SQSClient {
  return new SQSClient({
    endpoint: state.sqsEndpoint,
    region: state.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** Messages in a queue: visible + in flight + delayed (the runner's own count). */
export const queueDepth = countMessages;

/** Polls `condition` every 50 ms until it holds; fails with `describe()` after `timeoutMs`. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  describe: () => string | Promise<string>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${await describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
