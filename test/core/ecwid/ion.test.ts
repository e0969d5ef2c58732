import { ionDateToIso } from '../../../functions/core/ecwid/dates';
import { parseIonForm } from '../../../functions/core/ecwid/ion';
import { InvalidNotificationError } from '../../../functions/core/ecwid/notification';
import { fixtureText } from '../../../testkit/fixtures';

const NEW_ORDER = fixtureText('legacy-ion-cannon-new-order.CONSTRUCTED.txt').trim();
const STATUS_CHANGE = fixtureText('legacy-ion-cannon-order-status-change.CONSTRUCTED.txt').trim();

function invalidField(body: string): string {
  try {
    parseIonForm(body);
  } catch (error) {
    if (error instanceof InvalidNotificationError) return error.field;
    throw error;
  }
  throw new Error('expected parseIonForm to reject the body');
}

describe('parseIonForm', () => {
  it('parses the new_order fixture', () => {
    const ion = parseIonForm(NEW_ORDER);
    expect(ion).toMatchObject({
      source: 'ion',
      storeId: '12345',
      eventType: 'new_order',
      orderId: '124',
      date: '2014-05-06 16:28:06',
      occurredAt: '2014-05-06T16:28:06',
      paymentStatus: 'ACCEPTED',
      fulfillmentStatus: 'NEW',
      oldPaymentStatus: undefined,
      oldFulfillmentStatus: undefined,
    });
    expect(ion.raw).toEqual({
      owner_id: '12345',
      event_type: 'new_order',
      date: '2014-05-06 16:28:06',
      order_id: '124',
      payment_status: 'ACCEPTED',
      fulfillment_status: 'NEW',
    });
    expect(ion.eventId).toMatch(/^ion-[0-9a-f]{32}$/);
  });

  it('parses the order_status_change fixture with the old statuses', () => {
    expect(parseIonForm(STATUS_CHANGE)).toMatchObject({
      eventType: 'order_status_change',
      orderId: '124',
      occurredAt: '2014-05-06T20:28:51',
      paymentStatus: 'ACCEPTED',
      fulfillmentStatus: 'SHIPPED',
      oldPaymentStatus: 'ACCEPTED',
      oldFulfillmentStatus: 'NEW',
    });
  });

  describe('derived event id', () => {
    it('is the same for the same notification (an Ecwid retry)', () => {
      expect(parseIonForm(NEW_ORDER).eventId).toBe(parseIonForm(NEW_ORDER).eventId);
    });

    it('does not depend on field order or on leading zeros of the store id', () => {
      const reordered = new URLSearchParams([...new URLSearchParams(NEW_ORDER)].reverse()).toString();
      expect(parseIonForm(reordered).eventId).toBe(parseIonForm(NEW_ORDER).eventId);
      expect(parseIonForm(NEW_ORDER.replace('owner_id=12345', 'owner_id=0012345')).eventId).toBe(
        parseIonForm(NEW_ORDER).eventId,
      );
    });

    it('changes when a status changes', () => {
      const shipped = NEW_ORDER.replace('fulfillment_status=NEW', 'fulfillment_status=SHIPPED');
      expect(parseIonForm(shipped).eventId).not.toBe(parseIonForm(NEW_ORDER).eventId);
      const paid = STATUS_CHANGE.replace('&payment_status=ACCEPTED', '&payment_status=PAID');
      expect(parseIonForm(paid).eventId).not.toBe(parseIonForm(STATUS_CHANGE).eventId);
    });

    it('differs between the two fixtures and between orders and stores', () => {
      const ids = new Set([
        parseIonForm(NEW_ORDER).eventId,
        parseIonForm(STATUS_CHANGE).eventId,
        parseIonForm(NEW_ORDER.replace('order_id=124', 'order_id=125')).eventId,
        parseIonForm(NEW_ORDER.replace('owner_id=12345', 'owner_id=12346')).eventId,
      ]);
      expect(ids.size).toBe(4);
    });

    it('cannot be forged by shifting text between fields', () => {
      const rest = 'date=2024-03-01+12%3A00%3A00&fulfillment_status=NEW';
      const a = parseIonForm(`owner_id=1&event_type=new_order&order_id=12&payment_status=3&${rest}`);
      const b = parseIonForm(`owner_id=1&event_type=new_order&order_id=1&payment_status=23&${rest}`);
      expect(a.eventId).not.toBe(b.eventId);
    });
  });

  it.each(['owner_id', 'event_type', 'order_id', 'date', 'payment_status', 'fulfillment_status'])('requires %s', (field) => {
    const without = [...new URLSearchParams(NEW_ORDER)].filter(([name]) => name !== field);
    expect(invalidField(new URLSearchParams(without).toString())).toBe(field);
    const blank = [...new URLSearchParams(NEW_ORDER)].map(([name, value]): [string, string] => [name, name === field ? '  ' : value]);
    expect(invalidField(new URLSearchParams(blank).toString())).toBe(field);
  });

  it('names the missing field in the message', () => {
    expect(() => parseIonForm('owner_id=1&event_type=new_order')).toThrow('ION field order_id is required');
  });

  it('rejects an owner_id that is not a store id', () => {
    expect(invalidField(NEW_ORDER.replace('owner_id=12345', 'owner_id=shop%2F1'))).toBe('owner_id');
  });

  it('rejects a known field sent twice', () => {
    expect(invalidField(`${NEW_ORDER}&order_id=125`)).toBe('order_id');
  });

  it('keeps only the known ION fields in raw: nothing a sender adds reaches a receiver', () => {
    const ion = parseIonForm(`${NEW_ORDER}&note=a&note=b&injected=%3Cscript%3Ealert(1)%3C%2Fscript%3E`);
    expect(Object.keys(ion.raw).sort()).toEqual(['date', 'event_type', 'fulfillment_status', 'order_id', 'owner_id', 'payment_status']);
    expect(JSON.stringify(ion.raw)).not.toContain('script');
  });

  it('parses `__proto__` and `constructor` as plain names (never the prototype) and leaves them out', () => {
    const ion = parseIonForm(`${NEW_ORDER}&__proto__=x&constructor=y&toString=z`);
    expect(Object.getPrototypeOf(ion.raw)).toBe(Object.prototype);
    expect(Object.keys(ion.raw)).not.toEqual(expect.arrayContaining(['__proto__', 'constructor']));
    expect(ion.eventId).toBe(parseIonForm(NEW_ORDER).eventId);
    // A known field named like a prototype member elsewhere is still read as itself.
    expect(parseIonForm(NEW_ORDER.replace('event_type=new_order', 'event_type=constructor')).eventType).toBe('constructor');
  });

  it.each(['..', '.', '124%2F..', '-1', '0124', '12a', '1e3', '%20', '124 125'])('refuses order_id=%s (order numbers are digits)', (value) => {
    expect(invalidField(NEW_ORDER.replace('order_id=124', `order_id=${value}`))).toBe('order_id');
  });

  it('accepts an undocumented event_type (normalized as UNKNOWN later)', () => {
    const ion = parseIonForm(NEW_ORDER.replace('event_type=new_order', 'event_type=order_deleted'));
    expect(ion.eventType).toBe('order_deleted');
  });

  it('refuses a date that is not Ecwid\'s YYYY-MM-DD hh:mm:ss', () => {
    expect(invalidField(NEW_ORDER.replace(/date=[^&]*/, 'date=yesterday'))).toBe('date');
  });
});

describe('ionDateToIso', () => {
  it.each([
    ['2014-05-06 16:28:06', '2014-05-06T16:28:06'],
    ['2014-05-06T16:28:06', '2014-05-06T16:28:06'],
    ['2014-13-06 16:28:06', undefined],
    ['2014-05-06', undefined],
    [undefined, undefined],
  ])('%s -> %s', (input, output) => {
    expect(ionDateToIso(input)).toBe(output);
  });
});
