/**
 * docs/protocol.md, "Normalization": the tables a reader relies on are the ones the code applies.
 * Each row is parsed from the page and run through normalizeEcwidEvent.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseIonForm } from '../../functions/core/ecwid/ion';
import { parseWebhookJson } from '../../functions/core/ecwid/webhook';
import { normalizeEcwidEvent } from '../../functions/core/ecwid/normalize';

const page = readFileSync(join(__dirname, '..', '..', 'docs', 'protocol.md'), 'utf8');

/** The rows of the first table after `marker`, as arrays of trimmed cells (header and rule skipped). */
function tableAfter(marker: string): string[][] {
  const start = page.indexOf(marker);
  if (start < 0) throw new Error(`marker not found: ${marker}`);
  const lines = page.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split(' | ').map((cell) => cell.trim()));
  }
  return rows;
}

const ticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]);

function webhook(eventType: string, extra: Record<string, unknown> = {}) {
  return normalizeEcwidEvent(
    parseWebhookJson(JSON.stringify({ eventId: 'e-1', eventCreated: 1700000000, storeId: 1003, entityId: 555, eventType, ...extra })),
  );
}

describe('the documented normalization is the implemented one', () => {
  it('all 42 documented types, written out', () => {
    const rows = tableAfter('So all 42 documented types, written out:');
    const checked: string[] = [];
    for (const [typesCell, objectTypeCell, eventTypesCell] of rows) {
      const [first, ...rest] = ticked(typesCell);
      const entity = first.slice(0, first.indexOf('.'));
      const types = [first, ...rest.map((suffix) => `${entity}${suffix}`)];
      const eventTypes = ticked(eventTypesCell);
      types.forEach((type, index) => {
        const expected = eventTypes.length === 1 ? eventTypes[0] : eventTypes[index];
        expect({ type, ...webhook(type) }).toEqual({ type, objectType: ticked(objectTypeCell)[0], objectId: '555', eventType: expected });
        checked.push(type);
      });
    }
    expect(new Set(checked).size).toBe(42);
  });

  it('the entity table (objectType and the objectId rule)', () => {
    const rows = tableAfter('| entity | objectType | objectId |');
    expect(rows.length).toBeGreaterThanOrEqual(14);
    for (const [entityCell, objectTypeCell, ruleCell] of rows) {
      const entity = ticked(entityCell)[0];
      const objectType = ticked(objectTypeCell)[0];
      const type = `${entity}.updated`;
      expect(webhook(type).objectType).toBe(objectType);
      const rule = ticked(ruleCell);
      if (rule[0] === 'data.orderId') {
        expect(webhook(type, { data: { orderId: 'AB1', cartId: 'C-9' } }).objectId).toBe('AB1');
        if (rule.includes('data.cartId')) expect(webhook(type, { data: { cartId: 'C-9' } }).objectId).toBe('C-9');
        else expect(webhook(type, { data: { cartId: 'C-9' } }).objectId).toBe('555');
      } else {
        expect(webhook(type, { data: { orderId: 'AB1' } }).objectId).toBe('555');
      }
      if (rule.includes('storeId')) expect(webhook(type, { entityId: undefined }).objectId).toBe('1003');
    }
  });

  it('the ION table', () => {
    for (const [eventTypeCell, objectTypeCell, objectIdCell, normalizedCell] of tableAfter('| `event_type` | objectType | objectId | eventType |')) {
      const eventType = ticked(eventTypeCell)[0] ?? 'something_new';
      const ion = parseIonForm(`owner_id=12345&event_type=${eventType}&order_id=124&date=2014-05-06+16%3A28%3A06&payment_status=PAID&fulfillment_status=NEW`);
      expect(objectIdCell).toBe('`order_id`');
      expect(normalizeEcwidEvent(ion)).toEqual({ objectType: ticked(objectTypeCell)[0], objectId: '124', eventType: ticked(normalizedCell)[0] });
    }
  });

  it('the action table', () => {
    for (const [actionCell, eventTypeCell] of tableAfter('| action | eventType |')) {
      const actions = ticked(actionCell);
      for (const action of actions) expect(webhook(`order.${action}`).eventType).toBe(ticked(eventTypeCell)[0]);
    }
  });
});
