/**
 * The webhook event types Ecwid documents (docs/protocol.md, "Inbound B: signed JSON webhooks").
 * Ingest accepts any `entity.action` (new types appear over time); this list is for what we
 * send ourselves, such as the CLI's test events, which must look like something Ecwid sends.
 * One list, kept in event-types.ts.
 */
import { KNOWN_WEBHOOK_EVENT_TYPES } from './event-types';

export const DOCUMENTED_WEBHOOK_TYPES: readonly string[] = KNOWN_WEBHOOK_EVENT_TYPES;

export const isDocumentedWebhookType = (type: string): boolean => DOCUMENTED_WEBHOOK_TYPES.includes(type);
