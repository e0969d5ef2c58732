import { maskConfigValue, maskDocument, MASKED, NOT_SET } from '../../cli/mask';
import { createProgress, formatDuration, renderPairs, renderTable, type CliIo } from '../../cli/output';
import { secretValuesOf } from '../../functions/core/instance';
import { instanceDocument } from '../../testkit/instances';

describe('masking', () => {
  test('secret-looking keys are masked like declared ones', () => {
    expect(maskConfigValue('password', 'hunter2')).toBe(MASKED);
    expect(maskConfigValue('event.vendor.type', 'polling')).toBe('polling');
  });

  test('a set secret shows only that it is set; an empty one that it is not', () => {
    expect(maskConfigValue('ecwid.client.secret', 'abcdef')).toBe(MASKED);
    expect(maskConfigValue('ecwid.client.secret', '')).toBe(NOT_SET);
    expect(maskConfigValue('ecwid.store.id', '1003')).toBe('1003');
  });

  test('the mask does not depend on the length of the secret', () => {
    expect(maskConfigValue('ecwid.order.key', 'x')).toBe(maskConfigValue('ecwid.order.key', 'x'.repeat(200)));
  });

  test('rotated webhook secrets show how many are active', () => {
    expect(maskConfigValue('event.notification.webhook.secret', 'whsec_a whsec_b')).toBe('****(2 set)');
    expect(maskConfigValue('event.notification.webhook.secret', '  ')).toBe(NOT_SET);
  });

  test('a callback URL is shown without its password', () => {
    expect(maskConfigValue('event.notification.callback.url', 'https://bob:hunter2@hooks.example.com/x?y=1')).toBe(
      'https://bob:****@hooks.example.com/x?y=1',
    );
  });

  test('maskDocument leaves no secret value in the JSON and does not change the input', () => {
    const doc = instanceDocument({
      callbackUrl: 'https://u:UrlPass99@hooks.example.com/x',
      clientSecret: 'ClientSecretXyz',
      configuration: { password: 'LegacyPassword1', 'event.notification.webhook.secret': 'whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY' },
    });
    const copy = JSON.parse(JSON.stringify(doc));
    const masked = JSON.stringify(maskDocument(doc));
    for (const secret of secretValuesOf(doc)) expect(masked).not.toContain(secret);
    expect(secretValuesOf(doc)).toEqual(expect.arrayContaining(['ClientSecretXyz', 'LegacyPassword1', 'UrlPass99', 'test-order-key']));
    expect(doc).toEqual(copy);
  });
});

describe('tables and formats', () => {
  test('renderTable pads columns, aligns numbers right and shows "-" for empty cells', () => {
    const text = renderTable(
      [
        { header: 'ID', value: (r: { id: string; n?: number }) => r.id },
        { header: 'COUNT', value: (r) => r.n, align: 'right' },
      ],
      [{ id: 'a', n: 5 }, { id: 'longer-id', n: 123 }, { id: 'c' }],
    );
    expect(text).toBe(['ID         COUNT', '---------  -----', 'a              5', 'longer-id    123', 'c              -', ''].join('\n'));
  });

  test('cells never break the table with newlines', () => {
    expect(renderTable([{ header: 'E', value: (r: string) => r }], ['two\nlines'])).toContain('two lines');
  });

  test('renderPairs aligns keys', () => {
    expect(renderPairs([['a', 1], ['long key', undefined]])).toBe('a         1\nlong key  -\n');
  });

  test.each([
    [0, '0s'],
    [59_999, '59s'],
    [61_000, '1m 1s'],
    [3_600_000 * 5 + 60_000 * 7, '5h 7m'],
    [3_600_000 * 50, '2d 2h'],
    [-1, '-'],
  ])('formatDuration(%p) = %p', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('progress', () => {
  const io = (tty: boolean) => {
    let err = '';
    const value: CliIo = { stdout: { write: () => true }, stderr: { write: (t: string) => (err += t), isTTY: tty }, env: {}, cwd: '/' };
    return { io: value, err: () => err };
  };

  test('draws a bar with counts on a terminal and clears it at the end', () => {
    const { io: terminal, err } = io(true);
    const progress = createProgress(terminal, 'replaying');
    progress.update(5, 10);
    expect(err()).toContain('replaying [############------------] 5/10');
    progress.done();
    expect(err().endsWith('\r\x1b[2K')).toBe(true);
  });

  test('prints nothing when stderr is not a terminal', () => {
    const { io: pipe, err } = io(false);
    const progress = createProgress(pipe, 'replaying');
    progress.update(1, 2);
    progress.done();
    expect(err()).toBe('');
  });
});
