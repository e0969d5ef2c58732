/**
 * docs/callback-contract.md: the request shown under "Request" is what the relay's signing code
 * produces for the orders example of the page, and every example body is well formed.
 * (test/e2e/callback-examples.test.ts checks the examples against real deliveries.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signatureHeaders } from '../../functions/core/callback/signing';
import { callbackExamples } from './examples';

const page = readFileSync(join(__dirname, '..', '..', 'docs', 'callback-contract.md'), 'utf8');

/** The header lines of the first block under "## Request". */
function requestHeaders(): Record<string, string> {
  const block = /## Request[\s\S]*?```\n([\s\S]*?)\n```/.exec(page)?.[1] ?? '';
  const headers: Record<string, string> = {};
  for (const line of block.split('\n\n')[0].split('\n').slice(1)) {
    const colon = line.indexOf(': ');
    headers[line.slice(0, colon)] = line.slice(colon + 2);
  }
  return headers;
}

describe('docs/callback-contract.md', () => {
  const examples = callbackExamples(page);

  it('has one example per normalized object type, plus an ION one', () => {
    const types = examples.map((example) => example.body.message.events[0].objectType);
    expect(types).toEqual(
      expect.arrayContaining(['orders', 'unfinishedOrders', 'invoices', 'products', 'categories', 'customers', 'customerGroups',
        'discountCoupons', 'promotions', 'productClasses', 'reviews', 'applications', 'profiles']),
    );
    expect(examples.some((example) => example.body.message.raw.notification !== undefined)).toBe(true);
  });

  it('shows the headers the signing code computes for the orders example', () => {
    const orders = examples.find((example) => example.title === 'orders');
    const body = Buffer.from(JSON.stringify(orders!.body), 'utf8');
    const headers = requestHeaders();
    const signed = signatureHeaders({
      deliveryId: orders!.body.id,
      body,
      signatureKey: 'example-signature-key',
      webhookSecrets: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      now: new Date(Number(headers['webhook-timestamp']) * 1000),
    });
    expect(page).toContain('`event.notification.signature.key` = `example-signature-key`');
    expect(page).toContain('`event.notification.webhook.secret` = `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`');
    expect(headers['Content-Length']).toBe(String(body.length));
    expect(page).toContain(`compact JSON, ${body.length} bytes`);
    for (const [name, value] of Object.entries(signed)) expect({ name, value: headers[name] }).toEqual({ name, value });
  });
});
