/**
 * Webhook sightings: the small record that lets the poller skip a change a webhook already
 * reported. Webhook event ids are Ecwid's random `eventId`s, while a polled change is identified
 * by (object, update time), so the two never share a queue deduplication id; instead ingest
 * (core/ingest.ts, `sightings` dep) notes "a webhook about object X, created by Ecwid at second E"
 * after the event is queued, only for instances in reconciliation mode (the only ones whose
 * polls read sightings: webhook-only instances keep one SQS call per notification), and
 * the poller skips a polled change of X updated at U when E >= U - SIGHTING_TOLERANCE_SECONDS (poll/constants.ts).
 *
 * A sighting is written only after its event was accepted by the queue (a sighting for an event
 * that was never queued would make the poller skip a change nobody delivered). Recording is
 * best effort: when it fails the event is still queued and answered 200, and the only cost is
 * that a reconciliation poll may deliver that change a second time.
 */
import type { QueuedEvent } from './event';
import { POLL_OBJECT_TYPES } from './poll/settings';

export interface WebhookSighting {
  readonly instanceId: string;
  /** Normalized type and id, as in QueuedEvent (`orders`, `B8HGD`). */
  readonly objectType: string;
  readonly objectId: string;
  /** Ecwid's `eventCreated` (Unix seconds): when the change happened, not when we received it. */
  readonly at: number;
}

/** Write side (ingest). */
export interface SightingLog {
  record(sightings: readonly WebhookSighting[]): Promise<void>;
}

export interface ReceivedSighting extends WebhookSighting {
  /** Opaque token for `acknowledge` (an SQS receipt handle). */
  readonly handle: string;
}

/**
 * Read side (poller). `receive` returns the sightings currently pending (bounded); a sighting
 * that is not acknowledged is returned again by a later `receive`.
 */
export interface SightingInbox {
  receive(): Promise<ReceivedSighting[]>;
  acknowledge(handles: readonly string[]): Promise<void>;
}

const POLLED_TYPES: ReadonlySet<string> = new Set(POLL_OBJECT_TYPES);

/**
 * The sightings a batch of queued events gives: webhook events (not ION: their time is not
 * Ecwid's) about objects the poller can poll, with a known `occurredAt`. Deletions are left
 * out: the poller never sees deleted objects.
 */
export function sightingsOf(events: readonly QueuedEvent[]): WebhookSighting[] {
  const sightings: WebhookSighting[] = [];
  for (const event of events) {
    if (event.source !== 'webhook' || event.eventType === 'DELETED' || !POLLED_TYPES.has(event.objectType)) continue;
    const at = event.occurredAt === undefined ? Number.NaN : Date.parse(event.occurredAt) / 1000;
    if (!Number.isFinite(at)) continue;
    sightings.push({ instanceId: event.instanceId, objectType: event.objectType, objectId: event.objectId, at: Math.floor(at) });
  }
  return sightings;
}

/** `${objectType}:${objectId}` -> the latest sighting time, for one instance. */
export function sightingIndex(sightings: readonly WebhookSighting[]): Map<string, number> {
  const index = new Map<string, number>();
  for (const s of sightings) {
    const key = changeKey(s.objectType, s.objectId);
    index.set(key, Math.max(index.get(key) ?? Number.NEGATIVE_INFINITY, s.at));
  }
  return index;
}

/** The key of an object in the poller's dedup state and the sighting index. */
export const changeKey = (objectType: string, objectId: string): string => `${objectType}:${objectId}`;

/**
 * Sightings kept in memory: the local runner (ingest and poller share the process) and tests.
 * Entries live until acknowledged.
 */
export class InMemorySightings implements SightingLog, SightingInbox {
  private readonly pending = new Map<string, WebhookSighting>();
  private next = 0;

  async record(sightings: readonly WebhookSighting[]): Promise<void> {
    for (const sighting of sightings) this.pending.set(String(++this.next), { ...sighting });
  }

  async receive(): Promise<ReceivedSighting[]> {
    return [...this.pending].map(([handle, sighting]) => ({ ...sighting, handle }));
  }

  async acknowledge(handles: readonly string[]): Promise<void> {
    for (const handle of handles) this.pending.delete(handle);
  }

  /** Sightings not yet acknowledged. */
  get size(): number {
    return this.pending.size;
  }
}
