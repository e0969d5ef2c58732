/**
 * The webhook event types Ecwid documents (docs/protocol.md, "Inbound B: signed JSON webhooks").
 * Ingest accepts any `entity.action` (new types appear over time); this list is for what we
 * send ourselves, such as the CLI's test events, which must look like something Ecwid sends.
 */
const crud = (entity: string): string[] => [`${entity}.created`, `${entity}.updated`, `${entity}.deleted`];

export const DOCUMENTED_WEBHOOK_TYPES: readonly string[] = [
  'profile.updated',
  'profile.subscriptionStatusChanged',
  ...crud('order'),
  ...crud('unfinished_order'),
  ...crud('product'),
  ...crud('category'),
  ...crud('customer'),
  ...crud('customer_group'),
  ...crud('discount_coupon'),
  ...crud('promotion'),
  ...crud('product_class'),
  ...crud('review'),
  'invoice.created',
  'invoice.deleted',
  'application.installed',
  'application.uninstalled',
  'application.subscriptionStatusChanged',
  'application.storageChanged',
  'customer.personalDataRemovalRequest',
  'customer.personalDataExportRequest',
  'profile.personalDataRemovalRequest',
  'profile.personalDataExportRequest',
];

export const isDocumentedWebhookType = (type: string): boolean => DOCUMENTED_WEBHOOK_TYPES.includes(type);
