import { CONFIG_KEYS, type ConfigValue } from '../../../functions/core/instance';
import { pollSettingProblems, pollSettingsOf, webhookHandlingOf } from '../../../functions/core/poll/settings';
import { instanceDocument } from '../../../testkit/instances';

const doc = (configuration: Record<string, ConfigValue>) =>
  instanceDocument({ configuration: { [CONFIG_KEYS.accessToken]: 'secret_token_value', ...configuration } });

describe('pollSettingsOf', () => {
  test('webhook mode (the default) without reconcile: not polled', () => {
    expect(pollSettingsOf(doc({}))).toEqual({ kind: 'off' });
    expect(pollSettingsOf(doc({ [CONFIG_KEYS.vendorType]: 'webhook', [CONFIG_KEYS.pollerReconcile]: 'false' }))).toEqual({ kind: 'off' });
  });

  test('polling mode with the defaults: every 15 minutes, orders', () => {
    expect(pollSettingsOf(doc({ [CONFIG_KEYS.vendorType]: 'polling' }))).toEqual({
      kind: 'on',
      settings: { mode: 'polling', intervalMinutes: 15, objectTypes: ['orders'] },
    });
  });

  test('webhook plus reconcile (boolean or text) polls in reconcile mode', () => {
    for (const value of [true, 'true', 'TRUE']) {
      const result = pollSettingsOf(doc({ [CONFIG_KEYS.pollerReconcile]: value }));
      expect(result).toEqual({ kind: 'on', settings: { mode: 'reconcile', intervalMinutes: 15, objectTypes: ['orders'] } });
    }
  });

  test('interval and object types from the Open Connectors keys (JSON object or list)', () => {
    expect(
      pollSettingsOf(
        doc({
          [CONFIG_KEYS.vendorType]: 'Polling',
          [CONFIG_KEYS.pollerRefreshInterval]: 5,
          [CONFIG_KEYS.pollerConfiguration]: '{"customers":{"url":"/customers"},"orders":{}}',
        }),
      ),
    ).toEqual({ kind: 'on', settings: { mode: 'polling', intervalMinutes: 5, objectTypes: ['orders', 'customers'] } });
    expect(
      pollSettingsOf(doc({ [CONFIG_KEYS.vendorType]: 'polling', [CONFIG_KEYS.pollerConfiguration]: 'products, orders' })),
    ).toMatchObject({ settings: { objectTypes: ['orders', 'products'] } });
  });

  test('every problem at once, naming keys, never values', () => {
    const result = pollSettingsOf(
      instanceDocument({
        storeId: 'not-a-store',
        configuration: {
          [CONFIG_KEYS.vendorType]: 'polling',
          [CONFIG_KEYS.pollerRefreshInterval]: '0',
          [CONFIG_KEYS.pollerConfiguration]: 'orders,invoices',
          [CONFIG_KEYS.pollerReconcile]: 'maybe',
        },
      }),
    );
    expect(result.kind).toBe('invalid');
    const problems = result.kind === 'invalid' ? result.problems : [];
    expect(problems).toEqual([
      `${CONFIG_KEYS.pollerReconcile} must be true or false`,
      expect.stringContaining(`${CONFIG_KEYS.pollerRefreshInterval} must be a whole number of minutes`),
      expect.stringContaining('unsupported object types ("invoices")'),
      `${CONFIG_KEYS.storeId} must be the numeric Ecwid store id`,
      expect.stringContaining(`${CONFIG_KEYS.accessToken} is required`),
    ]);
  });

  test('an unknown vendor type and broken JSON are problems', () => {
    expect(pollSettingsOf(doc({ [CONFIG_KEYS.vendorType]: 'push' }))).toEqual({
      kind: 'invalid',
      problems: [`${CONFIG_KEYS.vendorType} must be "webhook" or "polling"`],
    });
    expect(pollSettingsOf(doc({ [CONFIG_KEYS.vendorType]: 'polling', [CONFIG_KEYS.pollerConfiguration]: '{"orders":' }))).toEqual({
      kind: 'invalid',
      problems: [`${CONFIG_KEYS.pollerConfiguration} is not valid JSON`],
    });
  });
});

describe('vendor type aliases', () => {
  test("Open Connectors' own samples say `webhooks`: the same as `webhook`", () => {
    expect(pollSettingsOf(doc({ [CONFIG_KEYS.vendorType]: 'webhooks' }))).toEqual({ kind: 'off' });
    expect(pollSettingsOf(doc({ [CONFIG_KEYS.vendorType]: 'Webhooks', [CONFIG_KEYS.pollerReconcile]: true }))).toMatchObject({
      kind: 'on',
      settings: { mode: 'reconcile' },
    });
  });
});

describe('pollSettingProblems (instance validation)', () => {
  test('reports malformed polling keys even when the instance is not polled', () => {
    const webhookOnly = instanceDocument({
      configuration: { [CONFIG_KEYS.pollerRefreshInterval]: '1.5', [CONFIG_KEYS.pollerConfiguration]: 'invoices' },
    });
    expect(pollSettingsOf(webhookOnly)).toEqual({ kind: 'off' });
    expect(pollSettingProblems(webhookOnly)).toEqual([
      { key: CONFIG_KEYS.pollerRefreshInterval, message: expect.stringContaining('whole number of minutes') },
      { key: CONFIG_KEYS.pollerConfiguration, message: expect.stringContaining('unsupported object types ("invoices")') },
    ]);
  });

  test('asks for what polling needs only when polling is asked for', () => {
    expect(pollSettingProblems(instanceDocument())).toEqual([]);
    expect(pollSettingProblems(instanceDocument({ configuration: { [CONFIG_KEYS.vendorType]: 'polling' } }))).toEqual([
      { key: CONFIG_KEYS.accessToken, message: expect.stringContaining('is required for polling') },
    ]);
    expect(pollSettingProblems(instanceDocument({ configuration: { [CONFIG_KEYS.pollerReconcile]: 'yes' } }))).toEqual([
      { key: CONFIG_KEYS.pollerReconcile, message: 'must be true or false' },
      { key: CONFIG_KEYS.accessToken, message: expect.stringContaining('is required for polling') },
    ]);
  });

  test('lists a bad vendor type with the other problems', () => {
    expect(
      pollSettingProblems(instanceDocument({ configuration: { [CONFIG_KEYS.vendorType]: 'push', [CONFIG_KEYS.pollerRefreshInterval]: '0' } })),
    ).toEqual([
      { key: CONFIG_KEYS.vendorType, message: 'must be "webhook" or "polling"' },
      { key: CONFIG_KEYS.pollerRefreshInterval, message: expect.stringContaining('whole number of minutes') },
    ]);
  });
});

describe('webhookHandlingOf (ingest)', () => {
  test.each([
    ['webhook only (default)', {}, 'queue'],
    ['webhooks with reconciliation', { [CONFIG_KEYS.pollerReconcile]: 'true' }, 'queue-and-sight'],
    ['reconciliation that cannot run (no token): the poller skips it', { [CONFIG_KEYS.pollerReconcile]: 'true', [CONFIG_KEYS.accessToken]: '' }, 'queue'],
    ['polling only', { [CONFIG_KEYS.vendorType]: 'polling' }, 'skip'],
    ['polling only, misconfigured', { [CONFIG_KEYS.vendorType]: 'polling', [CONFIG_KEYS.accessToken]: '' }, 'skip'],
    ['unknown vendor type', { [CONFIG_KEYS.vendorType]: 'push' }, 'queue'],
  ] as const)('%s', (_name, configuration, expected) => {
    expect(webhookHandlingOf(doc(configuration))).toBe(expected);
  });
});
