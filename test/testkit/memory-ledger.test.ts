import { claim, finishAttempt, markQueued } from '../../functions/core/ledger';
import type { RetryPolicy } from '../../functions/core/retry-policy';
import { MemoryLedger } from '../../testkit/ledger';
import { entryAt } from '../support/ledger-contract';

const T0 = new Date('2024-05-06T16:28:06.000Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
const POLICY: RetryPolicy = { scheduleSeconds: [60], maxAttempts: 2 };

// The stand-in keeps an index of each object's unfinished entries (the scale bench needs it): the
// same answers as the DynamoDB adapter's contract test, through record, update and re-record.
describe('MemoryLedger.unfinishedOfObject', () => {
  test('unfinished events of an object, in arrival order; finished ones leave the index', async () => {
    const ledger = new MemoryLedger(() => at(0));
    const first = entryAt(0, { eventId: 'z-first', objectId: '7' });
    const second = entryAt(1, { eventId: 'a-second', objectId: '7' });
    const otherObject = entryAt(2, { eventId: 'other', objectId: '8' });
    await ledger.record([second, otherObject, first]);
    const object = { instanceId: first.instanceId, objectType: 'order', objectId: '7' };
    expect((await ledger.unfinishedOfObject(object)).map((e) => e.eventId)).toEqual(['z-first', 'a-second']);
    expect((await ledger.unfinishedOfObject(second)).map((e) => e.eventId)).toEqual(['z-first']);
    const queued = markQueued(first, at(3));
    const claimed = claim(queued, at(4));
    expect(await ledger.update(queued)).toBe(true);
    expect(await ledger.update(claimed)).toBe(true);
    expect((await ledger.unfinishedOfObject(object)).map((e) => e.eventId)).toEqual(['z-first', 'a-second']);
    expect(await ledger.update(finishAttempt(claimed, { ok: true, httpStatus: 204, durationMs: 3 }, at(5), POLICY))).toBe(true);
    expect((await ledger.unfinishedOfObject(object)).map((e) => e.eventId)).toEqual(['a-second']);
    expect((await ledger.unfinishedOfObject({ ...object, objectId: '8' })).map((e) => e.eventId)).toEqual(['other']);
  });

  test('a refused update leaves the index as it was', async () => {
    const ledger = new MemoryLedger(() => at(0));
    const entry = entryAt(0, { eventId: 'e1' });
    await ledger.record([entry]);
    const claimed = claim(markQueued(entry, at(1)), at(2));
    // Two versions ahead: refused, so the entry is still unfinished.
    expect(await ledger.update(finishAttempt(claimed, { ok: true, httpStatus: 200, durationMs: 1 }, at(3), POLICY))).toBe(false);
    expect((await ledger.unfinishedOfObject({ ...entry, eventId: 'another' })).map((e) => e.eventId)).toEqual(['e1']);
  });
});
