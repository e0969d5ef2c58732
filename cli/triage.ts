/**
 * What the triage commands (`dlq list|show|replay`, `events list|resend`) share: an error's class
 * from its text, ages on the command line, and whether an instance changed since an event failed
 * (replaying into an unchanged configuration usually fails the same way).
 */
import { UsageError } from './errors';

/**
 * The classes `--error` filters by, from the one-line errors deliver records (callback-sender.ts,
 * core/deliver.ts, the Ecwid API clients). The ledger's attempt records use the same names where
 * they overlap (`timeout`, `connection`, `url-refused`).
 */
export const ERROR_CLASSES = [
  'http-4xx',
  'http-5xx',
  'timeout',
  'connection',
  'url-refused',
  'config',
  'ecwid-api',
  'unparseable',
  'other',
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

/** The class of a recorded error text; undefined when there is none. */
export function errorClassOf(error: string | undefined): ErrorClass | undefined {
  if (error === undefined || error.trim() === '') return undefined;
  if (/^unparseable message/i.test(error)) return 'unparseable';
  // Ecwid first: its errors also say "timed out" or "answered HTTP".
  if (/Ecwid API|EcwidBudgetExhausted|budget of this store's token/i.test(error)) return 'ecwid-api';
  if (/callback URL refused/i.test(error)) return 'url-refused';
  if (/instance has no |no longer exists|notifications disabled/i.test(error)) return 'config';
  const http = /answered HTTP (\d{3})/i.exec(error);
  if (http) return Number(http[1]) >= 500 ? 'http-5xx' : 'http-4xx';
  if (/timed out|timeout/i.test(error)) return 'timeout';
  if (/ failed: |ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|socket hang up/i.test(error)) return 'connection';
  return 'other';
}

/** `--error CLASS`: one of ERROR_CLASSES, or `http` for both HTTP classes. */
export function parseErrorClass(text: string | undefined): ((errorClass: string | undefined) => boolean) | undefined {
  if (text === undefined) return undefined;
  if (text === 'http') return (errorClass) => errorClass === 'http-4xx' || errorClass === 'http-5xx';
  if (!(ERROR_CLASSES as readonly string[]).includes(text)) {
    throw new UsageError(`--error must be one of http, ${ERROR_CLASSES.join(', ')}; got "${text.slice(0, 30)}"`);
  }
  return (errorClass) => errorClass === text;
}

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `2h`, `3d` (or `1h30m`) in milliseconds. */
export function parseAge(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const parts = [...text.matchAll(/(\d{1,6})([smhd])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new UsageError(`--${option} must be an age like 90s, 30m, 2h or 3d, got "${text.slice(0, 20)}"`);
  }
  return parts.reduce((ms, [, count, unit]) => ms + Number(count) * UNIT_MS[unit], 0);
}

/** Age filters: `--older-than` / `--newer-than`, relative to `now`. */
export interface AgeWindow {
  readonly olderThanMs?: number;
  readonly newerThanMs?: number;
}

export function ageWindowOf(values: { olderThan?: string; newerThan?: string }): AgeWindow {
  const window = { olderThanMs: parseAge('older-than', values.olderThan), newerThanMs: parseAge('newer-than', values.newerThan) };
  if (window.olderThanMs !== undefined && window.newerThanMs !== undefined && window.olderThanMs >= window.newerThanMs) {
    throw new UsageError('--older-than must be less than --newer-than (an event cannot be both)');
  }
  return window;
}

/** Whether something first seen at `at` (ISO) is within the window; unknown times pass no age filter. */
export function withinAge(at: string | undefined, window: AgeWindow, now: Date): boolean {
  if (window.olderThanMs === undefined && window.newerThanMs === undefined) return true;
  const ms = at === undefined ? NaN : Date.parse(at);
  if (Number.isNaN(ms)) return false;
  const age = now.getTime() - ms;
  return (window.olderThanMs === undefined || age >= window.olderThanMs) && (window.newerThanMs === undefined || age <= window.newerThanMs);
}

/** Whether an instance changed after an event failed, as the triage commands show it. */
export type ConfigChange = 'changed' | 'unchanged' | 'deleted' | 'unknown';

/**
 * `changed` when the instance was written after `failedAt`; `unknown` without either time.
 * `changedAt` is epoch ms (SSM LastModifiedDate, a file's mtime); null: the instance is gone.
 */
export function configChange(changedAt: number | null | undefined, failedAt: string | undefined): ConfigChange {
  if (changedAt === null) return 'deleted';
  const failed = failedAt === undefined ? NaN : Date.parse(failedAt);
  if (changedAt === undefined || Number.isNaN(failed)) return 'unknown';
  return changedAt > failed ? 'changed' : 'unchanged';
}

/** Asks each instance's change time once per run (many events share an instance). */
export function memoizedChangeTimes(read: (instanceId: string) => Promise<number | null | undefined>) {
  const known = new Map<string, Promise<number | null | undefined>>();
  return (instanceId: string): Promise<number | null | undefined> => {
    let time = known.get(instanceId);
    if (!time) {
      // A failed read is "unknown", never a reason to stop a listing.
      time = read(instanceId).catch(() => undefined);
      known.set(instanceId, time);
    }
    return time;
  };
}

/** The warning for events held back because nothing changed (`--force` replays them anyway). */
export function unchangedWarning(verb: string, events: ReadonlyArray<{ eventId?: string; instanceId?: string }>): string {
  const instances = [...new Set(events.map((e) => e.instanceId ?? '?'))].sort();
  const ids = events.slice(0, 5).map((e) => e.eventId ?? '?');
  return (
    `not ${verb} ${events.length} event(s) (${ids.join(', ')}${events.length > ids.length ? ', ...' : ''}): ` +
    `instance ${instances.join(', ')} has not changed since they failed, so they would most likely fail the same way; ` +
    `fix the cause (the receiver, or "instances update") and run this again, or pass --force if the cause is fixed elsewhere`
  );
}
