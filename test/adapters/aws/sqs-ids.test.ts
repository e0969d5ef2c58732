import { deduplicationId, messageGroupId, sqsSafeId } from '../../../functions/adapters/aws/sqs-ids';
import { deliveryId, orderingKey } from '../../../functions/core/event';

describe('SQS FIFO ids', () => {
  const event = { instanceId: 'shop-a', eventId: '80aece08-40e8-4145-8764-6c2f0d38678', objectType: 'orders', objectId: 'B8HGD' };

  it('uses the delivery id as deduplication id and the ordering key as group id when SQS takes them', () => {
    expect(deduplicationId(event)).toBe(deliveryId(event));
    expect(messageGroupId(event)).toBe(orderingKey(event));
  });

  it('hashes what SQS would refuse: over 128 characters, or not alphanumerics and punctuation', () => {
    const long = { ...event, objectId: 'x'.repeat(120) };
    expect(messageGroupId(long)).toMatch(/^[0-9a-f]{64}$/);
    expect(messageGroupId(long)).toBe(messageGroupId({ ...long }));
    expect(sqsSafeId('shop a:orders:1')).toMatch(/^[0-9a-f]{64}$/);
    expect(sqsSafeId('x'.repeat(128))).toBe('x'.repeat(128));
  });
});
