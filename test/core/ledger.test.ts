import type { QueuedEvent } from '../../functions/core/event';
import {
  attemptsInRound,
  claim,
  DEFAULT_LEDGER_TIMING,
  deadLetterInterrupted,
  drop,
  excerptOf,
  SHORT_EXCERPT_MAX_BYTES,
  filter,
  finishAttempt,
  ingestDecision,
  isFinal,
  isReplayOf,
  ledgerTimingFrom,
  LedgerTransitionError,
  markQueued,
  nextToWake,
  notQueuedEntry,
  orderKey,
  park,
  receivedEntry,
  replayed,
  resend,
  swept,
  sweepDecision,
  ticketDecision,
  type AttemptResult,
  type LedgerEntry,
} from '../../functions/core/ledger';
import type { RetryPolicy } from '../../functions/core/retry-policy';

const T0 = new Date('2024-05-06T16:28:06.000Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
const POLICY: RetryPolicy = { scheduleSeconds: [60, 300, 900], maxAttempts: 4 };
const timing = DEFAULT_LEDGER_TIMING;

function event(overrides: Partial<QueuedEvent> = {}): QueuedEvent {
  return {
    v: 1,
    eventId: 'evt-1',
    instanceId: 'shop-a',
    storeId: '1003',
    source: 'webhook',
    ecwidEventType: 'order.updated',
    objectType: 'order',
    objectId: '124',
    eventType: 'UPDATED',
    receivedAt: T0.toISOString(),
    verified: true,
    raw: { eventId: 'evt-1' },
    ...overrides,
  };
}

const entryOf = (overrides: Partial<QueuedEvent> = {}, now: Date = T0): LedgerEntry => {
  const e = event(overrides);
  return receivedEntry(e, JSON.stringify(e), now);
};
const queued = (overrides: Partial<QueuedEvent> = {}, now: Date = T0): LedgerEntry => markQueued(entryOf(overrides, now), now);

const failure = (overrides: Partial<Extract<AttemptResult, { ok: false }>> = {}): AttemptResult => ({
  ok: false,
  errorClass: 'http',
  error: 'callback answered 503',
  httpStatus: 503,
  durationMs: 12,
  ...overrides,
});
const success: AttemptResult = { ok: true, httpStatus: 200, durationMs: 8, excerpt: 'ok' };

describe('recording at ingest', () => {
  test('a new entry is received, due for the sweep after the grace period, with the payload and no expiry', () => {
    const e = event();
    const entry = receivedEntry(e, JSON.stringify(e), T0);
    expect(entry).toMatchObject({
      instanceId: 'shop-a',
      eventId: 'evt-1',
      objectType: 'order',
      objectId: '124',
      status: 'received',
      statusAt: T0.toISOString(),
      dueAt: at(timing.receivedGraceSeconds).toISOString(),
      attemptCount: 0,
      attempts: [],
      resendCount: 0,
      version: 1,
    });
    expect(entry.expiresAt).toBeUndefined();
    expect(JSON.parse(entry.payload)).toEqual(e);
  });

  test('the decision: new when absent or expired, resume when only received, duplicate otherwise', () => {
    expect(ingestDecision(undefined, T0)).toEqual({ kind: 'new' });
    const received = entryOf();
    expect(ingestDecision(received, T0)).toEqual({ kind: 'resume', entry: received });
    const q = markQueued(received, at(1));
    expect(ingestDecision(q, at(2))).toEqual({ kind: 'duplicate', entry: q });
    const delivered = finishAttempt(claim(q, at(3)), success, at(4), POLICY);
    expect(ingestDecision(delivered, at(5)).kind).toBe('duplicate');
    // Kept for the retention after it became final; then a repeat is a new event (TTL deletes lazily).
    expect(ingestDecision(delivered, at(4 + timing.retentionSeconds - 1)).kind).toBe('duplicate');
    expect(ingestDecision(delivered, at(4 + timing.retentionSeconds))).toEqual({ kind: 'new' });
  });

  test('an event for a disabled or polling-only instance is recorded final at once, with its reason', () => {
    const e = event();
    const dropped = notQueuedEntry(e, '{}', { status: 'dropped', reason: 'instance-disabled', detail: 'notifications off' }, T0);
    expect(dropped).toMatchObject({ status: 'dropped', reason: 'instance-disabled', version: 1, expiresAt: T0.getTime() / 1000 + timing.retentionSeconds });
    expect(dropped.dueAt).toBeUndefined();
    const filtered = notQueuedEntry(e, '{}', { status: 'filtered', reason: 'polling-only', detail: 'polling only' }, T0);
    expect(filtered).toMatchObject({ status: 'filtered', reason: 'polling-only' });
    expect(ingestDecision(filtered, at(1)).kind).toBe('duplicate');
  });

  test('queued once the queue accepted it; never from a final state or a claim', () => {
    const q = markQueued(entryOf(), at(1));
    expect(q).toMatchObject({ status: 'queued', version: 2, dueAt: at(1 + timing.queuedStallSeconds).toISOString() });
    expect(() => markQueued(claim(q, at(2)), at(3))).toThrow(LedgerTransitionError);
    const delivered = finishAttempt(claim(q, at(2)), success, at(3), POLICY);
    expect(() => markQueued(delivered, at(4))).toThrow(/is delivered: cannot mark it queued/);
  });
});

describe('attempts are counted in the ledger', () => {
  test('a receiver that stays down gets exactly maxAttempts, on the schedule, then dead-letter with the last error', () => {
    let entry = queued();
    let now = T0;
    const starts: string[] = [];
    for (let attempt = 1; attempt <= POLICY.maxAttempts; attempt++) {
      const decision = ticketDecision(entry, [], now, POLICY);
      expect(decision).toEqual({ kind: 'attempt', interrupted: false });
      entry = claim(entry, now);
      expect(entry.status).toBe('delivering');
      expect(entry.attemptCount).toBe(attempt);
      starts.push(now.toISOString());
      now = new Date(now.getTime() + 1000);
      entry = finishAttempt(entry, failure({ error: `down ${attempt}` }), now, POLICY);
      if (attempt < POLICY.maxAttempts) {
        expect(entry.status).toBe('retrying');
        const backoff = POLICY.scheduleSeconds[attempt - 1];
        expect(entry.nextAttemptAt).toBe(new Date(now.getTime() + backoff * 1000).toISOString());
        expect(entry.dueAt).toBe(entry.nextAttemptAt);
        // A ticket that arrives before the backoff is over does nothing.
        expect(ticketDecision(entry, [], now, POLICY)).toEqual({ kind: 'skip', reason: `not due until ${entry.nextAttemptAt}` });
        now = new Date(Date.parse(entry.nextAttemptAt!));
      }
    }
    expect(entry.status).toBe('dead-lettered');
    expect(entry.lastError).toBe('down 4');
    expect(entry.attempts.map((a) => [a.n, a.outcome, a.at])).toEqual(starts.map((s, i) => [i + 1, 'failed', s]));
    expect(entry.dueAt).toBeUndefined();
    expect(entry.nextAttemptAt).toBeUndefined();
    expect(entry.expiresAt).toBe(Math.floor(now.getTime() / 1000) + timing.retentionSeconds);
    expect(ticketDecision(entry, [], now, POLICY)).toEqual({ kind: 'skip', reason: 'already dead-lettered' });
  });

  test('each attempt keeps its time, duration, status or error class, and a redacted excerpt of at most 1 KB', () => {
    const claimed = claim(queued(), at(10));
    const long = 'x'.repeat(5000);
    const next = finishAttempt(claimed, failure({ excerpt: long, durationMs: 1234.4, error: 'callback answered 503\n  Service Unavailable' }), at(12), POLICY);
    expect(next.attempts).toEqual([
      {
        n: 1,
        at: at(10).toISOString(),
        durationMs: 1234,
        outcome: 'failed',
        httpStatus: 503,
        errorClass: 'http',
        error: 'callback answered 503 Service Unavailable',
        excerpt: expect.any(String),
      },
    ]);
    expect(Buffer.byteLength(next.attempts[0].excerpt!, 'utf8')).toBeLessThanOrEqual(1024);
    const timeout = finishAttempt(claim(next, at(80)), failure({ errorClass: 'timeout', error: 'no answer within 10 s', httpStatus: undefined }), at(90), POLICY);
    expect(timeout.attempts[1]).toEqual({ n: 2, at: at(80).toISOString(), durationMs: 12, outcome: 'failed', errorClass: 'timeout', error: 'no answer within 10 s' });
    // Once a later attempt is recorded, an earlier one keeps the start of its excerpt only.
    expect(timeout.attempts[0].excerpt).toBe(excerptOf(long, SHORT_EXCERPT_MAX_BYTES));
    expect(Buffer.byteLength(timeout.attempts[0].excerpt!, 'utf8')).toBeLessThanOrEqual(SHORT_EXCERPT_MAX_BYTES);
  });

  test("a 2xx answer's excerpt is kept short, so a delivered event's item stays under one write unit", () => {
    const body = `{"received":true,"padding":"${'é'.repeat(500)}"}`;
    const delivered = finishAttempt(claim(queued(), T0), { ...success, excerpt: body }, at(1), POLICY);
    expect(delivered.attempts[0].excerpt).toBe(excerptOf(body, SHORT_EXCERPT_MAX_BYTES));
    expect(Buffer.byteLength(delivered.attempts[0].excerpt!, 'utf8')).toBeLessThanOrEqual(SHORT_EXCERPT_MAX_BYTES);
  });

  test("the receiver's Retry-After is honoured as a lower bound", () => {
    const next = finishAttempt(claim(queued(), T0), failure({ httpStatus: 429, retryAfterSeconds: 7200 }), at(1), POLICY);
    expect(next.nextAttemptAt).toBe(at(1 + 7200).toISOString());
  });

  test('a delivered event is final, keeps its history and any earlier error', () => {
    const failed = finishAttempt(claim(queued(), T0), failure(), at(1), POLICY);
    const delivered = finishAttempt(claim(failed, at(61)), success, at(62), POLICY);
    expect(delivered).toMatchObject({ status: 'delivered', attemptCount: 2, lastError: 'callback answered 503' });
    expect(delivered.attempts.map((a) => a.outcome)).toEqual(['failed', 'delivered']);
    expect(delivered.attempts[1]).toMatchObject({ httpStatus: 200, excerpt: 'ok' });
    expect(isFinal(delivered.status)).toBe(true);
  });

  test('an attempt cut short (no finish within the lease) counts, is recorded as interrupted, and is not repeated forever', () => {
    const claimed = claim(queued(), T0);
    // While the claim is live, another ticket for the event does nothing.
    expect(ticketDecision(claimed, [], at(timing.claimLeaseSeconds - 1), POLICY)).toEqual({ kind: 'skip', reason: 'an attempt is in progress' });
    const later = at(timing.claimLeaseSeconds + 1);
    expect(ticketDecision(claimed, [], later, POLICY)).toEqual({ kind: 'attempt', interrupted: true });
    const reclaimed = claim(claimed, later);
    expect(reclaimed.attemptCount).toBe(2);
    expect(reclaimed.attempts).toEqual([expect.objectContaining({ n: 1, outcome: 'interrupted', errorClass: 'interrupted', at: T0.toISOString() })]);

    // The last allowed attempt interrupted: dead-lettered, with that as the last error.
    let entry = claimed;
    for (let i = 1; i < POLICY.maxAttempts; i++) entry = claim(entry, at(i * 1000));
    expect(attemptsInRound(entry)).toBe(POLICY.maxAttempts);
    const end = at(POLICY.maxAttempts * 1000);
    expect(ticketDecision(entry, [], end, POLICY)).toEqual({ kind: 'dead-letter', interrupted: true });
    const dead = deadLetterInterrupted(entry, end);
    expect(dead.status).toBe('dead-lettered');
    expect(dead.attempts).toHaveLength(POLICY.maxAttempts);
    expect(dead.lastError).toMatch(/did not finish/);
  });

  test('finishing needs a claim', () => {
    expect(() => finishAttempt(queued(), success, T0, POLICY)).toThrow(LedgerTransitionError);
  });
});

describe('per-object order', () => {
  const first = queued({ eventId: 'a-first' }, T0);
  const second = queued({ eventId: 'b-second', receivedAt: at(1).toISOString() }, at(1));

  test('event n+1 waits while event n of the same object is unfinished', () => {
    expect(ticketDecision(second, [first, second], at(2), POLICY)).toEqual({ kind: 'wait', blockedBy: 'a-first' });
    const retrying = finishAttempt(claim(first, at(2)), failure(), at(3), POLICY);
    expect(ticketDecision(second, [retrying], at(4), POLICY)).toEqual({ kind: 'wait', blockedBy: 'a-first' });
    // The earliest unfinished one is named, whatever order the store returned them in.
    const third = queued({ eventId: 'c-third', receivedAt: at(5).toISOString() }, at(5));
    expect(ticketDecision(third, [second, first], at(6), POLICY)).toEqual({ kind: 'wait', blockedBy: 'a-first' });
  });

  test('finished earlier events and later events do not block', () => {
    const delivered = finishAttempt(claim(first, at(2)), success, at(3), POLICY);
    expect(ticketDecision(second, [delivered], at(4), POLICY)).toEqual({ kind: 'attempt', interrupted: false });
    const dead = { ...first, status: 'dead-lettered' as const };
    expect(ticketDecision(second, [dead], at(4), POLICY).kind).toBe('attempt');
    expect(ticketDecision(first, [first, second], at(4), POLICY).kind).toBe('attempt');
  });

  test('same arrival time: the event id breaks the tie, the same way for both', () => {
    const x = queued({ eventId: 'x' });
    const y = queued({ eventId: 'y' });
    expect(orderKey(x) < orderKey(y)).toBe(true);
    expect(ticketDecision(y, [x], T0, POLICY)).toEqual({ kind: 'wait', blockedBy: 'x' });
    expect(ticketDecision(x, [y], T0, POLICY).kind).toBe('attempt');
  });

  test('a parked event is due at its recheck, or when its blocker is due, whichever is later', () => {
    const soon = park(second, first, at(2));
    expect(soon).toMatchObject({ status: 'queued', blockedBy: 'a-first', dueAt: at(2 + timing.parkedRecheckSeconds).toISOString() });
    const blocker = { ...first, status: 'retrying' as const, dueAt: at(8 * 3600).toISOString(), nextAttemptAt: at(8 * 3600).toISOString() };
    expect(park(second, blocker, at(2)).dueAt).toBe(at(8 * 3600).toISOString());
    // Parking uses up no attempt.
    expect(soon.attemptCount).toBe(0);
  });

  test('when an event finishes, the next one parked behind it is woken, and only that one', () => {
    const parked2 = park(second, first, at(2));
    const third = park(queued({ eventId: 'c-third', receivedAt: at(3).toISOString() }, at(3)), first, at(3));
    const delivered = finishAttempt(claim(first, at(4)), success, at(5), POLICY);
    expect(nextToWake(delivered, [third, parked2])?.eventId).toBe('b-second');
    // The next one still has its own ticket (not parked): nothing to wake.
    expect(nextToWake(delivered, [second, third])).toBeUndefined();
    expect(nextToWake(delivered, [])).toBeUndefined();
  });
});

describe('drop, filter, resend', () => {
  test('dropped and filtered are final, with their reason; not from a final state', () => {
    const dropped = drop(queued(), 'forged', 'order 124 does not exist', at(1));
    expect(dropped).toMatchObject({ status: 'dropped', reason: 'forged', detail: 'order 124 does not exist' });
    expect(dropped.dueAt).toBeUndefined();
    expect(() => drop(dropped, 'forged', 'again', at(2))).toThrow(LedgerTransitionError);
    expect(filter(queued(), 'polling-only', 'polling only', at(1))).toMatchObject({ status: 'filtered', reason: 'polling-only' });
  });

  test('a resend starts a new round with a full budget, keeps the history and counts the resend', () => {
    let entry = queued();
    for (let i = 0; i < POLICY.maxAttempts; i++) entry = finishAttempt(claim(entry, at(i * 1000)), failure(), at(i * 1000 + 1), POLICY);
    expect(entry.status).toBe('dead-lettered');
    const again = resend(entry, at(99_999));
    expect(again).toMatchObject({ status: 'received', resendCount: 1, roundStart: 4, attemptCount: 4, lastError: 'callback answered 503' });
    expect(again.attempts).toHaveLength(4);
    expect(again.expiresAt).toBeUndefined();
    const requeued = markQueued(again, at(100_000));
    const claimed = claim(requeued, at(100_001));
    expect(claimed.attemptCount).toBe(5);
    expect(attemptsInRound(claimed)).toBe(1);
    const failedAgain = finishAttempt(claimed, failure(), at(100_002), POLICY);
    expect(failedAgain.status).toBe('retrying');
    expect(() => resend(requeued, at(1))).toThrow(/not finished/);
  });
});

describe('the sweep', () => {
  test('acts on unfinished entries whose due time has passed, and moves their due time on', () => {
    const received = entryOf();
    expect(sweepDecision(received, at(timing.receivedGraceSeconds - 1))).toEqual({ kind: 'leave' });
    expect(sweepDecision(received, at(timing.receivedGraceSeconds))).toEqual({ kind: 'enqueue' });
    const after = swept(received, at(timing.receivedGraceSeconds));
    expect(after.status).toBe('queued');
    expect(sweepDecision(after, at(timing.receivedGraceSeconds + 1))).toEqual({ kind: 'leave' });

    const retrying = finishAttempt(claim(queued(), T0), failure(), at(1), POLICY);
    expect(sweepDecision(retrying, new Date(Date.parse(retrying.nextAttemptAt!)))).toEqual({ kind: 'enqueue' });
    expect(sweepDecision(finishAttempt(claim(queued(), T0), success, at(1), POLICY), at(10 ** 7))).toEqual({ kind: 'leave' });
  });

  test('a stale claim stays delivering (its ticket records the interruption) but is not swept again at once', () => {
    const claimed = claim(queued(), T0);
    const due = at(timing.claimLeaseSeconds);
    expect(sweepDecision(claimed, due)).toEqual({ kind: 'enqueue' });
    const after = swept(claimed, due);
    expect(after).toMatchObject({ status: 'delivering', statusAt: T0.toISOString(), version: claimed.version + 1 });
    expect(sweepDecision(after, at(timing.claimLeaseSeconds + 1))).toEqual({ kind: 'leave' });
    expect(ticketDecision(after, [], at(timing.claimLeaseSeconds + 1), POLICY)).toEqual({ kind: 'attempt', interrupted: true });
  });
});

test('every write moves the version by one', () => {
  const r = entryOf();
  const q = markQueued(r, at(1));
  const c = claim(q, at(2));
  const f = finishAttempt(c, success, at(3), POLICY);
  expect([r.version, q.version, c.version, f.version]).toEqual([1, 2, 3, 4]);
});

describe('excerpts', () => {
  test('short text is kept as it is', () => {
    expect(excerptOf('hello')).toBe('hello');
    expect(excerptOf('x'.repeat(1024))).toHaveLength(1024);
  });

  test('long text is cut to 1 KB of UTF-8 without splitting a character', () => {
    const text = '€'.repeat(1000); // 3 bytes each
    const cut = excerptOf(text);
    expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(1024);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut.slice(0, -1)).toBe('€'.repeat(cut.length - 1));
    const emoji = excerptOf('😀'.repeat(400));
    expect(Buffer.byteLength(emoji, 'utf8')).toBeLessThanOrEqual(1024);
    expect(emoji).not.toMatch(/[\ud800-\udbff]…$/);
  });
});

