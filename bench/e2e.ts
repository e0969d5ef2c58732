/**
 * End to end through the local runner (`npm start`, spawned as its own process): 5000 signed
 * order.created webhooks (one order each, so 5000 FIFO message groups, over 100 stores) posted to its ingest URL
 * with 50 requests in flight, counted at a local callback server; then again with the callback
 * failing 20% of the requests (seeded, so every run fails the same ones) and a short retry schedule.
 *
 * - e2e_events_per_s: distinct events delivered / (last delivery - first post).
 * - e2e_p99_ms: 99th percentile of post start -> first successful callback arrival.
 * - e2e_lost: events ingest accepted (200) that never reached the callback (0 expected).
 * - e2e_throughput_ratio: e2e_events_per_s / e2e_bare_forwarder_events_per_s, the same posts
 *   through bench/bare-forwarder.cjs (receive, one JSON.parse, POST on to the same callback; its
 *   own process, like the runner) right after, in the same run: goal >= 0.5 with 0 lost.
 * - *_with_faults: the same with 20% of callback requests answered 500 (--retry-schedule 1,2,
 *   --max-attempts 10: an event is lost only after 10 failures in a row, p = 0.2^10).
 *
 * Everything is on 127.0.0.1; every loop is bounded (posts by count, waiting by an idle timeout and
 * a deadline); the runner is stopped with SIGTERM (its own pid) and killed if it does not stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deliveryId } from '../functions/core/event';
import {
  benchInstance,
  type Figures,
  nowMs,
  orderCreatedBody,
  percentile,
  REPO_ROOT,
  round,
  seededRandom,
  sleep,
  webhookHeaders,
  startBenchEcwidApi,
} from './support';
import type { EcwidApiStandIn } from '../testkit/ecwid-api';
import { rawServer, readBody } from '../testkit/servers';

export const E2E_EVENTS = 5000;
export const E2E_CONCURRENCY = 50;
export const E2E_FAULT_RATE = 0.2;
const RETRY_SCHEDULE = '1,2';
const MAX_ATTEMPTS = 10;
/**
 * The events are spread over this many stores, each its own instance and Ecwid token: deliver
 * reads Ecwid through a per-token budget of 10 requests a second (Ecwid's 600 a minute), so
 * 5000 orders of one store measured that budget (10 events/s), not the pipeline. 100 tokens
 * allow 1,000 reads a second, above what the runner delivers on this machine.
 */
const E2E_STORES = 100;
const FIRST_STORE_ID = 5001;
const instanceIdOf = (store: number) => `bench-e2e-${store}`;
/** Waiting for the last deliveries stops after this long without a new one... */
const IDLE_TIMEOUT_MS = 30_000;
/** ...and a phase never takes longer than this in all (posting + waiting). */
const PHASE_DEADLINE_MS = 300_000;
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
/** The environment as the bench started (other groups set function variables in this process later). */
const STARTING_ENV = { ...process.env };

export interface E2eOptions {
  readonly events: number;
  readonly concurrency: number;
}

interface PhaseResult {
  readonly posted: number;
  readonly accepted: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly callbackRequests: number;
  readonly eventsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly postP99Ms: number;
  readonly timedOut: boolean;
  readonly stopLine: string;
}

