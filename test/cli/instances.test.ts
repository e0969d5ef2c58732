/**
 * `instances ...` end to end through main(), on the folder backend (no AWS needed). The SSM
 * backend is exercised against moto in cli.integration.test.ts.
 */
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webhookSecretProblem } from '../../functions/core/instance-validation';
import { COMMANDS } from '../../cli/commands';
import { instanceDocument } from '../../testkit/instances';
import { fixtureText } from '../../testkit/fixtures';
import { runCli } from './run-cli';

// A public address literal: passes the SSRF rules without DNS (there is none in the sandbox).
const CALLBACK = 'https://user:Qv8pWz3mT1@93.184.216.34/hooks/ecwid';
// Distinctive values: no 6-character piece of one occurs in the CLI's own words.
const SECRETS = {
  'ecwid.order.key': 'Kx7Rq2ZpLm4V',
  'ecwid.product.key': 'Ht5Yw9JcNb2D',
  'ecwid.client.secret': 'Zq3Fv8GtXs1W',
  'ecwid.access.token': 'secret_Pm6Ud4Ke7Rh',
  'event.notification.signature.key': 'Jw2Nc5Qx9Bv',
  'event.notification.webhook.secret': `whsec_${Buffer.from('Vt3Lq8Zw1Mc6Xp9Rb2Hn5Ky7Df4Gs0Aa').toString('base64')}`,
};
// The format prefixes (secret_, whsec_) are public; every other piece is checked.
const SECRET_VALUES = [...Object.values(SECRETS).map((value) => value.replace(/^(secret_|whsec_)/, '')), 'Qv8pWz3mT1'];

/** No secret, nor any 6-character piece of one, appears in the text. */
function expectNoSecretIn(text: string): void {
  for (const secret of SECRET_VALUES) {
    for (let i = 0; i + 6 <= secret.length; i++) expect(text).not.toContain(secret.slice(i, i + 6));
  }
}

let dir: string;
let instancesDir: string;
const base = () => ['--instances-dir', instancesDir, '--ingest-url', 'https://abc123.execute-api.eu-west-1.amazonaws.com/events/ecwid'];
const cli = (...args: string[]) => runCli([...base(), ...args], { cwd: dir });

async function writeText(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

async function writeDoc(name: string, doc: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(doc));
  return file;
}

