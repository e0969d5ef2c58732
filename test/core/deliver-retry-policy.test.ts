import {
  backoffSeconds,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_POLICY,
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  isLastAttempt,
  MAX_ATTEMPTS_LIMIT,
  MAX_BACKOFF_SECONDS,
  parseRetryAfter,
  queueVisibilityTimeoutSeconds,
  redriveMaxReceiveCount,
  retryPolicyFrom,
} from '../../functions/core/retry-policy';

describe('retry policy', () => {
  it('covers at least 24 hours with steps SQS accepts', () => {
    const total = DEFAULT_RETRY_SCHEDULE_SECONDS.reduce((sum, seconds) => sum + seconds, 0);
    expect(total).toBeGreaterThanOrEqual(24 * 3600);
    for (const seconds of DEFAULT_RETRY_SCHEDULE_SECONDS) expect(seconds).toBeLessThanOrEqual(MAX_BACKOFF_SECONDS);
    expect(DEFAULT_MAX_ATTEMPTS).toBe(DEFAULT_RETRY_SCHEDULE_SECONDS.length + 1);
    expect(DEFAULT_RETRY_SCHEDULE_SECONDS).toEqual([60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 43200]);
  });

  it('backs off by the receive count, repeating the last step', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 25].map((attempt) => backoffSeconds(DEFAULT_RETRY_POLICY, attempt));
    expect(delays).toEqual([60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 43200, 43200, 43200]);
    expect(backoffSeconds(DEFAULT_RETRY_POLICY, 0)).toBe(60);
  });

  it('honours Retry-After as a lower bound, never below the schedule and never above 12 h', () => {
    expect(backoffSeconds(DEFAULT_RETRY_POLICY, 1, 600)).toBe(600);
    expect(backoffSeconds(DEFAULT_RETRY_POLICY, 1, 5)).toBe(60);
    expect(backoffSeconds(DEFAULT_RETRY_POLICY, 4, 120)).toBe(1800);
    expect(backoffSeconds(DEFAULT_RETRY_POLICY, 1, 7 * 24 * 3600)).toBe(MAX_BACKOFF_SECONDS);
    expect(backoffSeconds(DEFAULT_RETRY_POLICY, 1, 0.2)).toBe(60);
    expect(backoffSeconds({ scheduleSeconds: [0], maxAttempts: 2 }, 1, 0.2)).toBe(1);
    expect(backoffSeconds(DEFAULT_RETRY_POLICY, 1, Number.NaN)).toBe(60);
  });

  it('knows the last attempt', () => {
    expect(isLastAttempt(DEFAULT_RETRY_POLICY, 10)).toBe(false);
    expect(isLastAttempt(DEFAULT_RETRY_POLICY, 11)).toBe(true);
    expect(isLastAttempt(DEFAULT_RETRY_POLICY, 12)).toBe(true);
  });

  describe('retryPolicyFrom (RETRY_SCHEDULE_SECONDS / MAX_ATTEMPTS)', () => {
    it('defaults when unset or blank', () => {
      expect(retryPolicyFrom({})).toEqual(DEFAULT_RETRY_POLICY);
      expect(retryPolicyFrom({ schedule: ' ', maxAttempts: '' })).toEqual(DEFAULT_RETRY_POLICY);
    });

    it('reads a schedule, and maxAttempts follows it unless given', () => {
      expect(retryPolicyFrom({ schedule: '1, 2,3' })).toEqual({ scheduleSeconds: [1, 2, 3], maxAttempts: 4 });
      expect(retryPolicyFrom({ schedule: '1,2,3', maxAttempts: '2' })).toEqual({ scheduleSeconds: [1, 2, 3], maxAttempts: 2 });
      expect(retryPolicyFrom({ maxAttempts: '20' }).maxAttempts).toBe(20);
    });

    it('rejects malformed values with a clear message', () => {
      expect(() => retryPolicyFrom({ schedule: '60,abc,-1,50000,' })).toThrow(
        'RETRY_SCHEDULE_SECONDS must be comma-separated whole seconds from 0 to 43200; bad entries: "abc", "-1", "50000", ""',
      );
      expect(() => retryPolicyFrom({ maxAttempts: '0' })).toThrow('MAX_ATTEMPTS must be an integer from 1 to 998, got "0"');
      expect(() => retryPolicyFrom({ maxAttempts: '999' })).toThrow('MAX_ATTEMPTS must be an integer from 1 to 998, got "999"');
      expect(retryPolicyFrom({ maxAttempts: '998' }).maxAttempts).toBe(998);
      expect(() => retryPolicyFrom({ maxAttempts: '2.5' })).toThrow('MAX_ATTEMPTS');
    });
  });

  describe('derived limits', () => {
    it('keeps the redrive backstop two receives past the last attempt, within SQS\'s 1000', () => {
      expect(redriveMaxReceiveCount(DEFAULT_MAX_ATTEMPTS)).toBe(13);
      expect(MAX_ATTEMPTS_LIMIT).toBe(998);
      expect(redriveMaxReceiveCount(MAX_ATTEMPTS_LIMIT)).toBe(1000);
    });

    it('makes the queue visibility six times the consumer timeout', () => {
      expect(queueVisibilityTimeoutSeconds(120)).toBe(720);
    });
  });

  describe('parseRetryAfter', () => {
    const now = new Date('2024-03-01T12:00:00Z');
    it('reads delta-seconds and HTTP dates', () => {
      expect(parseRetryAfter('120', now)).toBe(120);
      expect(parseRetryAfter(' 0 ', now)).toBe(0);
      expect(parseRetryAfter('Fri, 01 Mar 2024 13:00:00 GMT', now)).toBe(3600);
      expect(parseRetryAfter('Fri, 01 Mar 2024 11:00:00 GMT', now)).toBe(0);
    });
    it('ignores what it cannot read', () => {
      expect(parseRetryAfter(undefined, now)).toBeUndefined();
      expect(parseRetryAfter(null, now)).toBeUndefined();
      expect(parseRetryAfter('', now)).toBeUndefined();
      expect(parseRetryAfter('soon', now)).toBeUndefined();
      expect(parseRetryAfter('-5', now)).toBeUndefined();
    });
  });
});
