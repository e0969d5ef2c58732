/**
 * The CLI rough edges of issue 18, each as a user met it, on the folder backend (no AWS needed).
 * (Not queued said once: cli.integration.test.ts; attempts as a number: dead-letters.test.ts;
 * local files git-ignored and no engine warning: test/repo/hygiene.test.ts.)
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS } from '../../cli/commands';
import { GLOBAL_OPTIONS } from '../../cli/main';
import { instanceDocument } from '../../testkit/instances';
import { runCli } from './run-cli';

// A public address literal: passes the address rules without DNS (there is none in the sandbox).
const CALLBACK = 'https://93.184.216.34/hooks/ecwid';

let dir: string;
let instancesDir: string;
const cli = (...args: string[]) =>
  runCli(['--instances-dir', instancesDir, '--ingest-url', 'https://abc123.execute-api.eu-west-1.amazonaws.com/events/ecwid', ...args], {
    cwd: dir,
  });

async function create(id: string, callbackUrl = CALLBACK, ...extra: string[]) {
  const file = join(dir, `${id}.input.json`);
  await writeFile(file, JSON.stringify(instanceDocument({ name: id, callbackUrl, clientSecret: 'Zq3Fv8GtXs1W' })));
  return cli('instances', 'create', '--file', file, '--id', id, ...extra);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecwid-cli-edges-'));
  instancesDir = join(dir, 'instances');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

test('instances delete asks for --yes, like dlq purge, and deletes nothing without it', async () => {
  expect((await create('shop-a')).code).toBe(0);
  const refused = await cli('instances', 'delete', 'shop-a');
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('refusing to delete instance shop-a without --yes');
  expect(await readdir(instancesDir)).toEqual(['shop-a.json']);
  const deleted = await cli('instances', 'delete', 'shop-a', '--yes');
  expect(deleted.code).toBe(0);
  expect(await readdir(instancesDir)).toEqual([]);
});

test('instances list hides callback query tokens (table and --json)', async () => {
  expect((await create('shop-a', `${CALLBACK}?token=abc123secret&shop=a`)).code).toBe(0);
  for (const run of [await cli('instances', 'list'), await cli('instances', 'list', '--json')]) {
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('abc123secret');
    expect(run.stdout).toContain('token=****');
    expect(run.stdout).toContain('shop=a');
  }
});

describe('a callback host that does not resolve yet', () => {
  const UNRESOLVABLE = 'https://hooks.not-yet-registered.invalid/ecwid';

  test('is refused, and the error says how to go on', async () => {
    const run = await create('later', UNRESOLVABLE);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('callback host hooks.not-yet-registered.invalid does not resolve');
    expect(run.stderr).toContain('pass --no-resolve');
  });

  test.each([
    ['instances create', async () => create('later', UNRESOLVABLE, '--no-resolve')],
    [
      'instances update',
      async () => {
        expect((await create('later')).code).toBe(0);
        return cli('instances', 'update', 'later', '--set', `event.notification.callback.url=${UNRESOLVABLE}`, '--no-resolve');
      },
    ],
    [
      'instances enable',
      async () => {
        expect((await create('later', UNRESOLVABLE, '--no-resolve')).code).toBe(0);
        expect((await cli('instances', 'disable', 'later')).code).toBe(0);
        return cli('instances', 'enable', 'later', '--no-resolve');
      },
    ],
  ])('%s --no-resolve accepts it with a warning', async (_name, run) => {
    const result = await run();
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('host not looked up (--no-resolve)');
    expect(JSON.parse((await cli('instances', 'show', 'later', '--json')).stdout).document.configuration['event.notification.callback.url']).toBe(
      UNRESOLVABLE,
    );
  });

  test.each([
    ['plain http', 'http://hooks.not-yet-registered.invalid/ecwid', 'scheme "http" is not allowed'],
    ['a private address', 'https://10.1.2.3/ecwid', 'resolves to 10.1.2.3 (private)'],
    ['the metadata address', 'https://169.254.169.254/latest', 'resolves to 169.254.169.254'],
  ])('--no-resolve still refuses %s', async (_what, url, message) => {
    const run = await create('bad', url, '--no-resolve');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});

describe('test-event --type', () => {
  beforeEach(async () => {
    expect((await create('shop-a')).code).toBe(0);
  });

  test.each([
    ['nope.event', 'use new_order, order_status_change, or a webhook type like order.created'],
    ['order.creatd', 'use order.created, order.updated, order.deleted'],
    ['gift_card.redeemed', '(docs/protocol.md lists all 42)'],
  ])('refuses %s (it would be delivered as if Ecwid had sent it) before posting anything', async (type, hint) => {
    const run = await cli('test-event', 'shop-a', '--type', type);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`unknown event type "${type}": `);
    expect(run.stderr).toContain(hint);
    expect(run.stdout).toBe('');
  });
});

test.each([['-5'], ['-0']])('--timeout %s says what is wrong with the number, not "ambiguous"', async (value) => {
  expect((await create('shop-a')).code).toBe(0);
  const run = await cli('test-event', 'shop-a', '--timeout', value);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain(`--timeout must be whole seconds (1-99999), got "${value}"`);
  expect(run.stderr).not.toContain('ambiguous');
});

test('an unknown option is named, without a page of help', async () => {
  const run = await cli('instances', 'list', '--bogus');
  expect(run.code).toBe(2);
  expect(run.stderr.trim()).toBe("ecwid-events: error: unknown option '--bogus' (see ecwid-events instances list --help)");
  expect(run.stdout).toBe('');
});

test.each([
  [['--bogus'], "unknown option '--bogus'; see ecwid-events --help"],
  [['instances', '--bogus'], "unknown option '--bogus'; see ecwid-events instances --help"],
  [['dlq', '--limit', '3'], "unknown option '--limit'; see ecwid-events dlq --help"],
])('an unknown option without a command (%j) is named too, not answered with the help page', async (args, message) => {
  const run = await runCli(args);
  expect(run.code).toBe(2);
  expect(run.stderr.trim()).toBe(`ecwid-events: error: ${message}`);
  expect(run.stdout).toBe('');
});

test('each command’s help names the global options in two or three lines instead of repeating their block', async () => {
  const main = await runCli(['--help']);
  for (const name of Object.keys(GLOBAL_OPTIONS)) expect(main.stdout).toContain(`--${name}`);
  for (const command of COMMANDS) {
    const help = await runCli([...command.name.split(' '), '--help']);
    expect(help.code).toBe(0);
    const globalPart = help.stdout.slice(help.stdout.indexOf('Global options'));
    expect({ command: command.name, lines: globalPart.trimEnd().split('\n').length <= 3 }).toEqual({ command: command.name, lines: true });
    expect(globalPart).toContain('--stack');
    // No description of a global option is repeated.
    expect(help.stdout).not.toContain(GLOBAL_OPTIONS.stack.description);
  }
});