const fullDocument = (name = 'Shop A') =>
  instanceDocument({ name, callbackUrl: CALLBACK, configuration: SECRETS });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecwid-cli-'));
  instancesDir = join(dir, 'instances');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('instances create', () => {
  test('stores the document, derives the id from the name and prints both URLs with instructions', async () => {
    const file = await writeDoc('shop.json', fullDocument('Shop Ä / Main'));
    const run = await cli('instances', 'create', '--file', file);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Created instance shop-a-main (store 1003)');
    expect(run.stdout).toContain('https://abc123.execute-api.eu-west-1.amazonaws.com/events/ecwid/shop-a-main');
    expect(run.stdout).toMatch(/shared: +https:\/\/abc123\.execute-api\.eu-west-1\.amazonaws\.com\/events\/ecwid +\(/);
    expect(run.stdout).toContain('"ION Cannon endpoint URL"');
    expect(run.stdout).toContain('https://my.ecwid.com/store/1003#legacy_api');
    expect(run.stdout).toContain('webhookUrl');
    expectNoSecretIn(run.all);

    const written = JSON.parse(await readFile(join(instancesDir, 'shop-a-main.json'), 'utf8'));
    expect(written).toEqual(fullDocument('Shop Ä / Main'));
    // Owner-only: the file holds secrets.
    expect((await stat(join(instancesDir, 'shop-a-main.json'))).mode & 0o777).toBe(0o600);
    // No temporary files left behind.
    expect(await readdir(instancesDir)).toEqual(['shop-a-main.json']);
  });

  test('--id wins; --json gives the URLs to scripts', async () => {
    const file = await writeDoc('shop.json', fullDocument());
    const run = await cli('instances', 'create', '--file', file, '--id', 'custom_1', '--json');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      id: 'custom_1',
      storeId: '1003',
      urls: {
        shared: 'https://abc123.execute-api.eu-west-1.amazonaws.com/events/ecwid',
        instance: 'https://abc123.execute-api.eu-west-1.amazonaws.com/events/ecwid/custom_1',
      },
    });
  });

  test('reads standard input with --file -', async () => {
    const run = await runCli([...base(), 'instances', 'create', '--file', '-'], { cwd: dir, stdin: JSON.stringify(fullDocument()) });
    expect(run.code).toBe(0);
    expect(await readdir(instancesDir)).toEqual(['shop-a.json']);
  });

  test('without a usable name the id is random', async () => {
    const doc = { ...fullDocument(), name: '!!!' };
    const run = await cli('instances', 'create', '--file', await writeDoc('x.json', doc), '--json');
    expect(JSON.parse(run.stdout).id).toMatch(/^instance-[0-9a-f]{8}$/);
  });

  test('refuses to overwrite an existing id and leaves it unchanged', async () => {
    const file = await writeDoc('shop.json', fullDocument());
    expect((await cli('instances', 'create', '--file', file)).code).toBe(0);
    const other = await writeDoc('other.json', instanceDocument({ name: 'Shop A', storeId: '42', callbackUrl: CALLBACK }));
    const run = await cli('instances', 'create', '--file', other);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('ecwid-events: error: instance "shop-a" already exists; choose another --id, or change it with "instances update"\n');
    expect(JSON.parse(await readFile(join(instancesDir, 'shop-a.json'), 'utf8')).configuration['ecwid.store.id']).toBe('1003');
  });

  test('an invalid document: every problem in one line, exit 2, nothing written', async () => {
    const doc = instanceDocument({
      storeId: '',
      callbackUrl: 'https://127.0.0.1/admin',
      enabled: 'sometimes',
      configuration: { 'event.notification.webhook.secret': 'whsec_TooShortSecret', unknown: 'x' },
    });
    const run = await cli('instances', 'create', '--file', await writeDoc('bad.json', doc));
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ecwid-events: error: invalid instance document \(4 problems\): /);
    for (const key of ['ecwid.store.id', 'event.notification.callback.url', 'event.notification.enabled', 'event.notification.webhook.secret']) {
      expect(lines[0]).toContain(`${key}: `);
    }
    expect(lines[0]).toContain('loopback');
    expect(run.all).not.toContain('TooShortSecret');
    expect(await readdir(dir)).toEqual(['bad.json']);
  });

  test('the Open Connectors template as it is: placeholders are reported, in JSON too', async () => {
    const file = join(dir, 'template.json');
    await writeFile(file, fixtureText('cloud-elements-instance-ecwid-events.json'));
    const run = await cli('instances', 'create', '--file', file, '--json');
    expect(run.code).toBe(2);
    const { error } = JSON.parse(run.stdout);
    expect(error.exitCode).toBe(2);
    expect(error.problems.map((p: { path: string }) => p.path)).toEqual(
      expect.arrayContaining(['ecwid.order.key', 'ecwid.product.key', 'ecwid.store.id', 'event.notification.callback.url']),
    );
  });

  test('unknown keys are printed as warnings and the instance is still created', async () => {
    const doc = { ...fullDocument(), id: 'oc-1234', configuration: { ...fullDocument().configuration, 'my.extra': '1' } };
    const run = await cli('instances', 'create', '--file', await writeDoc('w.json', doc));
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('warning: id: unknown top-level key, ignored');
    expect(run.stderr).toContain('warning: my.extra: unknown configuration key, ignored');
  });

  test('bad JSON is reported without quoting the file', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{"configuration": {"ecwid.order.key": "SuperSecretValue1" ');
    const run = await cli('instances', 'create', '--file', file);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^ecwid-events: error: .*broken\.json is not valid JSON/);
    expect(run.all).not.toContain('SuperSecret');
  });

  test('a missing file and a missing --file are usage errors', async () => {
    expect((await cli('instances', 'create', '--file', join(dir, 'nope.json'))).stderr).toContain('no such file');
    const run = await cli('instances', 'create');
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('ecwid-events: error: --file is required (see ecwid-events instances create --help)\n');
  });
});

