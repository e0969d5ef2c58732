import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { attributeValue, itemAttributeValues } from '../../../functions/adapters/aws/dynamodb-attribute-values';
import { DynamoDbLedger, toItem } from '../../../functions/adapters/aws/dynamodb-ledger';
import { LEDGER_TABLE } from '../../../functions/contract';
import type { QueuedEvent } from '../../../functions/core/event';
import { claim, finishAttempt, isFinal, notQueuedEntry, objectKey, orderKey, receivedEntry, type LedgerEntry } from '../../../functions/core/ledger';
import { DEFAULT_RETRY_POLICY as POLICY } from '../../../functions/core/retry-policy';
import { AwsStandIn } from '../../../testkit/aws';
import { queuedEvent } from '../../../testkit/events';
import { fixtureJson } from '../../../testkit/fixtures';

/**
 * The ledger writes its items through the DynamoDB client with attribute values built by
 * itemAttributeValues (no document client, no util-dynamodb marshall on the way): the request must
 * be byte for byte the one the document client sent before, for the same entry.
 */

const NOW = new Date('2026-03-01T12:00:00.000Z');

/** toItem as it was when the document client marshalled it (copy, delete, spread): the reference. */
function referenceItem(entry: LedgerEntry): Record<string, unknown> {
  const unfinished = !isFinal(entry.status);
  const item: Record<string, unknown> = { ...entry };
  let event: Record<string, unknown> | undefined;
  try {
    event = JSON.parse(entry.payload) as Record<string, unknown>;
  } catch {
    event = undefined;
  }
  for (const name of ['storeId', 'source', 'objectType', 'objectId', 'occurredAt', 'receivedAt']) {
    if (event && item[name] !== undefined && event[name] === item[name]) delete item[name];
  }
  return {
    ...item,
    receivedKey: orderKey(entry),
    objectKey: objectKey(entry),
    ...(!(LEDGER_TABLE.statusesNotIndexed as readonly string[]).includes(entry.status)
      ? { statusTime: unfinished ? (entry.dueAt ?? entry.statusAt) : entry.statusAt }
      : {}),
    ...(unfinished ? { unfinishedObjectKey: objectKey(entry) } : {}),
    ...(entry.status === 'received' ? { [LEDGER_TABLE.receivedDueAttribute]: entry.dueAt ?? entry.statusAt } : {}),
  };
}

const received = (event: QueuedEvent): LedgerEntry => receivedEntry(event, JSON.stringify(event), NOW);

/** A few events as ingest records them, and entries further along (attempts, final, dropped). */
function fixtureEntries(): Array<[string, LedgerEntry]> {
  const orderCreated = fixtureJson<Record<string, unknown>>('modern-order-created.json');
  const webhook = queuedEvent({ eventId: String(orderCreated.eventId), raw: orderCreated, ecwidEventType: 'order.created', eventType: 'CREATED' });
  const unicode = queuedEvent({
    eventId: 'evt-ü-2',
    objectId: 'Zürich-注文-😀',
    raw: {
      note: 'naïve café — “quoted” \u2028line\u2029sep 😀 𝄞 注文 \ufffe\uffff tab\t nul\u0000 lone \ud800 end',
      nested: { emoji: ['🎉', '\u00e9', 'e\u0301'], empty: '' },
    },
  });
  const bigNumbers = queuedEvent({
    eventId: 'evt-big',
    raw: { total: 12345678901234567890, tiny: 1e-300, negative: -9007199254740991, float: 0.1 + 0.2, exp: 1.5e300, orderId: 9007199254740993 },
  });
  const ion = queuedEvent({ eventId: 'ion-1', source: 'ion', verified: false, occurredAt: undefined, raw: { order: '42', status: 'PAID' } });
  // An entry whose own fields differ from its payload's: they stay in the item.
  const differing: LedgerEntry = { ...received(webhook), receivedAt: '2026-03-01T11:59:59.000Z', objectId: 'other' };
  const delivering = claim(received(unicode), NOW);
  const failedOnce = finishAttempt(
    delivering,
    { ok: false, durationMs: 1234.6, httpStatus: 503, errorClass: 'http', error: 'answered HTTP 503 — “busy” 😀', excerpt: 'Service Unavailable ü'.repeat(30) },
    NOW,
    POLICY,
  );
  const delivered = finishAttempt(claim({ ...failedOnce, status: 'queued' } as LedgerEntry, NOW), { ok: true, durationMs: 87, httpStatus: 200, excerpt: '{"ok":true}' }, NOW, POLICY);
  const dropped = notQueuedEntry(bigNumbers, JSON.stringify(bigNumbers), { status: 'dropped', reason: 'instance-disabled', detail: 'disabled — ü' }, NOW);
  return [
    ['webhook order.created', received(webhook)],
    ['unicode raw body', received(unicode)],
    ['large numbers in the raw body', received(bigNumbers)],
    ['ION post', received(ion)],
    ['fields that differ from the payload', differing],
    ['claimed', delivering],
    ['retrying, with an attempt', failedOnce],
    ['delivered, two attempts', delivered],
    ['dropped (final, expiresAt)', dropped],
    ['payload that is not JSON', { ...received(webhook), payload: 'not json {' }],
  ];
}

