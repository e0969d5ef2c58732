import {
  assertValidInstanceDocument,
  checkInstanceDocument,
  InstanceValidationError,
  validateInstanceDocument,
  webhookSecretProblem,
} from '../../functions/core/instance-validation';
import type { CallbackUrlPolicy } from '../../functions/core/callback/ssrf';
import type { HostResolver } from '../../functions/core/ports';
import { instanceDocument } from '../../testkit/instances';
import { fixtureJson } from '../../testkit/fixtures';

const PUBLIC_POLICY: CallbackUrlPolicy = { allowHttp: false, allowHosts: [] };
// No DNS in tests: the names resolve to fixed addresses.
const resolveHost: HostResolver = async (host) =>
  host === 'internal.example.com' ? [{ address: '10.1.2.3', family: 4 }] : [{ address: '93.184.216.34', family: 4 }];

const paths = (problems: readonly { path: string }[]) => problems.map((p) => p.path);
const whsec = (bytes: number) => `whsec_${Buffer.alloc(bytes, 7).toString('base64')}`;

describe('checkInstanceDocument', () => {
  test('accepts a complete instance document and returns it', () => {
    const doc = instanceDocument({ clientSecret: 'cs' });
    const result = checkInstanceDocument(doc);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.document).toBe(doc);
  });

  test('lists every problem at once', () => {
    const result = checkInstanceDocument({
      configuration: {
        'event.notification.enabled': 'yes',
        'event.notification.callback.url': 'ftp://example.com/x',
        'event.notification.webhook.secret': 'whsec_short',
        'event.poller.refresh_interval': 'often',
      },
      tags: 'not-an-array',
    });
    expect(result.document).toBeUndefined();
    expect(paths(result.errors).sort()).toEqual(
      [
        'ecwid.store.id',
        'event.notification.callback.url',
        'event.notification.enabled',
        'event.notification.webhook.secret',
        'event.poller.refresh_interval',
        'tags',
      ].sort(),
    );
  });

  test('the seed template is rejected for its placeholders, naming each key, never its value', () => {
    const result = checkInstanceDocument(fixtureJson('cloud-elements-instance-ecwid-events.json'));
    expect(paths(result.errors)).toEqual(
      expect.arrayContaining(['name', 'tags', 'ecwid.order.key', 'ecwid.store.id', 'event.notification.callback.url']),
    );
    expect(JSON.stringify(result)).not.toContain('INSERT');
  });

  test.each([
    ['missing', undefined, 'is required'],
    ['empty', '', 'is required'],
    ['not numeric', 'shop-1', 'numeric'],
    ['leading zeros (ingest canonicalizes ids, the index would not match)', '01003', 'no leading zeros'],
  ])('store id %s is an error', (_label, value, message) => {
    const doc = instanceDocument();
    const configuration = { ...doc.configuration, 'ecwid.store.id': value } as Record<string, string>;
    if (value === undefined) delete configuration['ecwid.store.id'];
    const result = checkInstanceDocument({ ...doc, configuration });
    expect(result.errors).toEqual([{ path: 'ecwid.store.id', message: expect.stringContaining(message) }]);
  });

  test('a numeric store id (JSON number) is fine', () => {
    const doc = instanceDocument();
    expect(checkInstanceDocument({ ...doc, configuration: { ...doc.configuration, 'ecwid.store.id': 1003 } }).errors).toEqual([]);
  });

  test.each([true, false, 'true', 'FALSE', ' true '])('enabled %p is a boolean', (value) => {
    expect(checkInstanceDocument(instanceDocument({ enabled: value as boolean | string })).errors).toEqual([]);
  });

  test('unknown keys are warnings, not errors', () => {
    const doc = instanceDocument({ clientSecret: 'cs', configuration: { 'event.custom': 'x' } });
    const result = checkInstanceDocument({ ...doc, id: 17 });
    expect(result.errors).toEqual([]);
    expect(paths(result.warnings)).toEqual(['id', 'event.custom']);
  });

  test('missing client secret and order key are warnings that say what will not work', () => {
    const doc = instanceDocument();
    const configuration = { ...doc.configuration };
    delete (configuration as Record<string, unknown>)['ecwid.order.key'];
    const result = checkInstanceDocument({ ...doc, configuration });
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([
      { path: 'ecwid.client.secret', message: expect.stringContaining('webhooks') },
      { path: 'ecwid.order.key', message: expect.stringContaining('ION') },
    ]);
  });

  test('values that are objects are errors', () => {
    const doc = instanceDocument();
    const result = checkInstanceDocument({ ...doc, configuration: { ...doc.configuration, 'ecwid.order.key': { a: 1 } } });
    expect(result.errors).toEqual([{ path: 'ecwid.order.key', message: 'must be a string, number or boolean' }]);
  });

  test.each([null, [], 'text', 3])('a document that is not an object (%p) is one error', (input) => {
    expect(checkInstanceDocument(input).errors).toEqual([{ path: 'document', message: 'must be a JSON object' }]);
  });

  test('no configuration object is an error', () => {
    expect(paths(checkInstanceDocument({ name: 'x' }).errors)).toEqual(['configuration']);
  });

  test('an error message never contains the value', () => {
    const doc = instanceDocument({ configuration: { 'event.notification.webhook.secret': 'whsec_TOPSECRETvalue' } });
    const result = checkInstanceDocument(doc);
    expect(result.errors).toHaveLength(1);
    expect(JSON.stringify(result)).not.toContain('TOPSECRET');
  });
});

