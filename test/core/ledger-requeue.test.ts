import { claim, finishAttempt, markQueued, park, receivedEntry } from '../../functions/core/ledger';
import { laterTicketId, requeueUnfinished } from '../../functions/core/ledger-flow';
import { MemoryLedger, MemoryTicketQueue } from '../../testkit/ledger';
import { queuedEventFor } from '../support/ledger-contract';

const T0 = new Date('2024-05-06T16:28:06.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const POLICY = { scheduleSeconds: [600], maxAttempts: 3 };

test('after the queue lost its tickets: a ticket for each event that can go now; retries, claims and parked events keep their due time', async () => {
  const ledger = new MemoryLedger(() => at(10));
  const entry = (eventId: string, objectId: string, seconds: number) => {
    const event = queuedEventFor({ eventId, objectId, receivedAt: at(seconds).toISOString() });
    return receivedEntry(event, JSON.stringify(event), at(seconds));
  };
  const received = entry('received', 'a', 0);
  const queued = markQueued(entry('queued', 'b', 1), at(1));
  const retrying = finishAttempt(claim(markQueued(entry('retrying', 'c', 2), at(2)), at(3)), { ok: false, errorClass: 'http', error: 'HTTP 500', durationMs: 1 }, at(3), POLICY);
  const delivering = claim(markQueued(entry('delivering', 'd', 4), at(4)), at(5));
  const parked = park(markQueued(entry('parked', 'c', 6), at(6)), retrying, at(6));
  const delivered = finishAttempt(claim(markQueued(entry('delivered', 'e', 7), at(7)), at(7)), { ok: true, httpStatus: 200, durationMs: 1 }, at(7), POLICY);
  await ledger.record([received, queued, retrying, delivering, parked, delivered]);
  const tickets = new MemoryTicketQueue();

  const sent = await requeueUnfinished({ ledger, tickets, clock: () => at(10), limit: 100 });

  expect(sent).toBe(2);
  expect(tickets.sent.map((t) => [t.event.eventId, t.ticketId])).toEqual([
    ['received', laterTicketId(received)],
    ['queued', laterTicketId(queued)],
  ]);
  // Nothing written.
  expect(ledger.writes).toBe(6);
});
