/**
 * The newcomer's check of the event ledger (README, "Quick start"), on `npm start` as a user runs
 * it: post an event, stop the runner, start it again with the same state file, post the same
 * event again: it is acknowledged as a duplicate and not delivered a second time. The embedded
 * queue is in memory, so only the ledger (kept beside the state file) can remember it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../cli/run-cli';
import { instanceDocument, modernSamples, postWebhook } from './support/ecwid-posts';
import { eventually, killLeftovers, startRunner, tempDir, writeInstances, type RunnerProcess } from './support/runner-process';
import { startCallbackServer, type CallbackServer } from './support/servers';

jest.setTimeout(90_000);

let folder: ReturnType<typeof tempDir>;
let callbacks: CallbackServer;
let runner: RunnerProcess | undefined;

beforeAll(async () => {
  folder = tempDir('ledger-restart');
  mkdirSync(join(folder.dir, 'instances'));
  callbacks = await startCallbackServer(() => 200);
  writeInstances(join(folder.dir, 'instances'), { shop: instanceDocument(1003, `${callbacks.origin}/shop`) });
});

afterAll(async () => {
  await runner?.stop();
  killLeftovers();
  await callbacks?.close();
  folder?.remove();
});

test('post, stop, restart with the same state file, post again: acknowledged as a duplicate, delivered once', async () => {
  const stateFile = join(folder.dir, 'state', 'runner.json');
  const args = ['--instances', join(folder.dir, 'instances'), '--poll-interval', '0', '--quiet'];
  const sample = modernSamples().find((s) => s.name === 'order-created')!;
  // The same order's event under a new id: a genuinely new event.
  const otherJson = { ...sample.json, eventId: `${sample.json.eventId}-new` };
  const other = { ...sample, json: otherJson, text: JSON.stringify(otherJson) };

  runner = await startRunner(args, {}, { stateFile });
  const first = await postWebhook(runner.ingestUrl, sample);
  expect(first.status).toBe(200);
  expect(await first.json()).toEqual({ queued: 1, eventId: sample.json.eventId });
  await eventually(() => callbacks.delivered.length === 1, () => `no delivery\n${runner!.stdout()}${runner!.stderr()}`);
  expect((await runner.stop()).code).toBe(0);
  runner = undefined;
  expect(existsSync(join(folder.dir, 'state', 'runner-ledger'))).toBe(true);

  runner = await startRunner(args, {}, { stateFile });
  const repeat = await postWebhook(runner.ingestUrl, sample);
  expect(repeat.status).toBe(200);
  expect(await repeat.json()).toEqual({
    queued: 0,
    eventId: sample.json.eventId,
    duplicates: 1,
    duplicate: true,
    message: 'duplicate: this event was already received; not queued again',
  });
  // The pipeline is live: a new event after the repeat is delivered, and it is the only new delivery.
  expect((await postWebhook(runner.ingestUrl, other)).status).toBe(200);
  await eventually(() => callbacks.delivered.length >= 2, () => `the new event was not delivered\n${runner!.stdout()}${runner!.stderr()}`);
  expect(callbacks.delivered.map((request) => JSON.parse(request.body).id)).toEqual([
    `shop:${sample.json.eventId}`,
    `shop:${other.json.eventId}`,
  ]);

  // The CLI's --local mode finds the event in the runner's ledger.
  const shown = await runCli(['--local', '--state-file', stateFile, 'events', 'show', String(sample.json.eventId), '--json'], {
    cwd: folder.dir,
    env: {},
  });
  expect(shown.code).toBe(0);
  expect(JSON.parse(shown.stdout)).toMatchObject({ instanceId: 'shop', eventId: sample.json.eventId });
});
