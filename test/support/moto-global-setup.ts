import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { MOTO_ENDPOINT_ENV, MOTO_INSTALL_HINT, MOTO_UNAVAILABLE_ENV, isCi } from './moto-env';

/** globalSetup and globalTeardown share this global (test files never see it). */
declare global {
  var __MOTO_SERVER__: ChildProcess | undefined;
}

const STARTUP_TIMEOUT_MS = 20_000;

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitUntilAnswering(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`moto_server exited during startup (${child.exitCode ?? child.signalCode}):\n${output()}`);
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`moto_server did not answer at ${endpoint} within ${STARTUP_TIMEOUT_MS} ms:\n${output()}`);
}

/**
 * Starts one moto_server for the whole integration run and publishes its URL in
 * MOTO_ENDPOINT (workers inherit the environment). Without moto the integration suites skip,
 * except under CI=true, where the run fails here.
 */
export default async function startMoto(): Promise<void> {
  if (process.env[MOTO_ENDPOINT_ENV]) {
    console.log(`\nIntegration tests use the moto_server at ${process.env[MOTO_ENDPOINT_ENV]} (MOTO_ENDPOINT)`);
    return;
  }
  if (!onPath('moto_server')) {
    const reason = `moto_server not found on PATH: ${MOTO_INSTALL_HINT}`;
    if (isCi()) throw new Error(`${reason} (CI=true: integration tests must run, not skip)`);
    process.env[MOTO_UNAVAILABLE_ENV] = reason;
    console.warn(`\nIntegration tests will be SKIPPED: ${reason}`);
    return;
  }

  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn('moto_server', ['-p', String(port), '-H', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    // Keep only the tail: moto logs every request.
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  child.on('error', (error) => collect(Buffer.from(`spawn error: ${error.message}\n`)));
  // Never leave the server behind, even when Jest exits without running globalTeardown.
  const stopOnExit = () => child.kill('SIGTERM');
  process.once('exit', stopOnExit);

  try {
    await waitUntilAnswering(endpoint, child, () => output);
  } catch (error) {
    child.kill('SIGTERM');
    throw error;
  }
  // Stop reading its request log once it is up, so the pipes never fill and block it.
  child.stdout?.removeListener('data', collect);
  child.stderr?.removeListener('data', collect);
  child.stdout?.resume();
  child.stderr?.resume();

  globalThis.__MOTO_SERVER__ = child;
  process.env[MOTO_ENDPOINT_ENV] = endpoint;
  console.log(`\nStarted moto_server (pid ${child.pid}) at ${endpoint}`);
}
