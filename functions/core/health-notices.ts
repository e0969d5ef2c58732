/**
 * Sends the operational notices of a receiver's state changes (./health.ts returns them as data):
 * one message to the stack's notices topic, and, when the instance names one in
 * `event.notification.operations.url`, a POST to its operational webhook, signed like its
 * deliveries (./callback/notice.ts) and under the same SSRF rules as its callback URL.
 *
 * Best effort by design: a notice never fails, delays or retries a delivery. Each channel gets one
 * try; a failure is logged (without the URL's path or any secret) and counted. The topic is the
 * channel to rely on (SNS keeps and retries its own deliveries to subscribers).
 */
import { NOTICE_METRICS } from '../contract';
import { noticeRequest } from './callback/notice';
import { checkCallbackUrl, type CallbackUrlPolicy } from './callback/ssrf';
import type { HealthNotice } from './health';
import { configOf, type Instance } from './instance';
import { errorText, type CallbackSender, type Clock, type HostResolver, type Telemetry } from './ports';

/** The notices topic (adapters/aws/sns-notice-topic.ts; the local runner prints them). Throws on failure. */
export interface NoticeTopic {
  publish(notice: HealthNotice): Promise<void>;
}

export interface NoticeDeps {
  /** Absent: no topic (a stack without NOTICE_TOPIC_ARN); the operational webhook still gets them. */
  readonly topic?: NoticeTopic;
  readonly sender: CallbackSender;
  readonly urlPolicy: CallbackUrlPolicy;
  readonly resolveHost: HostResolver;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
}

/** What happened to one notice on each channel (for tests and the local runner's output). */
export interface NoticeDelivery {
  readonly notice: HealthNotice;
  readonly topic: 'published' | 'failed' | 'none';
  readonly webhook: 'delivered' | 'failed' | 'refused' | 'none';
  /** Why the webhook failed or was refused (names the host, never the path or a secret). */
  readonly webhookError?: string;
}

/**
 * Sends each notice on both channels. `instance` is the instance as deliver last read it (its
 * operational webhook and signing keys); undefined when it is gone (the topic still hears).
 */
export async function sendNotices(notices: readonly HealthNotice[], instance: Instance | undefined, deps: NoticeDeps): Promise<NoticeDelivery[]> {
  const deliveries: NoticeDelivery[] = [];
  for (const notice of notices) {
    const attributes = { instanceId: notice.instanceId, notice: notice.type };
    const topic = await publish(notice, deps, attributes);
    const webhook = instance ? await postToWebhook(notice, instance, deps, attributes) : { webhook: 'none' as const };
    deps.telemetry.log(notice.kind === 'recovered' ? 'info' : 'warn', `receiver ${notice.kind}`, {
      ...attributes,
      consecutiveFailures: notice.consecutiveFailures,
      lastError: notice.lastError,
      topic,
      webhook: webhook.webhook,
    });
    deliveries.push({ notice, topic, ...webhook });
  }
  return deliveries;
}

async function publish(notice: HealthNotice, deps: NoticeDeps, attributes: Record<string, unknown>): Promise<NoticeDelivery['topic']> {
  if (!deps.topic) return 'none';
  try {
    await deps.topic.publish(notice);
    deps.telemetry.count(NOTICE_METRICS.published);
    return 'published';
  } catch (error) {
    deps.telemetry.count(NOTICE_METRICS.failed);
    deps.telemetry.log('error', 'could not publish the notice to the notices topic', { ...attributes, error: errorText(error) });
    return 'failed';
  }
}

async function postToWebhook(
  notice: HealthNotice,
  instance: Instance,
  deps: NoticeDeps,
  attributes: Record<string, unknown>,
): Promise<Pick<NoticeDelivery, 'webhook' | 'webhookError'>> {
  const config = configOf(instance);
  if (config.operationsUrl === undefined) return { webhook: 'none' };
  const check = await checkCallbackUrl(config.operationsUrl, deps.urlPolicy, deps.resolveHost);
  if (!check.ok) {
    deps.telemetry.count(NOTICE_METRICS.failed);
    deps.telemetry.log('warn', 'operational webhook URL refused', { ...attributes, error: check.reason });
    return { webhook: 'refused', webhookError: check.reason };
  }
  const request = noticeRequest(notice, { signatureKey: config.signatureKey, webhookSecrets: config.webhookSecrets }, deps.clock());
  const result = await deps.sender.send({ target: check, body: request.body, headers: request.headers });
  if (result.ok) {
    deps.telemetry.count(NOTICE_METRICS.webhookDelivered);
    return { webhook: 'delivered' };
  }
  // The sender's error names the origin only ("callback https://host answered HTTP 500").
  const error = result.error.replace(/^callback /, 'operational webhook ');
  deps.telemetry.count(NOTICE_METRICS.failed);
  deps.telemetry.log('warn', 'operational webhook failed', { ...attributes, error });
  return { webhook: 'failed', webhookError: error };
}