/** The value a function returns (as JSON text, bigints marked) or the message it throws. */
function outcome(fn: () => unknown): { value: string } | { error: string } {
  try {
    return { value: JSON.stringify(fn(), (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value)) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** Request bodies as the client sends them, answered at once. */
class CapturingStandIn extends AwsStandIn {
  readonly bodies: string[] = [];
  override answer(target: string | undefined, text: string) {
    this.bodies.push(text);
    return super.answer(target, text);
  }
}

describe('ledger items built without the document client', () => {
  test.each(fixtureEntries())('%s: the item is the one util-dynamodb marshalled from the old toItem', (_label, entry) => {
    const expected = marshall(referenceItem(entry), { removeUndefinedValues: true });
    expect(JSON.stringify(itemAttributeValues(toItem(entry)))).toBe(JSON.stringify(expected));
  });

  test.each(fixtureEntries())('%s: record and update send the same bytes the document client sent', async (_label, entry) => {
    const standIn = new CapturingStandIn();
    const client = new DynamoDBClient(standIn.clientConfig());
    const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    const ledger = new DynamoDbLedger({ tableName: 'ledger', client, clock: () => NOW });

    await ledger.record([entry]);
    await doc.send(
      new PutCommand({
        TableName: 'ledger',
        Item: referenceItem(entry),
        ConditionExpression: 'attribute_not_exists(#pk) OR #expires <= :now',
        ExpressionAttributeNames: { '#pk': LEDGER_TABLE.partitionKey, '#expires': LEDGER_TABLE.timeToLiveAttribute },
        ExpressionAttributeValues: { ':now': Math.floor(NOW.getTime() / 1000) },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    const next = { ...entry, version: entry.version + 1 };
    await ledger.update(next);
    await doc.send(
      new PutCommand({
        TableName: 'ledger',
        Item: referenceItem(next),
        ConditionExpression: '#version = :previous',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':previous': next.version - 1 },
      }),
    );
    const [recorded, recordedBefore, updated, updatedBefore] = standIn.bodies;
    expect(standIn.bodies).toHaveLength(4);
    expect(recorded).toBe(recordedBefore);
    expect(updated).toBe(updatedBefore);
    client.destroy();
  });
});

describe('itemAttributeValues is util-dynamodb marshall (removeUndefinedValues)', () => {
  class Custom {
    a = 1;
  }
  const noPrototype = Object.assign(Object.create(null) as Record<string, unknown>, { x: 'y', n: 2 });

  test.each<[string, Record<string, unknown>]>([
    ['scalars', { s: 'text', empty: '', n: 42, negative: -7, float: 3.25, zero: 0, minusZero: -0, t: true, f: false, nil: null }],
    ['unicode strings', { s: '😀 ü \u2028 \ufffe \ud800 注文', 'key ü': 'v' }],
    ['safe-integer edges', { max: Number.MAX_SAFE_INTEGER, min: Number.MIN_SAFE_INTEGER, fraction: 1.5e-300, small: -1e-300 }],
    ['undefined and functions left out, in maps and lists', { a: undefined, f: () => 1, list: [1, undefined, 'x', () => 2, null], m: { u: undefined, v: 1 } }],
    ['nested lists and maps', { l: [[1, [2, { a: ['b'] }]], {}], m: { a: { b: { c: [] } } } }],
    ['integer-like keys (for-in order)', { b: 1, 2: 'two', a: 3, 1: 'one' }],
    ['a map without a prototype', { m: noPrototype }],
    ['sets, binary and bigint (handed to util-dynamodb)', { ss: new Set(['a', 'b']), ns: new Set([1, 2]), b: new Uint8Array([1, 2, 3]), big: 12345678901234567890n }],
      ])('%s', (_label, item) => {
    const expected = outcome(() => marshall(item, { removeUndefinedValues: true }));
    expect('value' in expected).toBe(true);
    expect(outcome(() => itemAttributeValues(item))).toEqual(expected);
  });

  test.each<[string, unknown]>([
    ['an unsafe integer', 2 ** 60],
    ['a negative unsafe integer', -(2 ** 60)],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a large float', 1e300],
    ['a class instance', new Custom()],
    ['an object with its own constructor property', { constructor: 'not a function', a: 1 }],
  ])('%s is refused with util-dynamodb\'s own error', (_label, value) => {
    const expected = outcome(() => marshall({ value }, { removeUndefinedValues: true }));
    expect(expected).toEqual({ error: expect.any(String) });
    expect(outcome(() => itemAttributeValues({ value }))).toEqual(expected);
    expect(outcome(() => attributeValue(value))).toEqual(expected);
  });
});