describe('instances list / show mask every secret', () => {
  beforeEach(async () => {
    expect((await cli('instances', 'create', '--file', await writeDoc('a.json', fullDocument('Shop A')))).code).toBe(0);
    expect((await cli('instances', 'create', '--file', await writeDoc('b.json', instanceDocument({ name: 'Shop B', storeId: '77', callbackUrl: CALLBACK })))).code).toBe(0);
  });

  test('list: a table with whether secrets are set, nothing of their values', async () => {
    const run = await cli('instances', 'list');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +STORE +ENABLED +CALLBACK +SECRETS SET$/);
    expect(lines[2]).toMatch(/^shop-a +Shop A +1003 +yes +https:\/\/user:\*\*\*\*@93\.184\.216\.34\/hooks\/ecwid +order-key,product-key,client-secret,access-token,signature-key,whsec$/);
    expect(lines[3]).toMatch(/^shop-b +Shop B +77 +yes /);
    expectNoSecretIn(run.all);
  });

  test('list --json', async () => {
    const run = await cli('instances', 'list', '--json');
    const rows = JSON.parse(run.stdout);
    expect(rows.map((r: { id: string }) => r.id)).toEqual(['shop-a', 'shop-b']);
    expectNoSecretIn(run.all);
  });

  test('show: every key, secrets as ****(set)', async () => {
    const run = await cli('instances', 'show', 'shop-a');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ecwid\.client\.secret +\*\*\*\*\(set\)$/m);
    expect(run.stdout).toMatch(/^event\.notification\.webhook\.secret +\*\*\*\*\(set\)$/m);
    expect(run.stdout).toMatch(/^ecwid\.store\.id +1003$/m);
    expectNoSecretIn(run.all);
    const json = await cli('instances', 'show', 'shop-a', '--json');
    expect(JSON.parse(json.stdout).document.configuration['ecwid.order.key']).toBe('****(set)');
    expectNoSecretIn(json.all);
  });

  test('show of an unknown id: exit 1, one line', async () => {
    const run = await cli('instances', 'show', 'nope');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`ecwid-events: error: no instance "nope" in folder ${instancesDir}\n`);
  });

  test('an invalid id is a usage error', async () => {
    const run = await cli('instances', 'show', '../etc/passwd');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^ecwid-events: error: invalid instance id/);
  });
});

describe('instances update / enable / disable / delete', () => {
  beforeEach(async () => {
    expect((await cli('instances', 'create', '--file', await writeDoc('a.json', fullDocument('Shop A')))).code).toBe(0);
  });
  const stored = async () => JSON.parse(await readFile(join(instancesDir, 'shop-a.json'), 'utf8'));

  test('update sets and removes keys, names them without values', async () => {
    const run = await cli('instances', 'update', 'shop-a', '--set', 'ecwid.client.secret=NewClientSecret9', '--set', 'name=Renamed', '--set', 'tags=x, y', '--unset', 'ecwid.access.token');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Updated shop-a: set ecwid.client.secret, name, tags; removed ecwid.access.token.\n');
    expect(run.all).not.toContain('NewClientSecret9');
    const doc = await stored();
    expect(doc.name).toBe('Renamed');
    expect(doc.tags).toEqual(['x', 'y']);
    expect(doc.configuration['ecwid.client.secret']).toBe('NewClientSecret9');
    expect(doc.configuration).not.toHaveProperty('ecwid.access.token');
  });

  test('update re-validates with the SSRF rules before writing', async () => {
    const before = await stored();
    const run = await cli('instances', 'update', 'shop-a', '--set', 'event.notification.callback.url=https://169.254.169.254/latest');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^ecwid-events: error: invalid instance document \(1 problem\): event\.notification\.callback\.url: .*link-local/);
    expect(await stored()).toEqual(before);
  });

  test('update without changes or with a malformed --set is a usage error', async () => {
    expect((await cli('instances', 'update', 'shop-a')).code).toBe(2);
    const run = await cli('instances', 'update', 'shop-a', '--set', 'novalue');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--set needs key=value');
  });

  test('disable and enable flip event.notification.enabled', async () => {
    expect((await cli('instances', 'disable', 'shop-a')).stdout).toMatch(/^Instance shop-a disabled: ingest acknowledges and drops its new events/);
    expect((await stored()).configuration['event.notification.enabled']).toBe('false');
    expect((await cli('instances', 'list')).stdout).toMatch(/^shop-a +Shop A +1003 +no /m);
    expect((await cli('instances', 'enable', 'shop-a')).code).toBe(0);
    expect((await stored()).configuration['event.notification.enabled']).toBe('true');
  });

  test('delete removes the instance; deleting again fails', async () => {
    expect((await cli('instances', 'delete', 'shop-a', '--yes')).code).toBe(0);
    expect(await readdir(instancesDir)).toEqual([]);
    const again = await cli('instances', 'delete', 'shop-a', '--yes');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no instance "shop-a"');
  });
});

