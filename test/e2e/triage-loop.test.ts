/**
 * The operator's triage loop of docs/runbook.md ("A failed event: find, understand, replay"), on
 * `npm start` with the CLI's --local mode: a receiver that answers 503 dead-letters an event;
 * `dlq list` finds it by error class, `dlq show` says why and what to do, `dlq replay --wait`
 * replays it and watches the outcome. Three commands, plus the fix itself.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { runCli } from '../cli/run-cli';
import { instanceDocument, modernSamples, postWebhook } from './support/ecwid-posts';
import { eventually, killLeftovers, queueDepth, runnerSqs, startRunner, tempDir, writeInstances, type RunnerProcess } from './support/runner-process';
import { startCallbackServer, type CallbackServer } from './support/servers';

jest.setTimeout(60_000);

let folder: ReturnType<typeof tempDir>;
let callbacks: CallbackServer;
let runner: RunnerProcess;
let sqs: SQSClient;

beforeAll(async () => {
  folder = tempDir('triage');
  mkdirSync(join(folder.dir, 'instances'));
  // `/broken` is the receiver before its fix; `/fixed` where the fixed configuration points.
  callbacks = await startCallbackServer((request) => (request.path === '/fixed' ? 200 : 503));
  writeInstances(join(folder.dir, 'instances'), { shop: instanceDocument(1003, `${callbacks.origin}/broken`) });
  runner = await startRunner(['--instances', join(folder.dir, 'instances'), '--retry-schedule', '1', '--max-attempts', '2', '--quiet']);
  sqs = runnerSqs(runner.state);
});

afterAll(async () => {
  await runner?.stop();
  killLeftovers();
  sqs?.destroy();
  await callbacks?.close();
  folder?.remove();
});

const cli = (...args: string[]) => runCli(['--local', '--state-file', runner.stateFile, ...args], { cwd: folder.dir, env: {} });

test('find, understand and replay a failed event in three commands; history kept; an unchanged instance is held back', async () => {
  const sample = modernSamples().find((s) => s.name === 'order-created')!;
  expect((await postWebhook(`${runner.ingestUrl}/shop`, sample)).status).toBe(200);
  await eventually(
    async () => (await queueDepth(sqs, runner.state.deadLetterQueueUrl)) === 1,
    () => `the event never reached the DLQ; callbacks: ${callbacks.requests.length}\n${runner.stdout()}${runner.stderr()}`,
  );

  // 1. find: failures of the HTTP 5xx class, oldest first
  const found = await cli('dlq', 'list', '--error', 'http-5xx');
  expect(found.code).toBe(0);
  const row = found.stdout.split('\n').find((line) => /\bshop\b/.test(line))!;
  expect(row).toMatch(/^(\S+) +shop +\S+ +http-5xx +2 +\S+ +unchanged +callback http:\/\/127\.0\.0\.1:\d+ answered HTTP 503/);
  const eventId = row.split(/ +/)[0];
  expect(found.stdout).toContain(`Next: ecwid-events dlq show ${eventId}   then   ecwid-events dlq replay --event ${eventId} --wait`);
  // The other filters leave it out or keep it, as they should.
  expect(JSON.parse((await cli('dlq', 'list', '--error', 'timeout', '--json')).stdout).events).toEqual([]);
  expect(JSON.parse((await cli('dlq', 'list', '--older-than', '1h', '--json')).stdout).events).toEqual([]);
  expect(JSON.parse((await cli('dlq', 'list', '--newer-than', '1h', '--json')).stdout).events).toHaveLength(1);

  // 2. understand: the error, the attempts, the instance as it is now, and what to do
  const shown = await cli('dlq', 'show', eventId);
  expect(shown.code).toBe(0);
  expect(shown.stdout).toMatch(/^error class +http-5xx$/m);
  expect(shown.stdout).toMatch(/^attempts +2$/m);
  expect(shown.stdout).toMatch(new RegExp(`^callback URL +${callbacks.origin}/broken$`, 'm'));
  expect(shown.stdout).toMatch(/^config since failure +unchanged$/m);
  expect(shown.stdout).toContain('The instance has not changed since the failure');
  const firstSeen = /^first seen +(\S+)$/m.exec(shown.stdout)![1];

  // Replaying into the unchanged instance is held back (nothing moves) ...
  const held = await cli('dlq', 'replay', '--event', eventId, '--wait');
  expect(held.code).toBe(1);
  expect(held.stderr).toContain('instance shop has not changed since they failed');
  expect(await queueDepth(sqs, runner.state.deadLetterQueueUrl)).toBe(1);
  // ... and with --force it fails again, and the DLQ copy keeps the whole history.
  const again = await cli('dlq', 'replay', '--event', eventId, '--force', '--wait', '--timeout', '30', '--json');
  expect(again.code).toBe(3);
  expect(JSON.parse(again.stdout).outcomes).toEqual([expect.objectContaining({ eventId, instanceId: 'shop', outcome: 'failed', attempts: 4, errorClass: 'http-5xx' })]);
  expect(again.stderr).toMatch(/\[\d+s\] 0 of 1 failed again, 1 waiting; queue: /);
  const letter = JSON.parse((await cli('dlq', 'show', eventId, '--json')).stdout);
  expect(letter).toMatchObject({ attempts: 4, roundAttempts: 2, replays: 1, firstReceivedAt: firstSeen });

  // The fix (not a triage step): point the instance at the working endpoint.
  expect((await cli('instances', 'update', 'shop', '--set', `event.notification.callback.url=${callbacks.origin}/fixed`)).code).toBe(0);

  // 3. replay and watch: delivered, once, with the same delivery id
  const replayed = await cli('dlq', 'replay', '--event', eventId, '--wait', '--timeout', '30');
  expect(replayed.code).toBe(0);
  expect(replayed.stdout).toMatch(new RegExp(`^${eventId} +shop +delivered`, 'm'));
  expect(callbacks.delivered.map((request) => request.path)).toEqual(['/fixed']);
  expect(callbacks.delivered[0].headers['webhook-id']).toBe(`shop:${eventId}`);
  expect(await queueDepth(sqs, runner.state.deadLetterQueueUrl)).toBe(0);
});
