/**
 * Operational notices as messages: the request POSTed to an instance's operational webhook
 * (`event.notification.operations.url`), signed exactly like its deliveries (./signing.ts: both
 * schemes, the instance's keys), and the subject and text published to the notices SNS topic.
 */
import { createHash } from 'node:crypto';
import type { HealthNotice } from '../health';
import { signatureHeaders } from './signing';

export interface NoticeRequest {
  /** Stable for one notice (the same on a retry): `webhook-id` / `Elements-Webhook-Id`. */
  readonly id: string;
  readonly body: Buffer;
  /** Id and signature headers; the sender adds Content-Type and User-Agent. */
  readonly headers: Readonly<Record<string, string>>;
}

/** The signing keys of the instance, as deliver reads them (configOf). */
export interface NoticeSigning {
  readonly signatureKey?: string;
  readonly webhookSecrets: readonly string[];
}

/** A notice's id: derived from what it says, so a retry of the same notice keeps its id. */
export function noticeId(notice: Pick<HealthNotice, 'instanceId' | 'type' | 'at'>): string {
  const digest = createHash('sha256').update(`${notice.instanceId}\n${notice.type}\n${notice.at}`).digest('hex');
  return `notice_${digest.slice(0, 32)}`;
}

/**
 * The operational webhook request: a Standard Webhooks style envelope
 * `{ "type": "receiver.circuit-open", "timestamp": ..., "data": { ...the notice } }`.
 */
export function noticeRequest(notice: HealthNotice, signing: NoticeSigning, now: Date): NoticeRequest {
  const id = noticeId(notice);
  const body = Buffer.from(JSON.stringify({ type: notice.type, timestamp: notice.at, data: notice }));
  const headers = signatureHeaders({
    deliveryId: id,
    body,
    signatureKey: signing.signatureKey,
    webhookSecrets: signing.webhookSecrets.length > 0 ? signing.webhookSecrets.join(' ') : undefined,
    now,
  });
  return { id, body, headers };
}

const HEADLINES: Readonly<Record<HealthNotice['kind'], string>> = {
  failing: 'deliveries are failing',
  'circuit-open': 'circuit open: deliveries held',
  recovered: 'recovered: deliveries resumed',
  disabled: 'disabled after failing too long',
  paused: 'paused by an operator: deliveries held',
  resumed: 'resumed by an operator: deliveries go out',
};

/** SNS subjects: at most 100 printable ASCII characters. */
const SNS_SUBJECT_MAX = 100;

/** The SNS message of a notice: a short subject, a readable text, and the notice as JSON at the end. */
export function noticeMessage(notice: HealthNotice): { subject: string; text: string } {
  const subject = `Ecwid events: ${notice.instanceId} ${HEADLINES[notice.kind]}`.replace(/[^\x20-\x7e]/g, '?').slice(0, SNS_SUBJECT_MAX);
  const lines = [
    `Instance ${notice.instanceId}: ${HEADLINES[notice.kind]} (${notice.at}).`,
    `State: ${notice.state}; failures in a row: ${notice.consecutiveFailures}${notice.firstFailureAt ? ` since ${notice.firstFailureAt}` : ''}.`,
    notice.lastError ? `Last error: ${notice.lastError}${notice.lastHttpStatus ? ` (HTTP ${notice.lastHttpStatus})` : ''}.` : undefined,
    notice.lastSuccessAt ? `Last success: ${notice.lastSuccessAt}.` : undefined,
    notice.kind === 'disabled'
      ? 'Its events are kept in the ledger: fix the receiver, run `instances resume ID`, then `events resend --instance ID`.'
      : notice.kind === 'circuit-open'
        ? 'Events are held, not dropped, and go out in order once a probe succeeds. `instances health ID` shows the detail.'
        : notice.kind === 'paused'
          ? 'Events are held, not dropped, and go out in order after `instances resume ID`.'
          : undefined,
    '',
    JSON.stringify(notice),
  ];
  return { subject, text: lines.filter((line): line is string => line !== undefined).join('\n') };
}