/** The callback: records the first successful arrival of each delivery id; fails a share of requests. */
async function startCallback(faultRate: number, seed: number) {
  const random = seededRandom(seed);
  const arrivals = new Map<string, number>();
  let requests = 0;
  let duplicates = 0;
  let lastArrival = 0;
  const server = await rawServer((request, response) => {
    void readBody(request).then((text) => {
      requests += 1;
      if (random() < faultRate) {
        response.writeHead(500, { 'content-type': 'text/plain' }).end('bench fault');
        return;
      }
      let id = '';
      try {
        id = String((JSON.parse(text) as { message?: { eventId?: string } }).message?.eventId ?? '');
      } catch {
        // counted as a request, never as a delivery
      }
      if (id) {
        if (arrivals.has(id)) duplicates += 1;
        else {
          lastArrival = nowMs();
          arrivals.set(id, lastArrival);
        }
      }
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  return { server, arrivals, requests: () => requests, duplicates: () => duplicates, lastArrival: () => lastArrival };
}

interface Runner {
  readonly child: ChildProcess;
  readonly ingestUrl: string;
  output: () => string;
}

/** The local runner, or (bare) the yardstick forwarder, as its own process; resolves with its ingest URL once it is ready. */
async function startRunner(args: readonly string[], bare = false): Promise<Runner> {
  // node --import tsx: one process (its own pid), no npm/npx wrapper in between.
  // For looking into the runner: BENCH_RUNNER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/p' (written when it stops).
  const nodeArgs = (process.env.BENCH_RUNNER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const command = bare ? [path.join('bench', 'bare-forwarder.cjs'), ...args] : [...nodeArgs, '--import', 'tsx', path.join('bin', 'local.ts'), ...args];
  const child = spawn(process.execPath, command, {
    cwd: REPO_ROOT,
    env: {
      ...STARTING_ENV,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const keep = (text: string, chunk: Buffer) => (text + chunk.toString('utf8')).slice(-200_000);
  child.stdout!.on('data', (chunk: Buffer) => (stdout = keep(stdout, chunk)));
  child.stderr!.on('data', (chunk: Buffer) => (stderr = keep(stderr, chunk)));
  const output = () => `${stdout}\n${stderr}`;
  const started = nowMs();
  while (nowMs() - started < START_TIMEOUT_MS) {
    const ready = (bare ? /bare forwarder ready: POST to (\S+)/ : /local runner ready: POST Ecwid notifications to (\S+)/).exec(stdout);
    if (ready) return { child, ingestUrl: ready[1], output };
    if (child.exitCode !== null) throw new Error(`the local runner exited with ${child.exitCode}:\n${output().slice(-3000)}`);
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`the local runner did not become ready in ${START_TIMEOUT_MS} ms:\n${output().slice(-3000)}`);
}

/** SIGTERM (the runner finishes the deliveries in hand), SIGKILL after STOP_TIMEOUT_MS. */
async function stopRunner(runner: Runner): Promise<string> {
  const { child } = runner;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), sleep(STOP_TIMEOUT_MS).then(() => false)]);
    if (!stopped) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  return /Stopped[^\n]*/.exec(runner.output())?.[0] ?? '(no stop summary)';
}

function post(agent: http.Agent, url: URL, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    request.setTimeout(30_000, () => request.destroy(new Error('post timed out')));
    request.on('error', reject);
    request.end(body);
  });
}

async function runPhase(
  name: string,
  options: E2eOptions,
  faultRate: number,
  ecwid: EcwidApiStandIn,
  log: (line: string) => void,
  /** Post to the bare forwarder (bench/bare-forwarder.cjs) instead of the local runner. */
  bare = false,
): Promise<PhaseResult> {
  const callback = await startCallback(faultRate, 7);
  const work = mkdtempSync(path.join(tmpdir(), 'ecwid-events-bench-e2e-'));
  let runner: Runner | undefined;
  try {
    const instancesDir = path.join(work, 'instances');
    mkdirSync(instancesDir);
    const clientSecrets: string[] = [];
    for (let store = 0; store < E2E_STORES; store++) {
      const document = benchInstance(FIRST_STORE_ID + store, `${callback.server.origin}/hook`, store);
      clientSecrets.push(String(document.configuration['ecwid.client.secret']));
      writeFileSync(path.join(instancesDir, `${instanceIdOf(store)}.json`), JSON.stringify(document));
    }
    runner = bare ? await startRunner([`${callback.server.origin}/hook`], true) : await startRunner([
      '--port', '0',
      '--instances', instancesDir,
      '--retry-schedule', RETRY_SCHEDULE,
      '--max-attempts', String(MAX_ATTEMPTS),
      '--ecwid-api', ecwid.baseUrl,
      '--state-file', path.join(work, 'runner-state.json'),
      '--quiet',
    ]);
    const url = new URL(runner.ingestUrl);

    // Bodies are built before the clock starts.
    const requests = Array.from({ length: options.events }, (_, i) => {
      const store = i % E2E_STORES;
      const body = orderCreatedBody(FIRST_STORE_ID + store, i);
      return {
        body: JSON.stringify(body),
        headers: webhookHeaders(body, clientSecrets[store]),
        // The forwarder passes the Ecwid event on as it came: the callback sees its eventId.
        id: bare ? body.eventId : deliveryId({ instanceId: instanceIdOf(store), eventId: body.eventId }),
      };
    });
    const postedAt = new Map<string, number>();
    const postMs: number[] = [];
    let accepted = 0;
    let rejected = 0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
    const phaseStarted = nowMs();
    const deadline = phaseStarted + PHASE_DEADLINE_MS;
    let next = 0;
    const worker = async () => {
      while (next < requests.length && nowMs() < deadline) {
        const request = requests[next++];
        const started = nowMs();
        postedAt.set(request.id, started);
        let status = 0;
        try {
          status = await post(agent, url, request.body, request.headers);
        } catch {
          status = 0;
        }
        postMs.push(nowMs() - started);
        if (status === 200) accepted += 1;
        else {
          rejected += 1;
          postedAt.delete(request.id);
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    agent.destroy();
    const postsDone = nowMs();
    log(`e2e ${name}: ${accepted} accepted, ${rejected} refused in ${((postsDone - phaseStarted) / 1000).toFixed(1)} s; waiting for callbacks`);

    // Wait until every accepted event arrived, nothing arrived for IDLE_TIMEOUT_MS, or the deadline.
    let lastCount = -1;
    let lastProgress = nowMs();
    let timedOut = false;
    for (;;) {
      const delivered = [...postedAt.keys()].filter((id) => callback.arrivals.has(id)).length;
      if (delivered >= accepted) break;
      if (delivered !== lastCount) {
        lastCount = delivered;
        lastProgress = nowMs();
      }
      if (nowMs() - lastProgress > IDLE_TIMEOUT_MS || nowMs() > deadline) {
        timedOut = true;
        break;
      }
      await sleep(100);
    }
    const stopLine = await stopRunner(runner);
    runner = undefined;

    const latencies: number[] = [];
    for (const [id, started] of postedAt) {
      const arrived = callback.arrivals.get(id);
      if (arrived !== undefined) latencies.push(arrived - started);
    }
    const delivered = latencies.length;
    if (process.env.BENCH_DEBUG) {
      const arrivals = [...callback.arrivals.values()].sort((a, b) => a - b);
      const at = (q: number) => ((arrivals[Math.floor(q * (arrivals.length - 1))] - phaseStarted) / 1000).toFixed(2);
      log(`e2e ${name}: arrivals after start: first ${at(0)} s, 10% ${at(0.1)}, 50% ${at(0.5)}, 90% ${at(0.9)}, last ${at(1)}; posts done ${((postsDone - phaseStarted) / 1000).toFixed(2)} s`);
    }
    const seconds = (callback.lastArrival() - phaseStarted) / 1000;
    const result: PhaseResult = {
      posted: requests.length,
      accepted,
      delivered,
      lost: accepted - delivered,
      duplicates: callback.duplicates(),
      callbackRequests: callback.requests(),
      eventsPerSecond: delivered > 0 && seconds > 0 ? delivered / seconds : 0,
      p50Ms: delivered > 0 ? percentile(latencies, 50) : Number.NaN,
      p99Ms: delivered > 0 ? percentile(latencies, 99) : Number.NaN,
      postP99Ms: postMs.length > 0 ? percentile(postMs, 99) : Number.NaN,
      timedOut,
      stopLine,
    };
    log(
      `e2e ${name}: ${delivered}/${accepted} delivered, ${result.eventsPerSecond.toFixed(0)} events/s, ` +
        `p50 ${result.p50Ms.toFixed(0)} ms, p99 ${result.p99Ms.toFixed(0)} ms, ${result.callbackRequests} callback requests, ` +
        `${result.duplicates} duplicates${timedOut ? ', GAVE UP WAITING' : ''}; runner: ${stopLine}`,
    );
    return result;
  } finally {
    if (runner) await stopRunner(runner);
    await callback.server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

export async function benchE2e(log: (line: string) => void, options: E2eOptions = { events: E2E_EVENTS, concurrency: E2E_CONCURRENCY }): Promise<Figures> {
  const ecwid = await startBenchEcwidApi();
  try {
    const clean = await runPhase('no faults', options, 0, ecwid, log);
    // The yardstick right after, on the same machine in the same run: absolute rates here swing 2x between runs.
    const bareRun = await runPhase('bare forwarder', options, 0, ecwid, log, true);
    const faulty = await runPhase(`${E2E_FAULT_RATE * 100}% callback faults`, options, E2E_FAULT_RATE, ecwid, log);
    return {
      e2e_events_per_s: round(clean.eventsPerSecond, 0),
      e2e_p50_ms: round(clean.p50Ms, 0),
      e2e_p99_ms: round(clean.p99Ms, 0),
      e2e_lost: clean.lost,
      e2e_refused: clean.posted - clean.accepted,
      e2e_duplicates: clean.duplicates,
      e2e_post_p99_ms: round(clean.postP99Ms, 0),
      e2e_bare_forwarder_events_per_s: round(bareRun.eventsPerSecond, 0),
      e2e_bare_forwarder_lost: bareRun.lost,
      e2e_throughput_ratio: round(clean.eventsPerSecond / Math.max(bareRun.eventsPerSecond, 1e-9), 3),
      e2e_events_per_s_with_faults: round(faulty.eventsPerSecond, 0),
      e2e_p99_ms_with_faults: round(faulty.p99Ms, 0),
      e2e_lost_with_faults: faulty.lost,
      e2e_refused_with_faults: faulty.posted - faulty.accepted,
      e2e_duplicates_with_faults: faulty.duplicates,
      e2e_callback_requests_per_event_with_faults: round(faulty.callbackRequests / Math.max(1, faulty.delivered), 3),
    };
  } finally {
    await ecwid.close();
  }
}