describe('instances rotate-secret', () => {
  const secretsOf = async (): Promise<string[]> =>
    String(JSON.parse(await readFile(join(instancesDir, 'shop-a.json'), 'utf8')).configuration['event.notification.webhook.secret'] ?? '')
      .split(' ')
      .filter(Boolean);

  beforeEach(async () => {
    const doc = instanceDocument({ name: 'Shop A', callbackUrl: CALLBACK });
    expect((await cli('instances', 'create', '--file', await writeDoc('a.json', doc))).code).toBe(0);
  });

  test('adds a new secret next to the old one, prints it once, --finish keeps only the newest', async () => {
    const first = await cli('instances', 'rotate-secret', 'shop-a', '--json');
    expect(first.code).toBe(0);
    const one = JSON.parse(first.stdout);
    expect(webhookSecretProblem(one.secret)).toBeUndefined();
    expect(Buffer.from(one.secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(one.note).toMatch(/only secret the CLI ever prints/);
    expect(await secretsOf()).toEqual([one.secret]);

    const second = await cli('instances', 'rotate-secret', 'shop-a');
    expect(second.code).toBe(0);
    const newSecret = /^(whsec_\S+)$/m.exec(second.stdout)?.[1] as string;
    expect(newSecret).toBeDefined();
    expect(second.stdout).toContain('signed with the old and the new secret');
    expect(second.stdout).toContain('rotate-secret shop-a --finish');
    expect(second.stdout).not.toContain(one.secret);
    expect(await secretsOf()).toEqual([one.secret, newSecret]);

    // Listing afterwards shows neither.
    const listed = await cli('instances', 'show', 'shop-a');
    expect(listed.stdout).toMatch(/^event\.notification\.webhook\.secret +\*\*\*\*\(2 set\)$/m);
    for (const secret of [one.secret, newSecret]) expect(listed.all).not.toContain(secret.slice(6, 20));

    const third = await cli('instances', 'rotate-secret', 'shop-a');
    expect(third.code).toBe(1);
    expect(third.stderr).toContain('rotation is already in progress');
    expect(await secretsOf()).toHaveLength(2);

    const finish = await cli('instances', 'rotate-secret', 'shop-a', '--finish');
    expect(finish.code).toBe(0);
    expect(finish.stdout).toContain('removed 1 old secret');
    expect(finish.all).not.toContain(newSecret.slice(6, 20));
    expect(await secretsOf()).toEqual([newSecret]);

    expect((await cli('instances', 'rotate-secret', 'shop-a', '--finish')).stdout).toContain('Nothing to finish');
  });
});

describe('instances rotate-client-secret', () => {
  const OLD = 'Zq3Fv8GtXs1W';
  const NEW = 'Nr4Bd7Hk2Wp9';
  const configOfShop = async (): Promise<Record<string, unknown>> =>
    JSON.parse(await readFile(join(instancesDir, 'shop-a.json'), 'utf8')).configuration;

  beforeEach(async () => {
    const doc = instanceDocument({ name: 'Shop A', callbackUrl: CALLBACK, clientSecret: OLD });
    expect((await cli('instances', 'create', '--file', await writeDoc('a.json', doc))).code).toBe(0);
  });

  test('the new secret from a file becomes current, the old one previous; --finish drops it; nothing printed', async () => {
    const file = await writeText('new-secret.txt', `${NEW}\n`);
    const rotated = await cli('instances', 'rotate-client-secret', 'shop-a', '--secret-file', file);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain('rotate-client-secret shop-a --finish');
    expect(await configOfShop()).toMatchObject({ 'ecwid.client.secret': NEW, 'ecwid.client.secret.previous': OLD });

    const again = await cli('instances', 'rotate-client-secret', 'shop-a', '--secret-file', await writeText('newer.txt', 'Yc6Tm1Qs8Lf3'));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('rotation is already in progress');

    const shown = await cli('instances', 'show', 'shop-a');
    const finish = await cli('instances', 'rotate-client-secret', 'shop-a', '--finish');
    expect(finish.code).toBe(0);
    expect(await configOfShop()).toMatchObject({ 'ecwid.client.secret': NEW });
    expect(await configOfShop()).not.toHaveProperty(['ecwid.client.secret.previous']);
    for (const run of [rotated, again, shown, finish]) {
      expect(run.all).not.toContain(NEW);
      expect(run.all).not.toContain(OLD);
    }
  });

  test('refuses a missing --secret-file, a file with more than one word, and never echoes it', async () => {
    expect((await cli('instances', 'rotate-client-secret', 'shop-a')).code).not.toBe(0);
    const bad = await cli('instances', 'rotate-client-secret', 'shop-a', '--secret-file', await writeText('two.txt', `${NEW} ${OLD}`));
    expect(bad.code).not.toBe(0);
    expect(bad.all).not.toContain(NEW);
    expect(await configOfShop()).toMatchObject({ 'ecwid.client.secret': OLD });
  });
});

describe('command line', () => {
  test.each(COMMANDS.map((c) => [c.name]))('%s --help', async (name) => {
    const run = await runCli([...name.split(' '), '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Usage: ecwid-events ${name}`));
    expect(run.stdout).toContain('Global options');
  });

  test('top-level and group help', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    for (const command of COMMANDS) expect(top.stdout).toContain(command.name);
    const group = await runCli(['dlq']);
    expect(group.code).toBe(0);
    expect(group.stdout).toContain('dlq replay');
    expect(group.stdout).not.toContain('instances create');
    expect((await runCli(['help', 'dlq', 'replay'])).stdout).toMatch(/^Usage: ecwid-events dlq replay/);
  });

  test('no command: help and exit 2', async () => {
    const run = await runCli([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('Commands:');
  });

  test.each([
    [['frobnicate'], 'ecwid-events: error: unknown command "frobnicate"; see ecwid-events --help'],
    [['instances', 'list', '--bogus'], `ecwid-events: error: unknown option '--bogus' (see ecwid-events instances list --help)`],
    [['instances', 'show'], 'ecwid-events: error: missing argument: instances show ID (see ecwid-events instances show --help)'],
    [['instances', 'show', 'a', 'b'], 'ecwid-events: error: unexpected argument "b" (see ecwid-events instances show --help)'],
    [['dlq', 'purge'], 'ecwid-events: error: refusing to purge without --yes (see ecwid-events dlq purge --help)'],
    [['dlq', 'replay', '--all', '--instance', 'x'], 'ecwid-events: error: choose exactly one of --all, --event ID..., --instance ID (see ecwid-events dlq replay --help)'],
    [['dlq', 'list', '--limit', '0', '--queue-url', 'http://127.0.0.1:1/q', '--dlq-url', 'http://127.0.0.1:1/d'], 'ecwid-events: error: --limit must be a whole number from 1 to 999999, got "0"'],
  ])('%j -> exit 2 with one line', async (argv, line) => {
    const run = await runCli(argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`${line}\n`);
  });

  test('without --stack, --local or explicit options a command says what is missing', async () => {
    const run = await runCli(['queues']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^ecwid-events: error: no queue URL \(--queue-url\): pass --stack NAME/);
  });

  test('an unexpected failure is one line; --debug adds the stack trace', async () => {
    const file = join(dir, 'not-a-folder');
    await writeFile(file, 'x');
    const doc = await writeDoc('a.json', fullDocument());
    const plain = await runCli(['--instances-dir', file, 'instances', 'create', '--file', doc], { cwd: dir });
    expect(plain.code).toBe(1);
    expect(plain.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(plain.stderr).toMatch(/^ecwid-events: error: .*(EEXIST|ENOTDIR)/);
    const debug = await runCli(['--instances-dir', file, 'instances', 'create', '--file', doc, '--debug'], { cwd: dir });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});

describe('folder backend', () => {
  test('list skips a file that is not an instance, with a warning that does not quote it', async () => {
    expect((await cli('instances', 'create', '--file', await writeDoc('a.json', fullDocument('Shop A')))).code).toBe(0);
    await writeFile(join(instancesDir, 'broken.json'), '{"configuration": "Zx9SecretInBrokenFile"');
    const run = await cli('instances', 'list');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^shop-a /m);
    expect(run.stderr).toBe(`warning: skipped ${join(instancesDir, 'broken.json')}: is not valid JSON\n`);
  });
});
