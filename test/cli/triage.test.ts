import { ageWindowOf, configChange, errorClassOf, memoizedChangeTimes, parseAge, parseErrorClass, withinAge } from '../../cli/triage';
import { UsageError } from '../../cli/errors';

describe('errorClassOf: the errors deliver records', () => {
  test.each([
    ['callback https://hooks.example.com answered HTTP 503', 'http-5xx'],
    ['callback https://hooks.example.com answered HTTP 410 (Gone)', 'http-4xx'],
    ['callback https://hooks.example.com timed out', 'timeout'],
    ['callback https://hooks.example.com failed: ECONNREFUSED', 'connection'],
    ['callback URL refused: resolves to 10.1.2.3 (private)', 'url-refused'],
    ['instance has no event.notification.callback.url', 'config'],
    ['Ecwid API GET /v3/1003/orders/12 answered HTTP 429', 'ecwid-api'],
    ['Ecwid API GET /v1/1003/orders?secure_auth_key=*** failed: timed out', 'ecwid-api'],
    ["the Ecwid API budget of this store's token is used up for the next 3 s (600 requests a minute per token)", 'ecwid-api'],
    ['unparseable message: body is not JSON', 'unparseable'],
    ['something else', 'other'],
  ])('%s -> %s', (error, expected) => {
    expect(errorClassOf(error)).toBe(expected);
  });

  test('no error, no class', () => {
    expect(errorClassOf(undefined)).toBeUndefined();
    expect(errorClassOf(' ')).toBeUndefined();
  });

  test('--error http takes both HTTP classes; an unknown class is named', () => {
    const http = parseErrorClass('http')!;
    expect([http('http-4xx'), http('http-5xx'), http('timeout')]).toEqual([true, true, false]);
    expect(() => parseErrorClass('http-500')).toThrow(new UsageError('--error must be one of http, http-4xx, http-5xx, timeout, connection, url-refused, config, ecwid-api, unparseable, other; got "http-500"'));
  });
});

describe('ages', () => {
  test.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['3d', 259_200_000],
    ['1h30m', 5_400_000],
  ])('%s', (text, ms) => expect(parseAge('older-than', text)).toBe(ms));

  test.each([['2'], ['-2h'], ['2 h'], ['2w'], ['h']])('%s is refused with the option named', (text) => {
    expect(() => parseAge('older-than', text)).toThrow(`--older-than must be an age like 90s, 30m, 2h or 3d, got "${text}"`);
  });

  test('older-than and newer-than together must leave a window', () => {
    expect(() => ageWindowOf({ olderThan: '2h', newerThan: '1h' })).toThrow('--older-than must be less than --newer-than');
    const window = ageWindowOf({ olderThan: '1h', newerThan: '1d' });
    const now = new Date('2026-01-02T12:00:00Z');
    expect(withinAge('2026-01-02T11:30:00Z', window, now)).toBe(false);
    expect(withinAge('2026-01-02T10:00:00Z', window, now)).toBe(true);
    expect(withinAge('2025-12-31T10:00:00Z', window, now)).toBe(false);
    expect(withinAge(undefined, window, now)).toBe(false);
    expect(withinAge(undefined, {}, now)).toBe(true);
  });
});

describe('configChange', () => {
  const failedAt = '2026-01-02T12:00:00.000Z';
  test('changed only when written after the failure', () => {
    expect(configChange(Date.parse(failedAt) + 1, failedAt)).toBe('changed');
    expect(configChange(Date.parse(failedAt), failedAt)).toBe('unchanged');
    expect(configChange(null, failedAt)).toBe('deleted');
    expect(configChange(undefined, failedAt)).toBe('unknown');
    expect(configChange(Date.parse(failedAt), undefined)).toBe('unknown');
  });

  test('one read per instance; a failed read is unknown, not an error', async () => {
    const read = jest.fn(async (id: string) => {
      if (id === 'broken') throw new Error('AccessDenied');
      return 5;
    });
    const changedAt = memoizedChangeTimes(read);
    expect(await Promise.all([changedAt('a'), changedAt('a'), changedAt('broken')])).toEqual([5, 5, undefined]);
    expect(read).toHaveBeenCalledTimes(2);
  });
});
