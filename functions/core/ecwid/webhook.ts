import { isJsonObject } from '../json';
import { canonicalStoreId, InvalidNotificationError, type WebhookNotification } from './notification';

/** `entity.action`: an entity name, a dot, an action; no white space. */
const EVENT_TYPE_PATTERN = /^[^.\s]+\.[^\s]+$/;

/** Entities whose events are about the store itself: `entityId` may be missing, the store stands in. */
const STORE_ENTITIES = new Set(['application', 'profile']);

// Latest instant a JavaScript Date can hold, in seconds.
const MAX_DATE_SECONDS = 8.64e12;

/**
 * Parses and validates the JSON body of a modern Ecwid webhook (docs/protocol.md, "Inbound B: signed JSON webhooks").
 *
 * Required: `eventId` (non-empty string), `eventCreated` (whole seconds, may exceed 2^31),
 * `storeId` (number or numeric string), `eventType` (`entity.action`, any entity: new types
 * appear over time and are normalized generically) and `entityId` (number or non-empty
 * string) — except for `application.*` and `profile.*`, whose entity is the store, so a
 * missing `entityId` falls back to `storeId` (normalize.ts) instead of losing the event.
 * `data` may be absent, null or an object. Throws InvalidNotificationError naming the field.
 */
export function parseWebhookJson(body: string): WebhookNotification {
  // Before parsing: a body nested thousands deep parses, but cannot be serialized again (the
  // queue, the ledger), which would answer 503 for ever. Ecwid's bodies are a few levels deep.
  if (nestingDepth(body) > MAX_NESTING_DEPTH) {
    throw new InvalidNotificationError('body', `request body is nested more than ${MAX_NESTING_DEPTH} levels deep`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new InvalidNotificationError('body', 'request body is not valid JSON');
  }
  if (!isJsonObject(parsed)) {
    throw new InvalidNotificationError('body', 'request body must be a JSON object');
  }

  const eventId = parsed.eventId;
  if (typeof eventId !== 'string' || eventId.trim() === '') {
    throw new InvalidNotificationError('eventId', 'eventId is required (a non-empty string)');
  }

  const eventCreated = parsed.eventCreated;
  if (eventCreated === undefined || eventCreated === null) {
    throw new InvalidNotificationError('eventCreated', 'eventCreated is required (Unix seconds)');
  }
  if (typeof eventCreated !== 'number' || !Number.isSafeInteger(eventCreated) || eventCreated < 0) {
    throw new InvalidNotificationError('eventCreated', 'eventCreated must be a whole number of seconds');
  }

  const storeId = canonicalStoreId(parsed.storeId, 'storeId');

  const eventType = parsed.eventType;
  if (typeof eventType !== 'string' || eventType === '') {
    throw new InvalidNotificationError('eventType', 'eventType is required (entity.action)');
  }
  if (!EVENT_TYPE_PATTERN.test(eventType)) {
    throw new InvalidNotificationError('eventType', 'eventType must look like entity.action');
  }

  const entityId = parsed.entityId;
  const entityMissing = entityId === undefined || entityId === null || entityId === '';
  if (entityMissing) {
    if (!STORE_ENTITIES.has(entityOf(eventType))) {
      throw new InvalidNotificationError('entityId', 'entityId is required (a number or a string)');
    }
  } else if (!(typeof entityId === 'string' || (typeof entityId === 'number' && Number.isFinite(entityId)))) {
    throw new InvalidNotificationError('entityId', 'entityId must be a number or a string');
  }

  const data = parsed.data;
  if (!(data === undefined || data === null || isJsonObject(data))) {
    throw new InvalidNotificationError('data', 'data must be an object or null when present');
  }

  return {
    source: 'webhook',
    eventId,
    eventCreated,
    storeId,
    eventType,
    entityId: entityMissing ? undefined : (entityId as string | number),
    data,
    occurredAt: eventCreated <= MAX_DATE_SECONDS ? new Date(eventCreated * 1000).toISOString() : undefined,
    raw: parsed,
  };
}

/** The deepest JSON nesting a webhook body may have. */
export const MAX_NESTING_DEPTH = 64;

/** How deep the arrays and objects of a JSON text nest (brackets inside strings do not count). */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i += 1;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) deepest = Math.max(deepest, (depth += 1));
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth -= 1;
  }
  return deepest;
}

/** The entity part of `entity.action`. */
export function entityOf(eventType: string): string {
  const dot = eventType.indexOf('.');
  return dot < 0 ? eventType : eventType.slice(0, dot);
}

/** The action part of `entity.action` (everything after the first dot). */
export function actionOf(eventType: string): string {
  const dot = eventType.indexOf('.');
  return dot < 0 ? '' : eventType.slice(dot + 1);
}