describe('timing from the environment', () => {
  test('retention in whole days; unset means the default; anything else is refused', () => {
    expect(ledgerTimingFrom({})).toBe(DEFAULT_LEDGER_TIMING);
    expect(ledgerTimingFrom({ retentionDays: ' 7 ' }).retentionSeconds).toBe(7 * 86_400);
    expect(ledgerTimingFrom({ retentionDays: '7' }).claimLeaseSeconds).toBe(DEFAULT_LEDGER_TIMING.claimLeaseSeconds);
    for (const bad of ['0', '1.5', 'x', '4000']) expect(() => ledgerTimingFrom({ retentionDays: bad })).toThrow(/LEDGER_RETENTION_DAYS/);
  });
});

describe('permanent failures and replayed dead letters', () => {
  const queuedAt = (seconds: number) => markQueued(receivedEntry(event(), JSON.stringify(event()), at(seconds)), at(seconds));

  test('a permanent failure (refused URL, missing keys) is dead-lettered at its first attempt, whatever attempts are left', () => {
    const claimed = claim(queuedAt(0), at(1));
    const dead = finishAttempt(claimed, { ok: false, errorClass: 'url-refused', error: 'callback URL refused: private address', durationMs: 2, permanent: true }, at(2), POLICY);
    expect(dead).toMatchObject({ status: 'dead-lettered', attemptCount: 1, lastError: 'callback URL refused: private address' });
    expect(dead.attempts).toEqual([expect.objectContaining({ n: 1, outcome: 'failed', errorClass: 'url-refused' })]);
    expect(dead.nextAttemptAt).toBeUndefined();
    expect(dead.expiresAt).toBeDefined();
  });

  test('only the DLQ copy of this very dead-lettering starts a new round, in one write, its history kept', () => {
    const once: RetryPolicy = { scheduleSeconds: [60], maxAttempts: 1 };
    const dead = finishAttempt(claim(queuedAt(0), at(1)), { ok: false, errorClass: 'http', error: 'HTTP 500', durationMs: 2 }, at(2), once);
    expect(isReplayOf(dead, dead.version)).toBe(true);
    expect(isReplayOf(dead, dead.version - 1)).toBe(false);
    expect(isReplayOf(dead, undefined)).toBe(false);
    expect(isReplayOf({ ...dead, status: 'delivered' }, dead.version)).toBe(false);

    const again = replayed(dead, at(100), timing, '{"replayed":true}');
    expect(again).toMatchObject({ status: 'queued', version: dead.version + 1, resendCount: 1, roundStart: 1, attemptCount: 1, payload: '{"replayed":true}' });
    expect(again.attempts).toEqual(dead.attempts);
    expect(again.expiresAt).toBeUndefined();
    expect(replayed(dead, at(100)).payload).toBe(dead.payload);
  });
});
