/**
 * Stopping `npm start` the ways people do: `kill <pid of npm>` (SIGTERM), and Ctrl-C in a
 * terminal (SIGINT to the whole foreground process group, which npm then forwards once more).
 * Either way every process it started must end after a clean stop, and the port must be free.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { eventually, ROOT, tempDir } from './support/runner-process';

jest.setTimeout(60_000);

const READY = /ready: POST Ecwid notifications to http:\/\/127\.0\.0\.1:(\d+)\/events\/ecwid /;

interface NpmStart {
  readonly npm: ChildProcess;
  readonly port: number;
  /** The runner's own pid, from its state file. */
  readonly runnerPid: number;
  readonly stateFile: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];
const scratch = tempDir('signals');

afterAll(() => {
  for (const child of started) if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
  scratch.remove();
});

/** `npm start` in its own process group, as a shell starts a foreground job. */
async function npmStart(label: string): Promise<NpmStart> {
  const stateFile = join(scratch.dir, `${label}.json`);
  const npm = spawn('npm', ['start', '--', '--port', '0', '--poll-interval', '0', '--state-file', stateFile], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(npm);
  let output = '';
  npm.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  npm.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.on('exit', (code, signal) => resolve({ code, signal })),
  );
  await eventually(() => READY.test(output), () => `npm start never got ready:\n${output}`, 30_000);
  const port = Number(READY.exec(output)![1]);
  const { pid: runnerPid } = JSON.parse(readFileSync(stateFile, 'utf8')) as { pid: number };
  return { npm, port, runnerPid, stateFile, output: () => output, exited };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Processes whose command line names this run's state file: whatever npm started for it. */
function processesOf(stateFile: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(stateFile);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function expectAllGone(run: NpmStart): Promise<void> {
  await run.exited;
  await eventually(() => !alive(run.runnerPid), () => `runner ${run.runnerPid} is still running`, 10_000);
  expect(processesOf(run.stateFile)).toEqual([]);
  expect(await portIsFree(run.port)).toBe(true);
  expect(run.output()).toContain('Stopped: 0 events still queued');
  expect(run.output()).not.toContain('without a clean stop');
  // A clean stop removes the state file the CLI's --local mode reads.
  expect(existsSync(run.stateFile)).toBe(false);
}

test('SIGTERM to the npm start PID stops every process it started and frees the port', async () => {
  const run = await npmStart('sigterm');
  expect(run.runnerPid).not.toBe(run.npm.pid);
  expect(processesOf(run.stateFile)).toContain(run.runnerPid);
  process.kill(run.npm.pid!, 'SIGTERM');
  await expectAllGone(run);
});

test('Ctrl-C (SIGINT to the process group, then forwarded by npm) is one clean stop, not a forced exit', async () => {
  const run = await npmStart('sigint');
  process.kill(-run.npm.pid!, 'SIGINT');
  await expectAllGone(run);
});
