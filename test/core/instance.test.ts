import {
  CONFIG_KEYS,
  configOf,
  isSecretKey,
  redactCallbackUrl,
  scrubSecrets,
  SECRET_CONFIG_KEYS,
  secretValuesOf,
  withConfig,
  type InstanceDocument,
} from '../../functions/core/instance';
import { instanceDocument } from '../../testkit/instances';

const doc = (configuration: InstanceDocument['configuration']): InstanceDocument => ({ configuration });

describe('configOf: the one reader of configuration keys', () => {
  test('reads every key, trimmed; empty means absent', () => {
    const config = configOf({
      id: 'shop-a',
      document: doc({
        [CONFIG_KEYS.storeId]: ' 1003 ',
        [CONFIG_KEYS.callbackUrl]: 'https://hooks.example.com/x',
        [CONFIG_KEYS.clientSecret]: '',
        [CONFIG_KEYS.accessToken]: 'secret_abc',
        [CONFIG_KEYS.webhookSecret]: ' whsec_old   whsec_new ',
        [CONFIG_KEYS.pollerRefreshInterval]: 15,
      }),
    });
    expect(config).toMatchObject({
      storeId: '1003',
      callbackUrl: 'https://hooks.example.com/x',
      clientSecret: undefined,
      accessToken: 'secret_abc',
      webhookSecrets: ['whsec_old', 'whsec_new'],
      pollerRefreshInterval: '15',
      notificationsEnabled: true,
      enabledSetting: 'absent',
      pollerReconcile: 'absent',
    });
  });

  test.each([
    [true, true, true],
    ['TRUE', true, true],
    [' false ', false, false],
    [false, false, false],
    ['', 'absent', true],
    ['maybe', 'invalid', true],
  ])('event.notification.enabled %p reads as %p (notifications on: %p)', (value, setting, on) => {
    const config = configOf(doc({ [CONFIG_KEYS.enabled]: value }));
    expect(config.enabledSetting).toBe(setting);
    expect(config.notificationsEnabled).toBe(on);
  });

  test('withConfig sets and removes keys on a copy', () => {
    const original = instanceDocument({ storeId: '1003' });
    const changed = withConfig(original, { [CONFIG_KEYS.storeId]: '2000', [CONFIG_KEYS.orderKey]: undefined });
    expect(configOf(changed).storeId).toBe('2000');
    expect(CONFIG_KEYS.orderKey in changed.configuration).toBe(false);
    expect(configOf(original).storeId).toBe('1003');
  });

  test('a configuration is read once: the same frozen view for it and for documents sharing it; a copy is read anew', () => {
    const original = instanceDocument({ storeId: '1003' });
    const first = configOf(original);
    expect(configOf({ id: 'shop-a', document: original })).toBe(first);
    expect(configOf({ ...original, name: 'renamed' })).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.clientSecrets) && Object.isFrozen(first.webhookSecrets)).toBe(true);
    const changed = withConfig(original, { [CONFIG_KEYS.storeId]: '2000' });
    expect(configOf(changed)).not.toBe(first);
    expect(configOf(changed).storeId).toBe('2000');
    expect(first.storeId).toBe('1003');
  });

  test('a malformed configuration (not an object) is read as before, not remembered', () => {
    const malformed = { configuration: 'not an object' } as unknown as InstanceDocument;
    expect(configOf(malformed).storeId).toBeUndefined();
    expect(configOf(malformed)).not.toBe(configOf(malformed));
  });
});

describe('secrets: one list, one way to hide them', () => {
  test.each(SECRET_CONFIG_KEYS.map((key) => [key]))('%s is a secret key', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  test.each(['password', 'api.token', 'oauth.client_secret', 'private.key', 'apikey', 'my_api_key'])('%s looks like a secret and is masked', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  test.each(['ecwid.store.id', 'event.notification.enabled', 'event.notification.callback.url', 'event.vendor.type', 'name', 'monkey'])(
    '%s is not a secret',
    (key) => {
      expect(isSecretKey(key)).toBe(false);
    },
  );

  test('a callback URL keeps everything but its password and secret query values', () => {
    expect(redactCallbackUrl('https://bob:hunter2@hooks.example.com/x?y=1')).toBe('https://bob:****@hooks.example.com/x?y=1');
    expect(redactCallbackUrl('https://hooks.example.com/x?a=%20b&token=t0k3n&api_key=k3y')).toBe(
      'https://hooks.example.com/x?a=%20b&token=****&api_key=****',
    );
    expect(redactCallbackUrl('https://hooks.example.com/x')).toBe('https://hooks.example.com/x');
    // Credentials under names that do not look secret: Azure SAS `sig`, Azure Functions `code`, presigned S3.
    expect(redactCallbackUrl('https://q.example.net/m?sv=2022&sig=AbC%2Bd&se=1')).toBe('https://q.example.net/m?sv=2022&sig=****&se=1');
    expect(redactCallbackUrl('https://f.example.net/api/h?code=FnKey123&clientId=x')).toBe('https://f.example.net/api/h?code=****&clientId=x');
    expect(redactCallbackUrl('https://b.example.net/o?X-Amz-Signature=abcd1234&auth=zz9')).toBe(
      'https://b.example.net/o?X-Amz-Signature=****&auth=****',
    );
    expect(redactCallbackUrl('not a url')).toBe('not a url');
  });

  test('secretValuesOf: secret keys, each rotated whsec_, and the callback URL password and token', () => {
    const values = secretValuesOf(
      instanceDocument({
        callbackUrl: 'https://u:Url%20Pass99@hooks.example.com/x?token=QueryTok3n&page=2&sig=SasSig777',
        clientSecret: 'ClientSecretXyz',
        configuration: { password: 'LegacyPassword1', [CONFIG_KEYS.webhookSecret]: 'whsec_AAAA1111 whsec_BBBB2222', 'short.key': 'abc' },
      }),
    );
    expect(values).toEqual(
      expect.arrayContaining([
        'ClientSecretXyz',
        'LegacyPassword1',
        'test-order-key',
        'whsec_AAAA1111',
        'whsec_BBBB2222',
        'whsec_AAAA1111 whsec_BBBB2222',
        'Url%20Pass99',
        'Url Pass99',
        'QueryTok3n',
        'SasSig777',
      ]),
    );
    expect(values).not.toContain('abc');
    expect(values).not.toContain('2');
    // Longest first, so a whole value is replaced before any part of it.
    expect([...values].sort((a, b) => b.length - a.length)).toEqual(values);
  });

  test('scrubSecrets replaces every occurrence', () => {
    expect(scrubSecrets('a hunter22 b hunter22', ['hunter22'])).toBe('a *** b ***');
    expect(scrubSecrets('x hunter22', ['hunter22'], '****')).toBe('x ****');
  });
});