describe('webhook secrets', () => {
  test.each([
    [whsec(24), undefined],
    [whsec(32), undefined],
    [whsec(64), undefined],
    [whsec(16), 'must decode to 24-64 bytes'],
    [whsec(65), 'must decode to 24-64 bytes'],
    [Buffer.alloc(32).toString('base64'), 'must be whsec_ followed by base64'],
    ['whsec_not*base64', 'must be whsec_ followed by base64'],
    ['whsec_abc', 'must be whsec_ followed by base64'],
  ])('%s -> %p', (secret, problem) => {
    expect(webhookSecretProblem(secret)).toBe(problem);
  });

  test('rotation: several space-separated secrets are checked one by one', () => {
    const doc = instanceDocument({ configuration: { 'event.notification.webhook.secret': `${whsec(32)} whsec_bad` } });
    expect(checkInstanceDocument(doc).errors).toEqual([
      { path: 'event.notification.webhook.secret', message: 'secret 2 must be whsec_ followed by base64' },
    ]);
  });
});

describe('validateInstanceDocument (with the SSRF policy)', () => {
  test('a public https callback passes', async () => {
    const result = await validateInstanceDocument(instanceDocument(), { callbackPolicy: PUBLIC_POLICY, resolveHost });
    expect(result.errors).toEqual([]);
    expect(result.document).toBeDefined();
  });

  test.each([
    ['http://callback.example.com/x', 'scheme "http" is not allowed'],
    ['https://internal.example.com/x', '10.1.2.3 (private)'],
    ['https://127.0.0.1/x', 'loopback'],
    ['https://169.254.169.254/latest/meta-data', 'link-local'],
  ])('%s is refused by the SSRF rules', async (url, reason) => {
    const result = await validateInstanceDocument(instanceDocument({ callbackUrl: url }), { callbackPolicy: PUBLIC_POLICY, resolveHost });
    expect(result.errors).toEqual([{ path: 'event.notification.callback.url', message: expect.stringContaining(reason) }]);
  });

  test('SSRF problems come together with every other problem', async () => {
    const doc = instanceDocument({ callbackUrl: 'https://127.0.0.1/x', storeId: 'abc' });
    const result = await validateInstanceDocument(doc, { callbackPolicy: PUBLIC_POLICY, resolveHost });
    expect(paths(result.errors).sort()).toEqual(['ecwid.store.id', 'event.notification.callback.url']);
  });

  test('allowHosts exempts a local receiver (development switch)', async () => {
    const policy: CallbackUrlPolicy = { ...PUBLIC_POLICY, allowHttp: true, allowHosts: ['127.0.0.1'] };
    const result = await validateInstanceDocument(instanceDocument({ callbackUrl: 'http://127.0.0.1:8080/x' }), { callbackPolicy: policy, resolveHost });
    expect(result.errors).toEqual([]);
  });

  test('assertValidInstanceDocument throws one error listing every problem', async () => {
    const doc = { configuration: { 'event.notification.enabled': 'maybe' } };
    const error = await assertValidInstanceDocument(doc, { callbackPolicy: PUBLIC_POLICY, resolveHost }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstanceValidationError);
    expect((error as Error).message).toBe(
      'invalid instance document (3 problems): ecwid.store.id: is required (the Ecwid store id); ' +
        'event.notification.callback.url: is required; event.notification.enabled: must be true or false',
    );
  });
});

describe("checkInstanceDocument: polling keys (the poller's own rules, poll/settings.ts)", () => {
  const withConfiguration = (configuration: Record<string, string | number | boolean>) => {
    const doc = instanceDocument({ clientSecret: 'cs' });
    return { ...doc, configuration: { ...doc.configuration, ...configuration } };
  };

  test('polling and reconciliation with their keys set are fine', () => {
    const modes: Record<string, string | boolean>[] = [{ 'event.vendor.type': 'polling' }, { 'event.poller.reconcile': true }];
    for (const mode of modes) {
      const result = checkInstanceDocument(
        withConfiguration({
          ...mode,
          'ecwid.access.token': 'secret_token-value',
          'event.poller.refresh_interval': 10,
          'event.poller.configuration': '{"orders":{},"customers":{}}',
        }),
      );
      expect(result.errors).toEqual([]);
      expect(result.document).toBeDefined();
    }
  });

  test('invalid vendor type, interval, reconcile and object types are errors listed with the rest, never quoting a value', () => {
    const result = checkInstanceDocument(
      withConfiguration({
        'event.notification.callback.url': 'ftp://example.com/x',
        'event.vendor.type': 'push-value',
        'event.poller.refresh_interval': '0',
        'event.poller.reconcile': 'sometimes',
        'event.poller.configuration': 'orders,invoices',
      }),
    );
    expect(result.document).toBeUndefined();
    expect(paths(result.errors).sort()).toEqual(
      [
        'event.notification.callback.url',
        'event.vendor.type',
        'event.poller.refresh_interval',
        'event.poller.reconcile',
        'event.poller.configuration',
        // reconcile may be on: polling needs a token
        'ecwid.access.token',
      ].sort(),
    );
    expect(JSON.stringify(result.errors)).not.toContain('push-value');
    expect(JSON.stringify(result.errors)).not.toContain('sometimes');
  });

  test('a malformed interval is an error even for a webhook-only instance', () => {
    expect(checkInstanceDocument(withConfiguration({ 'event.poller.refresh_interval': 'often' })).errors).toEqual([
      { path: 'event.poller.refresh_interval', message: expect.stringContaining('whole number of minutes') },
    ]);
  });

  test.each([
    ['polling only', { 'event.vendor.type': 'polling' }],
    ['reconciliation', { 'event.poller.reconcile': 'true' }],
  ])('%s without ecwid.access.token is an error (polling needs REST v3)', (_label, configuration) => {
    expect(checkInstanceDocument(withConfiguration(configuration)).errors).toEqual([
      { path: 'ecwid.access.token', message: expect.stringContaining('required for polling') },
    ]);
  });

  test('a key already in error is reported once (a template placeholder)', () => {
    const result = checkInstanceDocument(withConfiguration({ 'event.poller.refresh_interval': '<INSERT_MINUTES>' }));
    expect(result.errors).toEqual([{ path: 'event.poller.refresh_interval', message: 'still holds the template placeholder' }]);
  });

  test("Open Connectors' own instance JSON says event.vendor.type `webhooks`: accepted", () => {
    const result = checkInstanceDocument(fixtureJson('cloud-elements-instance-webhooks-with-signature-key.json'));
    expect(paths(result.errors)).not.toContain('event.vendor.type');
  });
});
